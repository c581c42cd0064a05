#!/usr/bin/env bash
# Checks guest/launch.sh's interface without a full workload: the QEMU command
# it builds (--print-cmd), one-line errors on bad options, the wrapper's exit
# status, --timeout (exit 124) and an unknown workload (non-zero).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
launch="$repo/guest/launch.sh"
cache="$repo/.cache/guest"
for f in "$cache/kernel-6.1/vmlinuz" "$cache/initramfs.cpio.gz"; do
  if [[ ! -s $f ]]; then echo "launch_args_test: $f missing: run guest/setup.sh first" >&2; exit 1; fi
done

fails=0
fail() { echo "launch_args_test: FAIL: $*" >&2; fails=$((fails + 1)); }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmitrace-launchtest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --print-cmd: one argument per line, wrapper first, TCG, KASLR left on.
mapfile -t cmd < <("$launch" --kernel 6.12 --smp 2 --mem 300 --workload bench --append "foo=bar" --print-cmd -- echo hi)
[[ ${cmd[0]:-} == echo && ${cmd[1]:-} == hi ]] || fail "wrapper not first in --print-cmd: ${cmd[*]:0:3}"
[[ ${cmd[2]:-} == */qemu-system-x86_64 ]] || fail "QEMU binary not after the wrapper: ${cmd[2]:-}"
joined=$(printf '%s\n' "${cmd[@]}")
for want in -accel tcg -no-reboot "$cache/kernel-6.12/vmlinuz" "$cache/initramfs.cpio.gz"; do
  grep -qxF -- "$want" <<<"$joined" || fail "--print-cmd lacks '$want'"
done
grep -qx -- '-smp' <<<"$joined" && grep -A1 -x -- '-smp' <<<"$joined" | grep -qx 2 || fail "--smp 2 not passed"
grep -A1 -x -- '-m' <<<"$joined" | grep -qx 300 || fail "--mem 300 not passed"
append=$(grep -A1 -x -- '-append' <<<"$joined" | tail -n 1)
[[ $append == *console=ttyS0* && $append == *vmitrace.workload=bench* && $append == *foo=bar* ]] ||
  fail "kernel command line: '$append'"
[[ $append != *nokaslr* ]] || fail "nokaslr on the kernel command line"
grep -q -- '-accel' <<<"$joined" && ! grep -q kvm <<<"$joined" || fail "not TCG"

# The 32-bit lab (686-pae, and its non-PAE twin 686np): qemu-system-i386 with the
# i386 initramfs (when set up).
for k in 686 686np; do
  [[ -s $cache/kernel-$k/vmlinuz && -s $cache/initramfs-i386.cpio.gz ]] || continue
  mapfile -t cmd < <("$launch" --kernel $k --print-cmd)
  [[ ${cmd[0]:-} == */qemu-system-i386 ]] || fail "--kernel $k: not qemu-system-i386: ${cmd[0]:-}"
  joined=$(printf '%s\n' "${cmd[@]}")
  for want in "$cache/kernel-$k/vmlinuz" "$cache/initramfs-i386.cpio.gz"; do
    grep -qxF -- "$want" <<<"$joined" || fail "--kernel $k: --print-cmd lacks '$want'"
  done
done

# The disk-image guest: its drive and no -kernel, -initrd or -append (when set up).
if [[ -s $cache/debian.img ]]; then
  mapfile -t cmd < <("$launch" --disk debian --print-cmd)
  joined=$(printf '%s\n' "${cmd[@]}")
  grep -qxF -- "file=$cache/debian.img,format=raw,snapshot=on" <<<"$joined" || fail "--disk debian: no -drive of debian.img"
  grep -qx -e -kernel -e -initrd -e -append <<<"$joined" && fail "--disk debian: -kernel, -initrd or -append given"
fi

# The arm64 lab: qemu-system-aarch64, the virt board with -cpu max (no LPA2), the PL011
# console, the arm64 initramfs; a directory holding an arm64 Image boots the same way.
for k in arm64-6.1 arm64-6.12 arm64-16k; do
  [[ -s $cache/kernel-$k/vmlinuz && -s $cache/initramfs-arm64.cpio.gz ]] || continue
  for spec in "$k" "$cache/kernel-$k"; do
    mapfile -t cmd < <("$launch" --kernel "$spec" --print-cmd)
    [[ ${cmd[0]:-} == */qemu-system-aarch64 ]] || fail "--kernel $spec: not qemu-system-aarch64: ${cmd[0]:-}"
    joined=$(printf '%s\n' "${cmd[@]}")
    for want in "$cache/kernel-$k/vmlinuz" "$cache/initramfs-arm64.cpio.gz" virt max,lpa2=off; do
      grep -qxF -- "$want" <<<"$joined" || fail "--kernel $spec: --print-cmd lacks '$want'"
    done
    append=$(grep -A1 -x -- '-append' <<<"$joined" | tail -n 1)
    [[ $append == *console=ttyAMA0* && $append != *nokaslr* ]] || fail "--kernel $spec: kernel command line '$append'"
  done
done

# Bad options: non-zero exit and exactly one line on stderr.
bad() {
  local out rc
  out=$("$launch" "$@" 2>&1 >/dev/null); rc=$?
  [[ $rc != 0 ]] || fail "launch.sh $* exited 0"
  [[ $(wc -l <<<"$out") == 1 && -n $out ]] || fail "launch.sh $*: expected one error line, got: $out"
}
bad --smp 2
bad --kernel 6.3
bad --kernel 6.1 --smp x
bad --kernel 6.1 --mem 0
bad --kernel 6.1 --timeout soon
bad --kernel 6.1 --bogus
bad --kernel 6.1 --log
bad --disk "$tmp/no-such.img"
bad --disk debian --kernel 6.1
bad --disk debian --workload bench

# The wrapper's status comes back (the wrapper here does not start QEMU).
out=$("$launch" --kernel 6.1 --log "$tmp/w.log" -- sh -c 'exit 3' wrapper 2>&1); rc=$?
[[ $rc == 3 ]] || fail "wrapper exit 3 returned $rc ($out)"
[[ $(wc -l <<<"$out") == 1 ]] || fail "wrapper failure: expected one line, got: $out"

# --timeout: QEMU is killed and the exit status is 124.
start=$(date +%s)
out=$("$launch" --kernel 6.1 --log "$tmp/t.log" --timeout 1 2>&1); rc=$?
[[ $rc == 124 ]] || fail "--timeout 1 returned $rc ($out)"
(( $(date +%s) - start < 30 )) || fail "--timeout 1 took $(( $(date +%s) - start ))s"
pgrep -f -- "$tmp/t.log" >/dev/null && fail "QEMU still running after the timeout"

# A workload the guest does not know: no 'GT done', non-zero exit, one line.
out=$("$launch" --kernel 6.1 --log "$tmp/u.log" --workload nosuchthing --timeout 120 2>&1); rc=$?
[[ $rc != 0 ]] || fail "unknown workload exited 0"
grep -aq "^GT error unknown workload" "$tmp/u.log" || fail "guest did not report the unknown workload"
[[ $(wc -l <<<"$out") == 1 ]] || fail "unknown workload: expected one line, got: $out"

# The 'none' workload boots, prints GT done and powers off: exit 0.
"$launch" --kernel 6.1 --log "$tmp/n.log" --workload none --timeout 120 || fail "--workload none failed"

if [[ $fails != 0 ]]; then echo "launch_args_test: $fails failure(s)" >&2; exit 1; fi
echo "launch_args_test: ok"
