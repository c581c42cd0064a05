#!/usr/bin/env bash
# Fetches a 32-bit lab kernel (Debian bookworm, i386) and the debug vmlinux of its
# -dbg package, without installing either:
#   guest/fetch-kernel-686.sh [686-pae|686]
#   686-pae (default): linux-image-686-pae, the 32-bit lab   -> .cache/guest/kernel-686/
#   686: linux-image-686, non-PAE (2-level page tables; Volatility3 2.11 reads no PAE
#        guest)                                              -> .cache/guest/kernel-686np/
#   DIR/{vmlinuz,System.map,release}   from linux-image-<release>:i386
#   DIR/vmlinux-dbg                     from linux-image-<release>-dbg:i386
# The kernel has no BTF, so its profile is built from the DWARF in vmlinux-dbg
# (vmitrace profile --debug-file). The -dbg package is ~765 MB: it is streamed
# through dpkg-deb | tar extracting only usr/lib/debug/boot/vmlinux-*, and the .deb
# is deleted afterwards (the extracted vmlinux is the cache). Idempotent: when the
# resolved release is already unpacked it only checks. Prints the time each step took.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="$repo/.cache/guest"
debs="$cache/debs"
die() { echo "fetch-kernel-686: $*" >&2; exit 1; }
flavour=${1:-686-pae}
case "$flavour" in
  686-pae) dir="$cache/kernel-686" ;;
  686) dir="$cache/kernel-686np" ;;
  *) die "unknown flavour '$flavour' (686-pae or 686)" ;;
esac
mkdir -p "$debs"

command -v apt-cache >/dev/null && command -v dpkg-deb >/dev/null || die "needs apt-cache and dpkg-deb (a Debian host)"
# grep without -q reads all: with pipefail, -q could end dpkg with SIGPIPE and fail.
dpkg --print-foreign-architectures | grep -x i386 >/dev/null ||
  die "the i386 architecture is not enabled (scripts/install-deps.sh does dpkg --add-architecture i386)"

resolve() {
  apt-cache depends "linux-image-$flavour:i386" 2>/dev/null |
    awk -v f="$flavour" '$1 == "Depends:" { sub(/:i386$/, "", $2) }
      $1 == "Depends:" && $2 ~ ("^linux-image-6\\.1\\.0-[0-9]+-" f "$") { print $2; exit }'
}
pkg=$(resolve)
if [[ -z $pkg ]]; then
  apt-get update -qq >/dev/null 2>&1 || true
  pkg=$(resolve)
fi
if [[ -z $pkg ]]; then
  if [[ -s $dir/vmlinuz && -s $dir/vmlinux-dbg && -s $dir/release ]]; then
    echo "fetch-kernel-686: cannot resolve linux-image-$flavour:i386; keeping $(cat "$dir/release")" >&2
    exit 0
  fi
  die "cannot resolve linux-image-$flavour:i386 (apt-get update after scripts/install-deps.sh?)"
fi
release=${pkg#linux-image-}
if [[ -s $dir/vmlinuz && -s $dir/vmlinux-dbg && -f $dir/release && "$(cat "$dir/release")" == "$release" ]]; then
  exit 0
fi

download() {  # download PACKAGE: into $debs unless already there
  compgen -G "$debs/${1}_*_i386.deb" >/dev/null && return 0
  echo "fetch-kernel-686: downloading $1:i386"
  if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$1:i386" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null 2>&1 || true
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$1:i386" >/dev/null) || die "apt-get download $1:i386 failed"
  fi
}
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

mkdir -p "$dir"
tmp=$(mktemp -d "$cache/unpack$flavour.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

t=$(now)
download "$pkg"
deb=$(compgen -G "$debs/${pkg}_*_i386.deb" | head -n 1)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./boot/vmlinuz-$release" "./boot/System.map-$release" ||
  die "$deb: no boot/vmlinuz-$release inside"
cp "$tmp/boot/vmlinuz-$release" "$dir/vmlinuz.new"
cp "$tmp/boot/System.map-$release" "$dir/System.map.new"
echo "fetch-kernel-686: image package ($pkg) in $(took "$t") s"

t=$(now)
download "$pkg-dbg"
echo "fetch-kernel-686: -dbg download in $(took "$t") s"
t=$(now)
dbg=$(compgen -G "$debs/${pkg}-dbg_*_i386.deb" | head -n 1)
dpkg-deb --fsys-tarfile "$dbg" | tar -x -C "$tmp" "./usr/lib/debug/boot/vmlinux-$release" ||
  die "$dbg: no usr/lib/debug/boot/vmlinux-$release inside"
mv "$tmp/usr/lib/debug/boot/vmlinux-$release" "$dir/vmlinux-dbg.new"
echo "fetch-kernel-686: vmlinux extracted from the -dbg package in $(took "$t") s"

mv "$dir/vmlinuz.new" "$dir/vmlinuz"
mv "$dir/System.map.new" "$dir/System.map"
mv "$dir/vmlinux-dbg.new" "$dir/vmlinux-dbg"
rm -f "$dir/profile.json"   # a profile of the previous release
echo "$release" >"$dir/release"   # written last: marks the directory complete
# The extracted vmlinux is the cache: the .debs (765 MB for -dbg) are dead weight now.
rm -f "$debs/${pkg}_"*_i386.deb "$debs/${pkg}-dbg_"*_i386.deb
echo "fetch-kernel-686: ${dir##*/} = $release"
