#!/usr/bin/env bash
# `vmitrace run` and `attach` with a Windows profile validate it through the tracer the
# QEMU module uses (syscalls::validate), not through the Linux start-up: a
# Windows ntkrnlmp ISF is accepted, what the Windows tracer refuses is one line and a
# non-zero exit before QEMU starts or the gdbstub is touched. No guest (fast).
set -uo pipefail
build=${1:?usage: windows_cli_test.sh BUILD_DIR SHARED_DATA}
data=${2:?usage: windows_cli_test.sh BUILD_DIR SHARED_DATA}
vt="$build/vmitrace"
win=$(ls "$data"/windows-isf/ntkrnlmp-*.json.xz 2>/dev/null | head -1)
lin=$(ls "$data"/linux-isf/*.json.xz 2>/dev/null | head -1)
if [[ -z $win || -z $lin ]]; then
  echo "SKIP: no Windows or Linux ISF under $data"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_error NAME PATTERN ARGS...: non-zero exit, exactly one stderr line matching PATTERN.
expect_error() {
  local name=$1 pat=$2; shift 2
  timeout 60 "$vt" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [[ $rc -ne 0 && $rc -lt 124 ]] || fail "$name: exit status $rc"
  grep -q -E -- "$pat" "$tmp/err" || fail "$name: stderr does not match '$pat': $(cat "$tmp/err")"
  [[ $(wc -l <"$tmp/err") -eq 1 ]] || fail "$name: not exactly one line on stderr: $(cat "$tmp/err")"
  grep -q linux_banner "$tmp/err" && fail "$name: validated as a Linux profile: $(cat "$tmp/err")"
}

printf '# nothing\n' >"$tmp/empty-filter.txt"
q=qemu-system-x86_64
# The Windows tracer's own checks, reached only when the CLI validates through it.
expect_error run-win32k-not-windows "$(basename "$lin"): not a Windows profile" run -r "$win" -W "$lin" -- $q -display none
expect_error run-empty-filter "empty-filter.txt: no service names" \
  run -r "$win" --syscalls-filter-file "$tmp/empty-filter.txt" -- $q -display none
# attach: checked before connecting (the endpoint does not exist).
expect_error attach-win32k-not-windows "$(basename "$lin"): not a Windows profile" \
  attach -d "unix:$tmp/no-such.sock" -r "$win" -W "$lin"
expect_error attach-empty-filter "empty-filter.txt: no service names" \
  attach -d "unix:$tmp/no-such.sock" -r "$win" --syscalls-filter-file "$tmp/empty-filter.txt"
# A valid Windows profile gets as far as the endpoint.
expect_error attach-valid-profile "no-such.sock" attach -d "unix:$tmp/no-such.sock" -r "$win"
# A Linux profile still goes through the Linux checks.
expect_error run-linux-empty-filter "empty-filter.txt: no known syscall names" \
  run -r "$lin" --syscalls-filter-file "$tmp/empty-filter.txt" -- $q -display none

# mkwinmock (the mock Windows guest's generator, x86-64 hosts): one line, non-zero exit.
mk="$build/guest/windows/mkwinmock"
if [[ -x $mk ]]; then
  vt=$mk expect_error mkwinmock-linux-profile "$(basename "$lin"): not a 64-bit Windows kernel profile" \
    --profile "$lin" --output "$tmp/mock.elf"
  vt=$mk expect_error mkwinmock-no-dir "nodir/mock.elf: cannot write the mock guest: No such file" \
    --profile "$win" --output "$tmp/nodir/mock.elf"
fi

[[ $fails -eq 0 ]] && echo "windows-cli: all cases passed"
exit $((fails > 0))
