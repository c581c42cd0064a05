#!/usr/bin/env bash
# Builds the disk-image guest: .cache/guest/debian.img, a raw disk that boots
# like an installed Debian system (SeaBIOS, GRUB from the MBR, Debian's distribution
# kernel and initramfs-tools initrd, an ext4 root) with no -kernel on QEMU's
# command line:
#     qemu-system-x86_64 -drive file=.cache/guest/debian.img,format=raw,snapshot=on ...
# Nothing is mounted and nothing is installed on the host:
#  1. mmdebstrap (unshare mode: root, or a user with /etc/subuid entries) makes a
#     tarball of Debian bookworm, variant minbase + linux-image-amd64, strace,
#     python3, procps and guest/debian/files (init, workload, initramfs config),
#     without documentation and without the kernel modules no disk boot needs;
#  2. the tarball is unpacked under fakeroot and becomes the root file system with
#     `mke2fs -d`, written straight into the partition of the image;
#  3. GRUB for BIOS: grub-mkimage's core image in the sectors after the MBR (the
#     blocklist it writes points there) and GRUB's boot.img as the boot code.
# Next to the image: debian.vmlinuz (the guest's kernel, for `vmitrace profile`),
# debian.release (its uname -r) and debian.stamp (the inputs' hash: a second run
# with unchanged inputs only checks).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
files="$repo/guest/debian/files"
cache="$repo/.cache/guest"
img="$cache/debian.img"
stamp="$cache/debian.stamp"
mkdir -p "$cache"

die() { echo "build-debian-image: $*" >&2; exit 1; }
for tool in mmdebstrap fakeroot mke2fs sfdisk grub-mkimage; do
  command -v $tool >/dev/null || die "needs $tool: run scripts/install-deps.sh"
done
grubdir=/usr/lib/grub/i386-pc
[[ -s $grubdir/boot.img ]] || die "$grubdir/boot.img missing: run scripts/install-deps.sh (grub-pc-bin)"

suite=bookworm
packages=linux-image-amd64,strace,python3,procps
mirrors=("deb http://deb.debian.org/debian $suite main" "deb http://deb.debian.org/debian $suite-updates main"
         "deb http://deb.debian.org/debian-security $suite-security main")
uuid=5d1e7a3c-0b6f-4c3e-9a7d-766d69747261   # the root file system's (root=UUID=...)

