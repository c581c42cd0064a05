#!/usr/bin/env bash
# Installs every host package vmitrace needs on Debian 12 (bookworm), as root.
# QEMU 10 comes from bookworm-backports (bookworm's 7.2 plugin API cannot read
# registers or memory; qemu-system-arm brings qemu-system-aarch64 for the arm64
# lab). Idempotent: a second run only checks.
set -euo pipefail

stamp_dir="$(cd "$(dirname "$0")/.." && pwd)/.cache"
mkdir -p "$stamp_dir"
stamp="$stamp_dir/deps.stamp"
want_version=8
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_version" ]] && command -v qemu-system-x86_64 >/dev/null \
   && qemu-system-x86_64 --version | grep -q 'version 10' \
   && command -v qemu-system-aarch64 >/dev/null && qemu-system-aarch64 --version | grep -q 'version 10'; then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
fi
# Foreign packages are only downloaded, never installed: busybox-static:i386 for the
# 32-bit lab; the arm64 lab's kernels, busybox-static and strace (arm64) and its
# compat busybox-static:armhf.
for arch in i386 arm64 armhf; do
  if ! dpkg --print-foreign-architectures | grep -x "$arch" >/dev/null; then
    $SUDO dpkg --add-architecture $arch
  fi
done
# A mirror mid-sync can fail one index (seen for bookworm-security i386); what we need is in the others.
$SUDO apt-get update -qq || echo "install-deps: apt-get update reported errors; continuing" >&2

# mmdebstrap, fakeroot, fdisk (sfdisk) and grub-pc-bin (GRUB's BIOS images, not
# installed as the host's bootloader) build the disk-image guest; uidmap lets a
# non-root user run mmdebstrap's unshare mode. qemu-efi-aarch64 (AAVMF, the arm64 UEFI
# firmware) and mtools (the EFI system partition, unmounted) make the arm64 one.
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential g++ pkg-config meson ninja-build git ca-certificates \
  libsimdjson-dev libbpf-dev libelf-dev zlib1g-dev liblzma-dev libzstd-dev liblz4-dev \
  libfmt-dev libcli11-dev libgtest-dev libgmock-dev googletest libbenchmark-dev libglib2.0-dev \
  busybox-static cpio xz-utils zstd dwarves python3 python3-jsonschema \
  binutils file clang libclang-rt-14-dev lz4 gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf \
  mmdebstrap uidmap fakeroot fdisk grub-pc-bin qemu-efi-aarch64 mtools >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 qemu-system-arm >/dev/null

echo "$want_version" > "$stamp"
echo "install-deps: done ($(qemu-system-x86_64 --version | head -1))"
