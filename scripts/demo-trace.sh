#!/usr/bin/env bash
# The main job on the bundled demo guest: boots the lab VM (Debian's 6.1 cloud kernel,
# KASLR on, QEMU TCG) under `vmitrace run`, which traces every system call from
# outside the guest, then shows what the lab's 64-bit workload (lab64) did.
# usage: scripts/demo-trace.sh [json|kv|csv|default] [--kernel 6.1|6.12]
set -euo pipefail
cd "$(dirname "$0")/.."
format=default
kernel=6.1
while [[ $# -gt 0 ]]; do
  case "$1" in
    json|kv|csv|default) format=$1 ;;
    --kernel) kernel=$2; shift ;;
    *) echo "usage: $0 [json|kv|csv|default] [--kernel 6.1|6.12]" >&2; exit 2 ;;
  esac
  shift
done
out=.cache/demo
mkdir -p "$out"
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
