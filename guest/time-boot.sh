#!/usr/bin/env bash
# Measures boot + workload time of each lab kernel under TCG with 1 and 2 vCPUs
# (the table in guest/README.md). usage: guest/time-boot.sh [RUNS] [WORKLOAD] [KERNEL...]
# (kernels: default 6.1 6.12; e.g. arm64-6.1 arm64-6.12 for the arm64 lab)
# Per configuration (median of RUNS): host wall time of guest/launch.sh (QEMU
# start to power-off), host CPU time it used (user+sys; less sensitive to other
# load than wall time), and the guest's uptime at the end of the workload.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
runs=${1:-3} workload=${2:-default}
shift $(( $# < 2 ? $# : 2 ))
kernels=("$@")
[[ ${#kernels[@]} -gt 0 ]] || kernels=(6.1 6.12)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmitrace-timeboot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
TIMEFORMAT='%R %U %S'
printf '%-10s %-4s %-8s %-8s %s\n' kernel smp wall_s cpu_s guest_s
for kernel in "${kernels[@]}"; do
  for smp in 1 2; do
    : >"$tmp/wall"; : >"$tmp/cpu"; : >"$tmp/guest"
    for ((i = 0; i < runs; i++)); do
      { time "$here/launch.sh" --kernel "$kernel" --smp "$smp" --workload "$workload" --log "$tmp/log" 2>"$tmp/err"; } 2>"$tmp/time" ||
        { cat "$tmp/err" >&2; exit 1; }
      read -r real user sys <"$tmp/time"
      echo "$real" >>"$tmp/wall"
      awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f\n", u + s }' >>"$tmp/cpu"
      tr -d '\r' <"$tmp/log" | awk '$1 == "GT" && $2 == "workload" && $4 == "end" { sub("uptime=", "", $5); print $5 }' >>"$tmp/guest"
    done
    printf '%-10s %-4s %-8s %-8s %s\n' "$kernel" "$smp" "$(median <"$tmp/wall")" "$(median <"$tmp/cpu")" "$(median <"$tmp/guest")"
  done
done
echo "workload $workload, median of $runs run(s); host load average: $(cut -d' ' -f1-3 /proc/loadavg)"
