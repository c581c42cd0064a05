#!/usr/bin/env bash
# Prepares the guest lab: kernels (fetch-kernels.sh) and the initramfs
# (build-initramfs.sh) under .cache/guest. Fast when everything is cached.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/fetch-kernels.sh"
"$here/build-initramfs.sh"   # runs fetch-strace.sh (strace for the strace workload)
