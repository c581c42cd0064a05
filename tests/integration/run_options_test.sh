#!/usr/bin/env bash
# `vmitrace run` options and config file: bad input gives one line naming the file
# or option and a non-zero exit; a config file's options (same names as the command
# line) are applied, checked on a real lab guest.
set -uo pipefail
build=${1:?usage: run_options_test.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
vt="$build/vmitrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_error NAME PATTERN ARGS...: non-zero exit, exactly one stderr line matching PATTERN.
expect_error() {
  local name=$1 pat=$2; shift 2
  "$vt" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [[ $rc -ne 0 ]] || fail "$name: exit status 0"
  grep -q -E "$pat" "$tmp/err" || fail "$name: stderr does not match '$pat': $(cat "$tmp/err")"
  [[ $(wc -l <"$tmp/err") -eq 1 ]] || fail "$name: more than one line on stderr: $(cat "$tmp/err")"
}

printf 'openat\n' >"$tmp/filter.txt"
printf 'format = kv\nbogus_key = 3\n' >"$tmp/bad-key.conf"
printf 'disable_sysret = maybe\n' >"$tmp/bad-flag.conf"
printf 'this line has no equals sign\n' >"$tmp/bad-line.conf"
printf 'string_limit = 0\n' >"$tmp/bad-range.conf"
mkdir "$tmp/dir"
q=qemu-system-x86_64
expect_error unknown-key "bad-key.conf:2: unknown option 'bogus_key'" run --config "$tmp/bad-key.conf" -- $q
expect_error bad-flag "bad-flag.conf:1: .*flag" run --config "$tmp/bad-flag.conf" -- $q
expect_error bad-line "bad-line.conf:1: expected 'name = value'" run --config "$tmp/bad-line.conf" -- $q
expect_error bad-range "string.limit|string_limit" run --config "$tmp/bad-range.conf" -- $q
expect_error missing-config "missing.conf: No such file" run --config "$tmp/missing.conf" -- $q
expect_error missing-filter "nofilter.txt" run --syscalls_filter_file "$tmp/nofilter.txt" -r "$tmp/filter.txt" -- $q
expect_error dir-filter "dir" run --syscalls_filter_file "$tmp/dir" -r "$tmp/filter.txt" -- $q
expect_error bad-format "format" run -o xml -- $q
expect_error no-qemu "no-such-qemu" run -r "$tmp/filter.txt" -- "$tmp/no-such-qemu"
expect_error not-qemu "does not look like QEMU" run -r "$tmp/filter.txt" -- /bin/true
# Without -r and -kernel the QEMU module builds the profile from guest memory; the
# choice is checked before QEMU starts.
expect_error no-kernel-file "profile-from kernel-file: no -kernel IMAGE" run --profile-from kernel-file -- $q -nographic
expect_error profile-from-and-r "profile-from: .*not both" run --profile-from memory -r "$tmp/filter.txt" -- $q
expect_error debug-file-memory "debug-file: .*not from guest memory" run --profile-from memory --debug-file "$tmp/filter.txt" -- $q
expect_error profile-from-bad "profile-from" run --profile-from disk -- $q

# A config file applied on a real guest: kv output, the filter, no sysret.
if [[ ! -f "$root/.cache/guest/initramfs.cpio.gz" ]]; then
  echo "FAIL: the lab is not set up: run guest/setup.sh"; exit 1
fi
# The filter sits in a directory whose name has commas and '=': QEMU's -plugin syntax
# must carry it whole (options/module_args.hpp). The command line overrides the
# file's string_limit (4 would cut every path).
odd="$tmp/a,b,,c=d"
mkdir "$odd"
printf 'openat\nclose\n' >"$odd/filter2.txt"
cat >"$tmp/good.conf" <<CONF
# same names as on the command line
format = kv   # a trailing comment
output = $tmp/events.kv
syscalls_filter_file = "$odd/filter2.txt"
disable_sysret = true
string_limit = 4
CONF
"$root/guest/launch.sh" --kernel 6.1 --log "$tmp/console.log" --timeout 600 -- \
  "$vt" run --config "$tmp/good.conf" --string-limit 64 -- 2>"$tmp/err" || fail "config run: exit status $? ($(tail -3 "$tmp/err"))"
[[ -s "$tmp/events.kv" ]] || fail "config run: no events in the output file"
grep -q -v -E '^syscall Time=' "$tmp/events.kv" && fail "config run: a line is not a kv syscall line: $(grep -v -E '^syscall Time=' "$tmp/events.kv" | head -1)"
grep -q -E 'Method=(openat|close),' "$tmp/events.kv" || fail "config run: no openat/close events"
grep -q -v -E 'Method=(openat|close),' "$tmp/events.kv" && fail "config run: a syscall outside the filter"
grep -q -E 'filename="/tmp/vmitrace-lab/file64.txt"' "$tmp/events.kv" || fail "config run: lab64's openat missing"

[[ $fails -eq 0 ]] && echo "run options: all checks passed" || { echo "$fails failed checks"; exit 1; }
