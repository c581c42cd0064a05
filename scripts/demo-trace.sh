#!/usr/bin/env bash
# The main job on the bundled demo guest: boots the lab VM (Debian's 6.1 cloud kernel,
# KASLR on, QEMU TCG) under `vmitrace run`, which traces every system call from
# outside the guest, then shows what the lab's 64-bit workload (lab64) did.
# With --disk: the disk-image guest (guest/build-debian-image.sh), booted like an installed
# Debian system (SeaBIOS, GRUB, its own kernel and initrd from its disk; no -kernel), its
# profile made from the image's kernel; shows what python3 in it did with its thread and
# sockets.
# With --windows: the mock Windows guest (guest/windows/README.md) laid out from a real
# ntkrnlmp ISF (win10, win11 or win7) at a random kernel base, the same way.
# usage: scripts/demo-trace.sh [json|kv|csv|default] [--kernel 6.1|6.12] [--disk] [--windows [win10|win11|win7]]
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: $0 [json|kv|csv|default] [--kernel 6.1|6.12] [--disk] [--windows [win10|win11|win7]]"
format=default
kernel=6.1
windows=
disk=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    json|kv|csv|default) format=$1 ;;
    --kernel) kernel=$2; shift ;;
    --disk) disk=1 ;;
    --windows)
      windows=win10
      if [[ ${2:-} == win* ]]; then windows=$2; shift; fi ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
out=.cache/demo
mkdir -p "$out"
if [[ -n $windows ]]; then
  declare -A isf=([win10]=ntkrnlmp-0B0A89438BE7729EB33FD00A7D6FA816-1 [win11]=ntkrnlmp-CA8E2F01B822EDE6357898BFBF862997-1
                  [win7]=ntkrnlmp-win7sp1-7601.24540)
  [[ -n ${isf[$windows]:-} ]] || { echo "$usage" >&2; exit 2; }
  profile=../shared/data/windows-isf/${isf[$windows]}.json.xz
  events="$out/events-$windows.$format"
  echo "== Laying out the mock Windows guest from $profile"
  build/guest/windows/mkwinmock --profile "$profile" --output "$out/mock-$windows.elf" >"$out/mock-$windows.json"
  echo "== Booting it under vmitrace run; its serial port in $out/serial-$windows.log"
  build/vmitrace run -r "$profile" -o "$format" --output "$events" -- qemu-system-x86_64 -kernel "$out/mock-$windows.elf" \
    -display none -nodefaults -no-reboot -monitor none -serial "file:$out/serial-$windows.log"
  echo
  echo "== The mock's workload's own account of what it did (its serial port):"
  grep -a '^WINMOCK' "$out/serial-$windows.log"
  echo
  echo "== What vmitrace saw, from outside ($format):"
  cat "$events"
  echo
  echo "== All $(wc -l <"$events") events are in $events"
  exit 0
fi
if [[ $disk == 1 ]]; then
  events="$out/events-debian.$format"
  echo "== Making the profile of the disk image's kernel (.cache/guest/debian.vmlinuz, next to the image)"
  build/vmitrace profile .cache/guest/debian.vmlinuz -o "$out/debian.json"
  echo "== Booting the disk-image guest (firmware, GRUB, Debian) under vmitrace; console in $out/console-debian.log"
  guest/launch.sh --disk debian --log "$out/console-debian.log" -- \
    build/vmitrace run -r "$out/debian.json" --args rich -o "$format" --output "$events" --
  echo
  echo "== The guest's own account (its console):"
  grep -a -E '^GT (kernel-release|step|python|exit)' "$out/console-debian.log" | head -n 14 | tr -d '\r'
  echo
  echo "== What vmitrace saw python3 do with its thread and sockets, from outside ($format):"
  grep -a 'python3' "$events" |
    grep -a -E '(":|"Method":"|,)(socket|setsockopt|bind|listen|getsockname|clone3|accept4|connect|sendto|recvfrom|socketpair)[ ",]' |
    head -n 24
  echo
  echo "== All $(wc -l <"$events") events are in $events"
  exit 0
fi
events="$out/events-$kernel.$format"
echo "== Booting the lab guest (kernel $kernel) under vmitrace; console in $out/console.log"
guest/launch.sh --kernel "$kernel" --log "$out/console.log" -- \
  build/vmitrace run -o "$format" --output "$events" --
echo
echo "== The workload's own account of what it did (ground truth, from the guest console):"
grep -a '^GT lab64 call' "$out/console.log" | head -n 12 | tr -d '\r'
echo
echo "== What vmitrace saw of the same process, from outside ($format, first 24 events other than its console writes):"
grep -a -E 'lab64|vmt-renamed' "$events" | grep -a -v -E 'execve|GT |":write |=write,' | head -n 24
echo
echo "== All $(wc -l <"$events") events are in $events"
