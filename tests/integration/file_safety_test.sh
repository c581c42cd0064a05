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
mv "$cached" "$tmp/kernel-6.1.json"
ln -s "$tmp/elsewhere.json" "$cached"
expect cache-dangling-link "$(basename "$cached"): is a symbolic link to a file that does not exist" \
  run --syscalls_filter_file "$tmp/filter-unknown.txt" -- $q -kernel "$img"
[[ -e $tmp/elsewhere.json ]] && fail "cache: the dangling link's target was created"
unset XDG_CACHE_HOME

# --- --output is never an input (device + inode, not names) --------------------------
prof="$root/tests/integration/data/strace-lab64-6.1.log"  # any readable file, as a stand-in
for f in profile filter config kernel module debug win32k; do printf 'the %s, precious\n' "$f" >"$tmp/$f"; done
printf 'format = kv\n' >"$tmp/config"
ln "$tmp/profile" "$tmp/profile-hardlink"
ln -s profile "$tmp/profile-symlink"
unchanged() {  # NAME: the file still holds what it held
  [[ $(head -1 "$tmp/$1") == *"$1"* || $1 == config && $(cat "$tmp/config") == "format = kv" ]] ||
    fail "$1 was written over: $(head -c 100 "$tmp/$1")"
}
expect output-is-profile "/profile: is also the profile \(-r\)" run -r "$tmp/profile" --output "$tmp/profile" -- $q
expect output-is-profile-hardlink "profile-hardlink: is also the profile \(-r\)" run -r "$tmp/profile" --output "$tmp/profile-hardlink" -- $q
expect output-is-profile-symlink "profile-symlink: is also the profile \(-r\)" run -r "$tmp/profile" --output "$tmp/profile-symlink" -- $q
expect output-is-profile-other-spelling "is also the profile" run -r "$tmp/profile" --output "$tmp/../$(basename "$tmp")/./profile" -- $q
expect output-is-filter "is also the filter file" run -r "$prof" --syscalls_filter_file "$tmp/filter" --output "$tmp/filter" -- $q
expect output-is-config "is also the config file" run -r "$prof" --config "$tmp/config" --output "$tmp/config" -- $q
expect output-is-config-from-config "is also the config file" run -r "$prof" --config "$(printf 'output = %s\n' "$tmp/config2" >"$tmp/config2"; echo "$tmp/config2")" -- $q
expect output-is-kernel "is also QEMU's -kernel image" run -r "$prof" --output "$tmp/kernel" -- $q -kernel "$tmp/kernel"
expect output-is-module "is also the QEMU module \(--plugin\)" run -r "$prof" --plugin "$tmp/module" --output "$tmp/module" -- $q
expect output-is-debug-file "is also the --debug-file" run --debug-file "$tmp/debug" --output "$tmp/debug" -- $q -kernel "$img"
expect output-is-win32k "is also the win32k profile \(-W\)" run -r "$prof" -W "$tmp/win32k" --output "$tmp/win32k" -- $q
expect attach-output-is-profile "/profile: is also the profile \(-r\)" attach -d "unix:$tmp/nosock" -r "$tmp/profile" --output "$tmp/profile"
expect attach-output-is-filter "is also the filter file" attach -d "unix:$tmp/nosock" -r "$prof" --syscalls_filter_file "$tmp/filter" --output "$tmp/filter"
for f in profile filter config kernel module debug win32k; do unchanged "$f"; done

# --- a run that fails at start leaves an existing output untouched -------------------
printf 'events of an earlier run\n' >"$tmp/events.jsonl"
expect bad-filter-keeps-output "filter-unknown.txt: no known syscall names" \
  run -r "$tmp/kernel-6.1.json" --syscalls_filter_file "$tmp/filter-unknown.txt" --output "$tmp/events.jsonl" -- $q
expect bad-profile-keeps-output "strace-lab64-6.1.log" run -r "$prof" --output "$tmp/events.jsonl" -- $q
[[ $(cat "$tmp/events.jsonl") == "events of an earlier run" ]] || fail "a failed start truncated the output: '$(cat "$tmp/events.jsonl")'"
# A new output is fine; one that cannot be created is reported before anything is read.
expect output-dir-missing "nodir/e.jsonl: cannot open output: No such file" run -r "$prof" --output "$tmp/nodir/e.jsonl" -- $q
expect output-is-dir "cannot open output: is a directory" run -r "$prof" --output "$tmp" -- $q
[[ -e $tmp/nodir ]] && fail "a failed start created the output's directory"

[[ $fails -eq 0 ]] && echo "file safety: all checks passed" || { echo "$fails failed checks"; exit 1; }
