#!/usr/bin/env bash
# Fresh Debian 12 machine -> a traced VM. Installs everything, builds, boots the lab's
# demo guest (Debian's 6.1 cloud kernel, KASLR on, under QEMU TCG) with vmitrace
# attached through the QEMU plugin, and shows what the guest's workload did.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
./guest/setup.sh
./scripts/build.sh
exec ./scripts/demo-trace.sh "$@"
