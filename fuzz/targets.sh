# The fuzz targets (as fuzz/meson.build defines them), for build.sh, seeds.sh, run.sh.
# shellcheck disable=SC2034
fuzz_targets=(fuzz_isf fuzz_decompress fuzz_kallsyms fuzz_btf fuzz_memprofile fuzz_filter fuzz_format fuzz_ring
  fuzz_rsp fuzz_paging fuzz_arm64_paging fuzz_task fuzz_self_check fuzz_plugin fuzz_win_pe fuzz_win_os fuzz_win_tracer fuzz_win_format)
