#!/usr/bin/env bash
# vmitrace never destroys a file it was not asked to write (README, "Files"): the
# profile cache is written like `profile -o` (common/write_file.hpp), --output is
# refused when it is one of the inputs, and a run that fails at start leaves an
# existing output untouched. No guest is booted (QEMU is only asked for --version).
#   file_safety_test.sh BUILD_DIR SOURCE_ROOT
set -uo pipefail
build=${1:?usage: file_safety_test.sh BUILD_DIR SOURCE_ROOT}
root=${2:?usage: file_safety_test.sh BUILD_DIR SOURCE_ROOT}
vt="$build/vmitrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
q=qemu-system-x86_64

# expect NAME PATTERN ARGS...: non-zero exit, exactly one stderr line matching PATTERN.
expect() {
  local name=$1 pat=$2; shift 2
  timeout 120 "$vt" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [[ $rc -eq 0 || $rc -ge 124 ]]; then fail "$name: exit status $rc: $(head -c 600 "$tmp/err")"; return; fi
  grep -q -E -- "$pat" "$tmp/err" || { fail "$name: stderr does not match '$pat': $(head -c 600 "$tmp/err")"; return; }
  [[ $(wc -l <"$tmp/err") -eq 1 ]] || { fail "$name: not one line on stderr: $(head -c 600 "$tmp/err")"; return; }
  echo "ok   $name: $(cat "$tmp/err")"
}

img="$root/.cache/guest/kernel-6.1/vmlinuz"
if [[ ! -s $img ]]; then
  echo "FAIL: $img missing: the lab is not set up (guest/setup.sh)"; exit 1
fi
printf 'not_a_syscall\n' >"$tmp/filter-unknown.txt"

# --- the profile cache (run without -r): built once, written like profile -o ---------
export XDG_CACHE_HOME="$tmp/cache"
"$vt" run --syscalls_filter_file "$tmp/filter-unknown.txt" -- $q -kernel "$img" 2>"$tmp/err" &&
  fail "cache-build: exit status 0"
grep -q "vmitrace: profile .* built from $img" "$tmp/err" || fail "cache-build: no profile built: $(cat "$tmp/err")"
cached=$(find "$tmp/cache" -type f)
[[ $(echo "$cached" | wc -l) -eq 1 && $cached == *vmitrace/profiles/vmlinuz-*.json ]] ||
  fail "cache: expected one profile, found: $(find "$tmp/cache" | tr '\n' ' ')"
"$vt" profile --info "$cached" 2>&1 | grep -q "^banner: *Linux version 6.1" || fail "cache: $cached is not the image's profile"
# A dangling link where the profile would go is not followed.
rm "$cached"
ln -s "$tmp/elsewhere.json" "$cached"
expect cache-dangling-link "$(basename "$cached"): is a symbolic link to a file that does not exist" \
  run --syscalls_filter_file "$tmp/filter-unknown.txt" -- $q -kernel "$img"
[[ -e $tmp/elsewhere.json ]] && fail "cache: the dangling link's target was created"
unset XDG_CACHE_HOME

[[ $fails -eq 0 ]] && echo "file safety: all checks passed" || { echo "$fails failed checks"; exit 1; }
