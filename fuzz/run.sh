#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/build.sh), writes seed corpora (fuzz/seeds.sh) and
# runs each target for SECONDS (default 60), two at a time (2 cores). Corpora and
# crashing inputs stay in the build dir: BUILD/corpus/<target>, BUILD/crashes/<target>.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]    (env BUILD_FUZZ=dir, PARALLEL=2)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-60}"; shift || true
bdir="${BUILD_FUZZ:-$root/build-fuzz}"
targets=("$@")
source "$root/fuzz/targets.sh"
[[ ${#targets[@]} -eq 0 ]] && targets=("${fuzz_targets[@]}")
"$root/fuzz/build.sh" "$bdir"
"$root/fuzz/seeds.sh" "$bdir" "$bdir/corpus"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
run_one() {
  local t="$1" secs="$2" bdir="$3"
  mkdir -p "$bdir/crashes/$t"
  local max_len=65536
  [[ "$t" == fuzz_ring ]] && max_len=8192
  [[ "$t" == fuzz_isf ]] && max_len=131072
  if "$bdir/fuzz/$t" "$bdir/corpus/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
       -max_len="$max_len" -artifact_prefix="$bdir/crashes/$t/" -print_final_stats=1 \
       >"$bdir/$t.log" 2>&1; then
    echo "$t: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$bdir/$t.log" | grep -o '[0-9]*$') runs in ${secs}s)"
  else
    echo "$t: FOUND A CRASH: see $bdir/$t.log and $bdir/crashes/$t/"
    return 1
  fi
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P "${PARALLEL:-2}" -I{} bash -c 'run_one {} "$0" "$1"' "$secs" "$bdir"
