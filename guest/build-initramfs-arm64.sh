#!/usr/bin/env bash
# Builds the arm64 lab's initramfs (.cache/guest/initramfs-arm64.cpio.gz):
# Debian's busybox-static arm64 (/bin/busybox + applet links) and armhf
# (/bin32/busybox: a real AArch32 program, run as a compat task), the lab
# workload cross-compiled for aarch64 (/bin/lab64) and AArch32 (/bin/lab32),
# Debian's strace arm64 with its libraries and loader (staged by
# fetch-strace.sh arm64) and guest/init as /init. The busybox .debs are only
# downloaded and unpacked, never installed.
# Also the arm64 userland archive (.cache/guest/initramfs-userland-arm64.cpio.gz,
# for the `userland` workload): the same tree plus Debian's arm64 programs
# (fetch-userland.sh arm64).
# Rebuilt only when an input changes (hash kept in initramfs-arm64.stamp).
set -euo pipefail

. "$(dirname "$0")/initramfs-lib.sh"
out="$cache/initramfs-arm64.cpio.gz"
stamp="$cache/initramfs-arm64.stamp"
cc64=aarch64-linux-gnu-gcc cc32=arm-linux-gnueabihf-gcc
for tool in $cc64 $cc32 cpio gzip dpkg; do command -v $tool >/dev/null || die "needs $tool (scripts/install-deps.sh)"; done
# AArch32: ARM state (r7 is free for the syscall number) and ARMv8's hardware
# divide (no libgcc helpers in a -nostdlib program); segments 64 KiB-aligned (armhf's
# default is 4 KiB), so that lab32 also runs on 16 KiB- and 64 KiB-page kernels
# (arm64-16k; Debian's 4 KiB-aligned armhf busybox cannot run there).
CFLAGS32=(-marm -march=armv8-a+simd -Wl,-z,max-page-size=0x10000)

busybox64_deb=$(fetch_deb busybox-static arm64)
busybox32_deb=$(fetch_deb busybox-static armhf)
"$guest/fetch-strace.sh" arm64
strace_stamp="$cache/strace-root-arm64.stamp"
"$guest/fetch-userland.sh" arm64
userland_stamp="$cache/userland-root-arm64.stamp"
out_userland="$cache/initramfs-userland-arm64.cpio.gz"

inputs_hash() {
  {
    sha256sum "$0" "$guest/initramfs-lib.sh" "$guest/init" "$guest"/workload/*.[ch] /bin/busybox \
      "$busybox64_deb" "$busybox32_deb" "$strace_stamp" "$userland_stamp" | awk '{ print $1 }'
    $cc64 --version | head -n 1
    $cc32 --version | head -n 1
    echo "${LAB_CFLAGS[*]} ${CFLAGS32[*]}"
  } | sha256sum | awk '{ print $1 }'
}
want=$(inputs_hash)
if [[ -s $out && -s $out_userland && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

tmp=$(mktemp -d "$cache/initramfs-arm64.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
mkdir -p "$root"/{bin,bin32,sbin,dev,proc,sys,tmp,etc}

dpkg -x "$busybox64_deb" "$tmp/bb64"
dpkg -x "$busybox32_deb" "$tmp/bb32"
cp "$tmp/bb64/bin/busybox" "$root/bin/busybox"
cp "$tmp/bb32/bin/busybox" "$root/bin32/busybox"
busybox_links "$root/bin"

$cc64 "${LAB_CFLAGS[@]}" "$guest/workload/lab.c" -o "$root/bin/lab64" || die "compiling lab64 ($cc64) failed"
$cc32 "${CFLAGS32[@]}" "${LAB_CFLAGS[@]}" "$guest/workload/lab.c" -o "$root/bin/lab32" ||
  die "compiling lab32 ($cc32) failed"

cp -a "$cache/strace-root-arm64/." "$root/"

cp "$guest/init" "$root/init"
chmod 755 "$root/init" "$root/bin/lab64" "$root/bin/lab32" "$root/bin/busybox" "$root/bin32/busybox"
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true   # /init reopens it from devtmpfs otherwise

pack "$root" "$tmp/initramfs.cpio.gz"

# The userland archive: the same tree plus the staged Debian programs.
cp -a "$cache/userland-root-arm64/." "$root/"
rm -f "$root/.python-files"
pack "$root" "$tmp/initramfs-userland.cpio.gz"

mv "$tmp/initramfs.cpio.gz" "$out"
mv "$tmp/initramfs-userland.cpio.gz" "$out_userland"
echo "$want" >"$stamp"
echo "build-initramfs-arm64: wrote $out ($(stat -c %s "$out") bytes) and $out_userland ($(stat -c %s "$out_userland") bytes)"
