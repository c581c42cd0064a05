#!/usr/bin/env bash
# Boots a lab kernel with the default workload and checks the ground truth it
# prints (tests/lab/check_gt.py). usage: lab_boot_test.sh 6.1|6.12|arm64-6.1|arm64-6.12 [SMP]
# Needs the lab built first: guest/setup.sh (CI runs it before the tests).
set -uo pipefail

kernel=${1:?usage: lab_boot_test.sh 6.1|6.12|arm64-6.1|arm64-6.12 [SMP]}
smp=${2:-1}
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="$repo/.cache/guest"

arch=x86_64 initrd="$cache/initramfs.cpio.gz"
[[ $kernel == arm64-* ]] && arch=arm64 initrd="$cache/initramfs-arm64.cpio.gz"
for f in "$cache/kernel-$kernel/vmlinuz" "$cache/kernel-$kernel/release" "$initrd"; do
  if [[ ! -s $f ]]; then
    echo "lab_boot_test: $f missing: run guest/setup.sh first" >&2
    exit 1
  fi
done

logdir=$(mktemp -d "${TMPDIR:-/tmp}/vmitrace-labtest.XXXXXX")
log="$logdir/serial-$kernel-smp$smp.log"
"$repo/guest/launch.sh" --kernel "$kernel" --smp "$smp" --workload default --log "$log" --timeout 240
status=$?
if [[ $status != 0 ]]; then
  echo "lab_boot_test: guest/launch.sh --kernel $kernel --smp $smp exited $status; last log lines ($log):" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
if ! python3 "$here/check_gt.py" "$log" --release "$(cat "$cache/kernel-$kernel/release")" --cpus "$smp" --arch "$arch"; then
  echo "lab_boot_test: ground truth check failed; log kept at $log" >&2
  exit 1
fi
rm -rf "$logdir"
