#!/usr/bin/env bash
# Builds the arm64 disk-image guest: .cache/guest/debian-arm64.img, a raw GPT disk that
# boots as arm64 VMs and servers do, through UEFI firmware (Debian's AAVMF, package
# qemu-efi-aarch64) and a boot loader, with no -kernel on QEMU's command line:
#     guest/launch.sh --disk debian-arm64     (qemu-system-aarch64 -M virt, AAVMF in pflash)
# Its one partition is an EFI system partition (FAT, written with mtools: nothing is
# mounted, nothing needs root) holding
#   EFI/BOOT/BOOTAA64.EFI  GRUB for arm64 EFI, the firmware's removable-media default:
#                          grub-mkstandalone with its grub.cfg inside; GRUB's arm64-efi
#                          modules come from Debian's grub-efi-arm64-bin, downloaded
#                          and unpacked into .cache, not installed;
#   vmitrace/vmlinuz       Debian's arm64 cloud kernel (the arm64-6.1 lab kernel: GRUB
#                          starts it through its EFI stub);
#   vmitrace/initrd.gz     the lab's arm64 initramfs (workload, GT lines, power-off).
# Next to the image: debian-arm64.release (the kernel's uname -r) and
# debian-arm64.stamp (the inputs' hash: a second run with unchanged inputs only checks).
set -euo pipefail

# shellcheck source=initramfs-lib.sh
source "$(dirname "$0")/initramfs-lib.sh"   # repo, cache, debs, die, fetch_deb
img="$cache/debian-arm64.img"
stamp="$cache/debian-arm64.stamp"
kernel="$cache/kernel-arm64-6.1/vmlinuz"
initrd="$cache/initramfs-arm64.cpio.gz"
grubroot="$cache/grub-arm64"
grubdir="$grubroot/usr/lib/grub/arm64-efi"

for tool in grub-mkstandalone mformat mmd mcopy sfdisk dpkg-deb; do
  command -v $tool >/dev/null || die "needs $tool: run scripts/install-deps.sh"
done
[[ -s $kernel ]] || die "$kernel missing: run guest/fetch-kernels.sh arm64-6.1"
[[ -s $initrd ]] || die "$initrd missing: run guest/build-initramfs-arm64.sh"

# GRUB's arm64 EFI modules: the arm64 package, downloaded (arm64 is a foreign dpkg
# architecture here, scripts/install-deps.sh) and unpacked.
if [[ ! -s $grubdir/linux.mod ]]; then
  deb=$(fetch_deb grub-efi-arm64-bin arm64)
  rm -rf "$grubroot"
  dpkg-deb -x "$deb" "$grubroot"
  [[ -s $grubdir/linux.mod ]] || die "no arm64-efi GRUB modules in grub-efi-arm64-bin"
fi

inputs_hash() {
  { sha256sum "$0" "$kernel" "$initrd" "$grubdir/linux.mod" "$grubdir/kernel.img" | awk '{ print $1 }'; } |
    sha256sum | awk '{ print $1 }'
}
want=$(inputs_hash)
if [[ -s $img && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

start=$SECONDS
tmp=$(mktemp -d "$cache/debian-arm64.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

release=$(cat "$cache/kernel-arm64-6.1/release")
# The firmware's console is the PL011 serial port; GRUB writes to it through EFI.
# GRUB finds the partition by a file on it (the firmware says which disk it booted
# from, not where the kernel is).
cat >"$tmp/grub.cfg" <<CFG
# vmitrace arm64 disk-image guest (guest/build-arm64-disk-image.sh)
set timeout=0
search --no-floppy --file --set=root /vmitrace/vmlinuz
echo 'GRUB: booting Linux $release'
linux /vmitrace/vmlinuz console=ttyAMA0 panic=-1 quiet vmitrace.workload=default
initrd /vmitrace/initrd.gz
boot
CFG
grub-mkstandalone -O arm64-efi -d "$grubdir" -o "$tmp/BOOTAA64.EFI" \
  --modules="part_gpt fat search search_fs_file linux echo" --locales= --fonts= --themes= \
  "boot/grub/grub.cfg=$tmp/grub.cfg" || die "grub-mkstandalone failed"

# The ESP: its files plus room, at least 64 MiB (FAT16), from 1 MiB on.
kib=$(( ($(stat -c %s "$kernel") + $(stat -c %s "$initrd") + $(stat -c %s "$tmp/BOOTAA64.EFI")) / 1024 ))
esp_mib=$(( kib / 1024 + 16 ))
(( esp_mib >= 64 )) || esp_mib=64
truncate -s "${esp_mib}M" "$tmp/esp.img"
mformat -i "$tmp/esp.img" -v ESP :: || die "mformat failed"
mmd -i "$tmp/esp.img" ::/EFI ::/EFI/BOOT ::/vmitrace
mcopy -i "$tmp/esp.img" "$tmp/BOOTAA64.EFI" ::/EFI/BOOT/BOOTAA64.EFI
mcopy -i "$tmp/esp.img" "$kernel" ::/vmitrace/vmlinuz
mcopy -i "$tmp/esp.img" "$initrd" ::/vmitrace/initrd.gz

disk="$tmp/disk.img"
truncate -s $(( (esp_mib + 2) * 1024 * 1024 )) "$disk"
printf 'label: gpt\nstart=2048, size=%d, type=U, name="ESP"\n' $(( esp_mib * 2048 )) |
  sfdisk --quiet --wipe never --wipe-partitions never "$disk" >/dev/null || die "sfdisk failed"
dd if="$tmp/esp.img" of="$disk" bs=1M seek=1 conv=notrunc status=none

echo "$release" >"$cache/debian-arm64.release"
mv "$disk" "$img"
echo "$want" >"$stamp"
echo "build-arm64-disk-image: $img ($(du -h --apparent-size "$img" | cut -f1)), Linux $release, $((SECONDS - start)) s"
