#!/usr/bin/env bash
# The unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, in their own
# build directory (default build-asan). Tests that boot guests are left out: the
# 'lab', 'e2e' and 'volatility3' suites and qemu_plugin (QEMU, not our code, would run them).
# Any sanitizer report fails the test that triggered it.
# Usage: scripts/sanitize.sh [BUILD_DIR] [extra meson test args]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/build-asan}"; shift || true
if [[ ! -f "$dir/build.ninja" ]]; then
  # b_lundef=false: the QEMU plugin module resolves QEMU's symbols at load time.
  meson setup "$dir" "$root" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbenchmarks=false >/dev/null
fi
ninja -C "$dir" -j"$(nproc)" | tail -n 1
mapfile -t tests < <(meson test -C "$dir" --no-rebuild --list --no-suite lab --no-suite e2e --no-suite volatility3 2>/dev/null \
  | sed -n 's|.* / ||p' | grep -vx -e qemu_plugin -e kallsyms_rva)
echo "sanitize: ${tests[*]}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 "$@" "${tests[@]}"
