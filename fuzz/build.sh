#!/usr/bin/env bash
# Configures (once) and builds the libFuzzer targets with clang, ASan and UBSan,
# in BUILD_DIR (default build-fuzz). Only the fuzz targets and what they link are built.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/build-fuzz}"
flags="-fsanitize=fuzzer-no-link -fno-sanitize-recover=all"
if [[ ! -f "$dir/build.ninja" ]]; then
  CC=clang CXX=clang++ meson setup "$dir" "$root" -Dfuzz=true -Dtests=false -Dbenchmarks=false \
    -Dplugin-syscalls=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args="$flags" -Dc_args="$flags" >/dev/null
fi
source "$root/fuzz/targets.sh"
ninja -C "$dir" -j"${JOBS:-2}" "${fuzz_targets[@]/#/fuzz/}" | tail -n 1
