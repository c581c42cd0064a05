#!/usr/bin/env bash
# Prepares the guest lab: kernels (fetch-kernels.sh; the 32-bit lab's i386 kernel
# and its debug vmlinux, then its non-PAE twin that Volatility3 can read:
# fetch-kernel-686.sh [686], both skipped with VMITRACE_LAB32=0; the arm64 lab's
# kernels, fetch-kernels.sh arm64-6.1 arm64-6.12 arm64-16k (Debian's 16 KiB-page
# kernel, 92 MB downloaded), its archives with Debian's arm64
# strace and userland programs, build-initramfs-arm64.sh, and its UEFI disk image,
# build-arm64-disk-image.sh, skipped with VMITRACE_LAB_ARM64=0), the initramfs
# (build-initramfs.sh, with the 32-bit lab's userland archive of Debian's i386 strace
# and programs unless VMITRACE_LAB32=0; build-initramfs-arm64.sh) and the disk-image guest
# (build-debian-image.sh, skipped with VMITRACE_DISKIMAGE=0) under .cache/guest.
# Fast when everything is cached.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/fetch-kernels.sh"
if [[ ${VMITRACE_LAB32:-1} != 0 ]]; then "$here/fetch-kernel-686.sh"; "$here/fetch-kernel-686.sh" 686; fi
"$here/build-initramfs.sh"   # runs fetch-strace.sh (strace for the strace workload)
if [[ ${VMITRACE_LAB_ARM64:-1} != 0 ]]; then
  "$here/fetch-kernels.sh" arm64-6.1 arm64-6.12 arm64-16k
  "$here/build-initramfs-arm64.sh"   # runs fetch-strace.sh arm64 and fetch-userland.sh arm64
  "$here/build-arm64-disk-image.sh"  # the arm64-6.1 kernel and that initramfs behind UEFI and GRUB
fi
if [[ ${VMITRACE_DISKIMAGE:-1} != 0 ]]; then "$here/build-debian-image.sh"; fi