inputs_hash() {
  { sha256sum "$0" $(find "$files" -type f | sort) "$grubdir/boot.img" "$grubdir/kernel.img" | awk '{ print $1 }'
    find "$files" -type f -perm -u+x | sed "s|^$files||" | sort; } | sha256sum | awk '{ print $1 }'
}
want=$(inputs_hash)
if [[ -s $img && -s $cache/debian.vmlinuz && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

start=$SECONDS
tmp=$(mktemp -d "$cache/debian.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Documentation, translations and most kernel modules are dead weight here: the
# initrd gets its drivers (hooks/vmitrace-disk) from what stays. (dpkg patterns:
# quoted, or bash expands them against the host's files; the kernel package's
# paths are /lib/modules even where /lib is a link to /usr/lib.)
m=/lib/modules/*/kernel
excludes=('/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*' '/usr/share/locale/*' "$m/*")
includes=('/usr/share/doc/*/copyright' "$m/fs/ext4/*" "$m/fs/jbd2/*" "$m/fs/mbcache.ko" "$m/lib/*" "$m/crypto/*"
          "$m/arch/*" "$m/block/*" "$m/drivers/ata/*" "$m/drivers/scsi/*" "$m/drivers/block/*" "$m/drivers/virtio/*")
dpkgopts=()
for p in "${excludes[@]}"; do dpkgopts+=(--dpkgopt="path-exclude=$p"); done
for p in "${includes[@]}"; do dpkgopts+=(--dpkgopt="path-include=$p"); done

echo "build-debian-image: mmdebstrap $suite ($packages)"
# The essential hook puts guest/debian/files in place before the kernel's
# postinst builds the initrd (its config and module hook are among them).
nice mmdebstrap --mode=unshare --variant=minbase --include="$packages" \
  --aptopt='APT::Install-Recommends "false"' "${dpkgopts[@]}" \
  --essential-hook="cp -R '$files/.' \"\$1/\"" \
  "$suite" "$tmp/root.tar" "${mirrors[@]}" ||
  die "mmdebstrap failed (the network? /etc/subuid for a non-root user?)"

# The kernel and initrd by name: exactly one of each.
mapfile -t kernels < <(tar -tf "$tmp/root.tar" | sed -n 's|^\./boot/vmlinuz-||p')
[[ ${#kernels[@]} == 1 ]] || die "expected one kernel in the image, found: ${kernels[*]:-none}"
release=${kernels[0]}
tar -xf "$tmp/root.tar" -C "$tmp" "./boot/vmlinuz-$release" "./boot/initrd.img-$release" ||
  die "no initrd for $release in the image (initramfs-tools failed?)"

# GRUB reads /boot/grub/grub.cfg from the root file system, like an installed Debian.
# linux16/initrd16 (the 16-bit boot protocol, as QEMU's -kernel and syslinux use it):
# under TCG the kernel then reaches its first message after 3.3 s of QEMU CPU time from
# GRUB's hand-off instead of 5.6-6.1 s with `linux` (the 32-bit protocol Debian's
# grub.cfg uses); same kernel, same command line.
mkdir -p "$tmp/grub/i386-pc"
cp "$grubdir"/*.mod "$grubdir"/*.lst "$tmp/grub/i386-pc/"
cat >"$tmp/grub/grub.cfg" <<CFG
# vmitrace disk-image guest (guest/build-debian-image.sh)
serial --unit=0 --speed=115200
terminal_output serial console
set timeout=0
set default=0
echo 'GRUB: booting Linux $release'
menuentry 'Debian GNU/Linux, with Linux $release' {
  linux16 /boot/vmlinuz-$release root=UUID=$uuid ro console=ttyS0 panic=-1 quiet init=/usr/local/sbin/vmitrace-init
  initrd16 /boot/initrd.img-$release
}
CFG

# Root file system size: the tree plus a quarter, at least 64 MiB more.
kib=$(tar -tvf "$tmp/root.tar" | awk '{ s += $3 } END { printf "%d", s / 1024 }')
kib=$(( kib + kib / 4 + 65536 + $(du -sk "$tmp/grub" | cut -f1) ))
fs_mib=$(( (kib + 1023) / 1024 ))
part_start=2048                      # sectors: 1 MiB, room for GRUB's core image
disk="$tmp/debian.img"
truncate -s $(( (fs_mib + 1) * 1024 * 1024 )) "$disk"
echo "start=$part_start, type=83, bootable" |
  sfdisk --quiet --wipe never --wipe-partitions never --label dos "$disk" >/dev/null || die "sfdisk failed"

# The tree is unpacked and read by mke2fs in one fakeroot session, so owners,
# modes and device nodes come from the tarball, whoever runs this.
echo "build-debian-image: mke2fs -d (${fs_mib} MiB)"
fakeroot -- bash -euo pipefail -c '
  tmp=$1 disk=$2 uuid=$3 mib=$4 offset=$5
  mkdir "$tmp/tree"
  tar -xpf "$tmp/root.tar" -C "$tmp/tree" --numeric-owner
  cp -R "$tmp/grub" "$tmp/tree/boot/grub"
  chown -R 0:0 "$tmp/tree/boot/grub"
  mke2fs -q -F -t ext4 -L debian-root -U "$uuid" -E offset="$offset" -d "$tmp/tree" "$disk" "${mib}M"
' - "$tmp" "$disk" "$uuid" "$fs_mib" $((part_start * 512)) || die "mke2fs failed"

# GRUB's core image: the modules to read the ext4 partition and boot Linux; the
# rest come from /boot/grub/i386-pc. grub-mkimage sets the core's blocklist for
# the sectors right after the MBR; boot.img's default points there too.
grub-mkimage -O i386-pc -o "$tmp/core.img" -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 normal linux || die "grub-mkimage failed"
core_sectors=$(( ($(stat -c %s "$tmp/core.img") + 511) / 512 ))
(( core_sectors < part_start )) || die "GRUB's core image ($core_sectors sectors) does not fit before the partition"
dd if="$grubdir/boot.img" of="$disk" bs=446 count=1 conv=notrunc status=none
dd if="$tmp/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none

mv "$tmp/boot/vmlinuz-$release" "$cache/debian.vmlinuz"
echo "$release" >"$cache/debian.release"
mv "$disk" "$img"
echo "$want" >"$stamp"
echo "build-debian-image: $img ($(du -h --apparent-size "$img" | cut -f1), $(du -h "$img" | cut -f1) on disk), Linux $release, $((SECONDS - start)) s"
