#!/usr/bin/env bash
# Builds the lab initramfs (.cache/guest/initramfs.cpio.gz): busybox-static
# amd64 from the host (/bin/busybox + applet links), busybox-static i386 from
# its Debian package (/bin32/busybox), the lab workload programs lab64/lab32
# (freestanding C, raw syscalls), Debian's strace with its shared libraries and
# loader (staged by fetch-strace.sh) and guest/init as /init.
# Also the userland archive (.cache/guest/initramfs-userland.cpio.gz, for the
# `userland` workload): the same tree plus Debian's programs (fetch-userland.sh).
# Also the 32-bit lab's archive (.cache/guest/initramfs-i386.cpio.gz, for the
# 686-pae kernel): the i386 busybox as /bin/busybox (and /bin32/busybox), lab32,
# the same /init (it skips the 64-bit steps when /bin/lab64 is absent).
# Rebuilt only when an input changes (hash kept in initramfs.stamp).
set -euo pipefail

. "$(dirname "$0")/initramfs-lib.sh"
out="$cache/initramfs.cpio.gz"
out32="$cache/initramfs-i386.cpio.gz"
stamp="$cache/initramfs.stamp"
busybox64=/bin/busybox
[[ -x $busybox64 ]] && file -L "$busybox64" | grep -q 'statically linked' ||
  die "$busybox64 missing or not static: apt-get install busybox-static"
for tool in gcc cpio gzip dpkg; do command -v $tool >/dev/null || die "needs $tool (scripts/install-deps.sh)"; done

# The i386 busybox is only downloaded and unpacked, never installed.
busybox32_deb=$(fetch_deb busybox-static i386)

# strace for the `strace` workload: the binary, its libraries and the loader.
"$guest/fetch-strace.sh"
strace_stamp="$cache/strace-root.stamp"
# Debian's programs for the `userland` workload (their own archive: the others stay small).
"$guest/fetch-userland.sh"
userland_stamp="$cache/userland-root.stamp"
out_userland="$cache/initramfs-userland.cpio.gz"

CFLAGS=("${LAB_CFLAGS[@]}")

inputs_hash() {
  {
    sha256sum "$guest/build-initramfs.sh" "$guest/initramfs-lib.sh" "$guest/init" "$guest"/workload/*.[ch] "$busybox64" "$busybox32_deb" \
      "$guest/fetch-strace.sh" "$strace_stamp" "$guest/fetch-userland.sh" "$userland_stamp" |
      awk '{ print $1 }'
    gcc --version | head -n 1
    echo "${CFLAGS[*]}"
  } | sha256sum | awk '{ print $1 }'
}
want=$(inputs_hash)
if [[ -s $out && -s $out32 && -s $out_userland && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

tmp=$(mktemp -d "$cache/initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
mkdir -p "$root"/{bin,bin32,sbin,dev,proc,sys,tmp,etc}

cp "$busybox64" "$root/bin/busybox"
busybox_links "$root/bin"

dpkg -x "$busybox32_deb" "$tmp/bb32"
cp "$tmp/bb32/bin/busybox" "$root/bin32/busybox"

gcc "${CFLAGS[@]}" "$guest/workload/lab.c" -o "$root/bin/lab64" || die "compiling lab64 failed"
gcc -m32 "${CFLAGS[@]}" "$guest/workload/lab.c" -o "$root/bin/lab32" ||
  die "compiling lab32 (gcc -m32) failed"

cp -a "$cache/strace-root/." "$root/"
rm -f "$root/.host-libs"

cp "$guest/init" "$root/init"
chmod 755 "$root/init" "$root/bin/lab64" "$root/bin/lab32" "$root/bin/busybox" "$root/bin32/busybox"
# The kernel opens /dev/console before running /init; without root we cannot
# create the node, and /init reopens the console from devtmpfs instead.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

pack "$root" "$tmp/initramfs.cpio.gz"

# The userland archive: the same tree plus the staged Debian programs.
cp -a "$cache/userland-root/." "$root/"
rm -f "$root/.python-files"
pack "$root" "$tmp/initramfs-userland.cpio.gz"

# The 32-bit lab: the same tree with the i386 busybox as the only busybox.
root32="$tmp/root32"
mkdir -p "$root32"/{bin,bin32,sbin,dev,proc,sys,tmp,etc}
cp "$root/bin32/busybox" "$root32/bin/busybox"
ln -s ../bin/busybox "$root32/bin32/busybox"
busybox_links "$root32/bin"
cp "$root/bin/lab32" "$root32/bin/lab32"
cp "$root/init" "$root32/init"
mknod -m 600 "$root32/dev/console" c 5 1 2>/dev/null || true
pack "$root32" "$tmp/initramfs-i386.cpio.gz"

mv "$tmp/initramfs.cpio.gz" "$out"
mv "$tmp/initramfs-i386.cpio.gz" "$out32"
mv "$tmp/initramfs-userland.cpio.gz" "$out_userland"
echo "$want" >"$stamp"
echo "build-initramfs: wrote $out ($(stat -c %s "$out") bytes), $out32 ($(stat -c %s "$out32") bytes)" \
  "and $out_userland ($(stat -c %s "$out_userland") bytes)"
