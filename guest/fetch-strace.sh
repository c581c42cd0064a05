#!/usr/bin/env bash
# Stages Debian's strace (bookworm) for a lab initramfs, without installing it.
#
#   guest/fetch-strace.sh [amd64|arm64]     (default amd64)
#
# amd64: `apt-get download`s strace and the packages its Depends name (except
# libc6, which every Debian host has) into .cache/guest/debs, unpacks them, asks
# the dynamic loader which shared objects the binary needs (ldd, with the
# unpacked libraries first on the search path) and copies the binary, those
# libraries and the loader into .cache/guest/strace-root/.
# arm64 (the arm64 lab; the host cannot run the binary): downloads strace:arm64
# and everything its Depends reach (libc6 included), follows the ELF NEEDED
# entries (copy_needed, initramfs-lib.sh) and the program interpreter through
# the unpacked packages and copies them into .cache/guest/strace-root-arm64/.
# The tree is merged into the archive by build-initramfs.sh (-arm64.sh).
# Idempotent: a stamp holding the .debs' and host libraries' hashes skips the
# work when nothing changed.
set -euo pipefail

. "$(dirname "$0")/initramfs-lib.sh"   # repo, cache, debs, die, copy_needed
arch=${1:-amd64}
case "$arch" in
  amd64) stage="$cache/strace-root" ;;
  arm64) stage="$cache/strace-root-arm64" ;;
  *) echo "fetch-strace: unknown architecture '$arch' (amd64 or arm64)" >&2; exit 2 ;;
esac
stamp="$stage.stamp"
for tool in apt-get dpkg dpkg-deb ldd readelf; do command -v $tool >/dev/null || die "needs $tool (a Debian host)"; done

download() {  # download PACKAGE: its $arch .deb into $debs unless already there
  local pkg=$1
  compgen -G "$debs/${pkg}_*_$arch.deb" >/dev/null && return 0
  echo "fetch-strace: downloading $pkg:$arch"
  if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$arch" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null 2>&1 || true   # stale lists: refresh once
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$arch" >/dev/null) ||
      die "apt-get download $pkg:$arch failed"
  fi
}
deb_of() { compgen -G "$debs/${1}_*_$arch.deb" | head -n 1; }
# "libc6 (>= 2.34), libunwind8" -> libc6 libunwind8 (alternatives: the first one).
depends_of() {
  dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true
}

download strace
strace_deb=$(deb_of strace)
pkg_debs=("$strace_deb")
if [[ $arch == amd64 ]]; then
  for d in $(depends_of "$strace_deb" | grep -vx libc6); do
    download "$d"
    pkg_debs+=("$(deb_of "$d")")
  done
else
  # Everything the Depends reach: the guest has no libraries of its own.
  seen=" strace " queue=("$strace_deb")
  while [[ ${#queue[@]} -gt 0 ]]; do
    for d in $(depends_of "${queue[0]}"); do
      [[ $seen == *" $d "* ]] && continue
      seen+="$d "
      download "$d"
      pkg_debs+=("$(deb_of "$d")")
      queue+=("$(deb_of "$d")")
    done
    queue=("${queue[@]:1}")
  done
fi

# Libraries the loader resolves from the host (libc, liblzma...) are inputs too:
# a host upgrade rebuilds the stage.
host_libs() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'; }

# The stage remembers which host files it copied (.host-libs).
inputs_hash() {
  local -a host=()
  [[ -f $stage/.host-libs ]] && mapfile -t host <"$stage/.host-libs"
  { sha256sum "$0" "$repo/guest/initramfs-lib.sh" "${pkg_debs[@]}" "${host[@]}" 2>&1 | awk '{ print $1 }'; } | sha256sum | awk '{ print $1 }'
}
want=$(inputs_hash)
if [[ -x $stage/bin/strace && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

tmp=$(mktemp -d "$cache/strace.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for deb in "${pkg_debs[@]}"; do dpkg -x "$deb" "$tmp/x"; done
bin="$tmp/x/usr/bin/strace"
[[ -x $bin ]] || die "$strace_deb: no usr/bin/strace inside"
out="$tmp/root"
mkdir -p "$out/bin"
cp "$bin" "$out/bin/strace"
n=0

if [[ $arch == amd64 ]]; then
  : >"$out/.host-libs"
  libpath="$tmp/x/lib/x86_64-linux-gnu:$tmp/x/usr/lib/x86_64-linux-gnu"
  mkdir -p "$out/lib/x86_64-linux-gnu" "$out/lib64"
  while read -r lib; do
    [[ $lib == "$tmp"/* ]] || echo "$lib" >>"$out/.host-libs"
    case "$lib" in
      */ld-linux-x86-64.so.2) cp -L "$lib" "$out/lib64/ld-linux-x86-64.so.2" ;;
      *) cp -L "$lib" "$out/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
    esac
    n=$((n + 1))
  done < <(LD_LIBRARY_PATH=$libpath host_libs "$bin")
  [[ -s $out/lib64/ld-linux-x86-64.so.2 && -s $out/lib/x86_64-linux-gnu/libc.so.6 ]] ||
    die "ldd did not name the loader and libc for $bin"
  # The copied tree must run on its own: the loader of the tree, its libraries only.
  "$out/lib64/ld-linux-x86-64.so.2" --library-path "$out/lib/x86_64-linux-gnu" "$out/bin/strace" -V >/dev/null ||
    die "the staged strace does not run"
  version=$("$out/lib64/ld-linux-x86-64.so.2" --library-path "$out/lib/x86_64-linux-gnu" "$out/bin/strace" -V | head -n 1)
else
  # The loader at the path the binary names, then every NEEDED object, transitively.
  interp=$(readelf -lW "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
  [[ $interp == /* && -e $tmp/x$interp ]] || die "$bin: program interpreter '$interp' not in the unpacked packages"
  mkdir -p "$out$(dirname "$interp")"
  cp -L "$tmp/x$interp" "$out$interp"
  triplet=aarch64-linux-gnu
  copy_needed "$tmp/x" "$out" "$bin"
  n=$copied
  [[ -s $out/lib/aarch64-linux-gnu/libc.so.6 ]] || die "$bin does not need libc.so.6?"
  version="strace $(dpkg-deb -f "$strace_deb" Version) (arm64, not run on this host)"
fi

rm -rf "$stage"
mv "$out" "$stage"
inputs_hash >"$stamp"
echo "fetch-strace: staged $version with $n shared objects and the loader in $stage"
