#!/usr/bin/env bash
# Shows that tests/lab/check_gt.py accepts real lab logs (data/sample-*.log,
# 6.1 guests with 2 vCPUs: x86-64 and arm64) and rejects each kind of broken
# ground truth.
# Needs no guest: runs on the stored log.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sample="$here/data/sample-6.1-smp2.log"
check="$here/check_gt.py"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmitrace-checkgt.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
release=$(awk '$1 == "GT" && $2 == "kernel-release" { print $3 }' "$sample")
fails=0

expect() {  # expect 0|1 NAME FILE [ARGS...]
  local want=$1 name=$2 file=$3; shift 3
  python3 "$check" "$file" --release "$release" --cpus 2 "$@" >"$tmp/out" 2>&1
  local got=$?
  if [[ $got != "$want" ]]; then
    echo "check_gt_selftest: FAIL: $name: exit $got, expected $want" >&2
    cat "$tmp/out" >&2
    fails=$((fails + 1))
  fi
}
mutate() {  # mutate NAME SED-SCRIPT [ARGS...]: a copy of the sample edited by sed, expected to fail
  local name=$1 script=$2; shift 2
  sed -e "$script" "$sample" >"$tmp/m.log"
  cmp -s "$sample" "$tmp/m.log" && { echo "check_gt_selftest: FAIL: mutation '$name' changed nothing" >&2; fails=$((fails + 1)); return; }
  expect 1 "$name" "$tmp/m.log" "$@"
}

expect 0 "the stored log" "$sample"
sed 's/$/\r/' "$sample" >"$tmp/crlf.log"
expect 0 "CRLF line ends" "$tmp/crlf.log"
expect 1 "wrong --cpus" "$sample" --cpus 1
python3 "$check" "$sample" --release 0.0.0-other --cpus 2 >/dev/null 2>&1 && { echo "check_gt_selftest: FAIL: wrong release accepted" >&2; fails=$((fails + 1)); }

mutate "no GT done" '/^GT done/d'
mutate "missing path not ENOENT" '/vmitrace-missing/s/ret=-2 errno=ENOENT/ret=-13 errno=EACCES/'
mutate "non-numeric pid" '/^GT lab64 start/s/pid=[0-9]*/pid=abc/'
mutate "mmap at zero" '/^GT lab64 call mmap/s/ret=0x[0-9a-f]*/ret=0x0/'
mutate "no 32-bit program" '/^GT lab32/d'
mutate "KASLR off" '/^GT cmdline/s/$/ nokaslr/'
mutate "no thread" '/^GT lab64 thread /d'
mutate "child pid differs from fork" '/^GT lab64 child/s/ pid=\([0-9]*\)/ pid=1\1/'
mutate "no ksym x64_sys_call" '/^GT ksym x64_sys_call/d'
mutate "read data differs" '/^GT lab32 call read/s/payload/paylaod/'
mutate "comm not renamed" '/^GT lab64 comm/s/vmt-renamed/lab64x/'
mutate "failed exit status" 's/^GT exit prog=shcat status=0/GT exit prog=shcat status=1/'

# The arm64 lab: asm-generic lab64 (clone(SIGCHLD) for fork, mkdirat), AArch32 lab32.
sample="$here/data/sample-arm64-6.1-smp2.log"
release=$(tr -d '\r' <"$sample" | awk '$1 == "GT" && $2 == "kernel-release" { print $3 }')
expect 0 "the stored arm64 log" "$sample" --arch arm64
expect 1 "the arm64 log checked as x86-64" "$sample"
mutate "arm64: child pid differs from clone" '/^GT lab64 child/s/ pid=\([0-9]*\)/ pid=1\1/' --arch arm64
mutate "arm64: x86 syscall number" '/^GT lab64 call openat/s/nr=56/nr=257/' --arch arm64
mutate "arm64: no ksym invoke_syscall" '/^GT ksym invoke_syscall/d' --arch arm64
mutate "arm64: compat abi" '/^GT lab32 start/s/abi=arm32/abi=x32/' --arch arm64

if [[ $fails != 0 ]]; then echo "check_gt_selftest: $fails failure(s)" >&2; exit 1; fi
echo "check_gt_selftest: ok"
