# Sourced by the initramfs builders (build-initramfs.sh, build-initramfs-arm64.sh):
# what they share. Sets repo, guest, cache (where the lab's files are built) and
# debs (where .debs are kept), and die(), which names the builder.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
guest="$repo/guest"
cache="$repo/.cache/guest"
debs="$cache/debs"
mkdir -p "$debs"

die() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }

# The workload programs are freestanding C: every syscall they make is one the
# source shows (guest/README.md, "The initramfs").
LAB_CFLAGS=(-O2 -Wall -Wextra -Werror -nostdlib -static -ffreestanding -fno-stack-protector -fno-pie -no-pie
            -fno-builtin -fno-tree-loop-distribute-patterns -fno-asynchronous-unwind-tables -Wl,--build-id=none)

# fetch_deb PACKAGE ARCH: prints the path of PACKAGE's .deb for ARCH under $debs,
# `apt-get download`ing it first when missing (only downloaded, never installed).
fetch_deb() {
  local pkg=$1 arch=$2 deb
  deb=$(compgen -G "$debs/${pkg}_*_$arch.deb" | head -n 1 || true)
  if [[ -z $deb ]]; then
    echo "${0##*/}: downloading $pkg:$arch" >&2
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$arch" >/dev/null) ||
      die "apt-get download $pkg:$arch failed (needs 'dpkg --add-architecture $arch' + apt-get update: scripts/install-deps.sh)"
    deb=$(compgen -G "$debs/${pkg}_*_$arch.deb" | head -n 1)
  fi
  echo "$deb"
}

# busybox_links DIR: an applet symlink to `busybox` in DIR for every applet of
# Debian's busybox-static (the list comes from the host's /bin/busybox; the
# other architectures' builds of the same Debian version have the same applets).
busybox_links() {
  local applet
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox || -e $1/$applet ]] || ln -s busybox "$1/$applet"
  done
}

pack() {  # pack ROOT OUT: a newc cpio archive, gzip'd, reproducible (sorted, no timestamps in gzip)
  (cd "$1" && find . -print | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n >"$2"
}
