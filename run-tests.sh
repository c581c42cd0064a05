#!/usr/bin/env bash
# Fresh Debian 12 machine -> green test suite. Installs everything (apt packages,
# QEMU 10 from bookworm-backports, the lab's guest kernels), builds, runs every test.
# Re-running is fast: downloads and built images are cached under .cache/.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
./guest/setup.sh
./scripts/build.sh
meson test -C build --print-errorlogs --num-processes 2 --timeout-multiplier 3 "$@"
# The unit tests again under AddressSanitizer + UBSan, in build-asan (no guests:
# scripts/sanitize.sh). Only for a whole run; SANITIZE=0 skips it.
if [[ $# -eq 0 && "${SANITIZE:-1}" != 0 ]]; then
  ./scripts/sanitize.sh build-asan
fi
