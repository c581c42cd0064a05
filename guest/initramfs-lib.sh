# Sourced by the initramfs builders (build-initramfs.sh, build-initramfs-arm64.sh),
# the scripts that stage trees for them (fetch-strace.sh, fetch-userland.sh) and
# build-arm64-disk-image.sh: what they share. Sets repo, guest, cache (where the lab's files are built) and
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

# fetch_debs ARCH PACKAGE...: prints the path of each PACKAGE's .deb for ARCH under
# $debs, one a line, `apt-get download`ing the missing ones first (in one call: apt
# reads its lists once; only downloaded, never installed).
fetch_debs() {
  local arch=$1 pkg deb
  shift
  local -a missing=()
  for pkg in "$@"; do
    compgen -G "$debs/${pkg}_*_$arch.deb" >/dev/null || missing+=("$pkg:$arch")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "${0##*/}: downloading ${missing[*]}" >&2
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null) ||
      die "apt-get download ${missing[*]} failed (needs 'dpkg --add-architecture $arch' + apt-get update: scripts/install-deps.sh)"
  fi
  for pkg in "$@"; do
    deb=$(compgen -G "$debs/${pkg}_*_$arch.deb" | head -n 1 || true)
    [[ -n $deb ]] || die "apt-get download $pkg:$arch left no .deb in $debs"
    echo "$deb"
  done
}
fetch_deb() { fetch_debs "$2" "$1"; }   # fetch_deb PACKAGE ARCH

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

# copy_needed X OUT BIN...: copies every shared object the ELF files BIN... need
# (their NEEDED entries, transitively; the program interpreter aside) from the
# packages unpacked under X (X/lib/TRIPLET or X/usr/lib/TRIPLET, TRIPLET from
# $triplet) into OUT/lib/TRIPLET, and counts them in $copied. For a foreign
# architecture's packages (the host cannot run them: no ldd), read with readelf.
copy_needed() {
  local x=$1 out=$2 so lib
  shift 2
  local -a todo=("$@")
  local done_libs=" "
  copied=0
  mkdir -p "$out/lib/$triplet"
  while [[ ${#todo[@]} -gt 0 ]]; do
    for so in $(readelf -dW "${todo[0]}" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [[ $done_libs == *" $so "* || $so == ld-linux-* ]] && continue
      done_libs+="$so "
      lib=$(compgen -G "$x/lib/$triplet/$so" || compgen -G "$x/usr/lib/$triplet/$so" || true)
      [[ -n $lib ]] || die "$so (needed by ${todo[0]##*/}) is in none of the unpacked packages"
      cp -L "$lib" "$out/lib/$triplet/$so"
      todo+=("$lib")
      copied=$((copied + 1))
    done
    todo=("${todo[@]:1}")
  done
}
