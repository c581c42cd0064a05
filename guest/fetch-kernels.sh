#!/usr/bin/env bash
# Fetches the lab's guest kernels from Debian packages without installing them:
# resolves the current versioned package behind linux-image-cloud-amd64 (or
# linux-image-cloud-arm64:arm64 for the arm64-* series; linux-image-arm64-16k:arm64,
# Debian's 16 KiB-page kernel, for arm64-16k) in bookworm (6.1) or bookworm-backports
# (6.12, 16k), `apt-get download`s it into .cache/guest/debs and
# unpacks vmlinuz + System.map with `dpkg -x` into
# .cache/guest/kernel-<series>/{vmlinuz,System.map,release}.
#
#   guest/fetch-kernels.sh [SERIES...]    SERIES: 6.1 6.12 arm64-6.1 arm64-6.12 arm64-16k
#                                         (default: 6.1 6.12)
#
# Idempotent: when the resolved release is already unpacked it only checks.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="$repo/.cache/guest"
debs="$cache/debs"
mkdir -p "$debs"

die() { echo "fetch-kernels: $*" >&2; exit 1; }
command -v apt-cache >/dev/null && command -v dpkg >/dev/null || die "needs apt-cache and dpkg (a Debian host)"

# deb_arch SERIES: the Debian architecture of that series' kernel.
deb_arch() { case "$1" in arm64-*) echo arm64 ;; *) echo amd64 ;; esac; }

# meta SERIES: the package that depends on the series' current kernel.
meta() { case "$1" in arm64-16k) echo linux-image-arm64-16k ;; *) echo "linux-image-cloud-$(deb_arch "$1")" ;; esac; }

# resolve SERIES: prints the versioned image package of that series, or nothing.
resolve() {
  local -a target=()
  [[ $1 == *6.12 || $1 == arm64-16k ]] && target=(-t bookworm-backports)
  apt-cache depends "${target[@]}" "$(meta "$1"):$(deb_arch "$1")" 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { sub(/:.*/, "", $2); print $2; exit }'
}

# apt-cache takes seconds here (Docker-style images disable apt's binary
# cache), so remember the answers until the package lists change.
resolved="$cache/resolved"
lists_key() { ls -l --time-style=+%s /var/lib/apt/lists/ 2>/dev/null | sha256sum | cut -c1-16; }
resolve_cached() {  # resolve_cached SERIES
  local key pkg
  key=$(lists_key)
  pkg=$(awk -v k="$key" -v s="$1" '$1 == k && $2 == s { print $3 }' "$resolved" 2>/dev/null)
  if [[ -z $pkg ]]; then
    pkg=$(resolve "$1")
    if [[ -n $pkg ]]; then
      { grep -vF " $1 " "$resolved" 2>/dev/null || true; echo "$key $1 $pkg"; } >"$resolved.new"
      mv "$resolved.new" "$resolved"
    fi
  fi
  echo "$pkg"
}

# matches SERIES PACKAGE: is the package of the kernel series we expect?
matches() {
  case "$1:$2" in
    6.1:linux-image-6.1.0-*-cloud-amd64) return 0 ;;
    6.12:linux-image-6.12.*-cloud-amd64) return 0 ;;
    arm64-6.1:linux-image-6.1.0-*-cloud-arm64) return 0 ;;
    arm64-6.12:linux-image-6.12.*-cloud-arm64) return 0 ;;
    arm64-16k:linux-image-6.12.*-arm64-16k) return 0 ;;
  esac
  return 1
}

download() {  # download PACKAGE ARCH: into $debs unless already there
  local pkg=$1 arch=$2
  compgen -G "$debs/${pkg}_*_$arch.deb" >/dev/null && return 0
  echo "fetch-kernels: downloading $pkg:$arch"
  if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$arch" >/dev/null 2>&1); then
    # Stale package lists point at files the mirror has dropped: refresh once.
    apt-get update -qq >/dev/null 2>&1 || true
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$arch" >/dev/null) || die "apt-get download $pkg:$arch failed"
  fi
}

unpack() {  # unpack SERIES PACKAGE
  local series=$1 pkg=$2 release=${2#linux-image-} arch
  arch=$(deb_arch "$series")
  local dir="$cache/kernel-$series" deb tmp
  deb=$(compgen -G "$debs/${pkg}_*_$arch.deb" | head -n 1)
  tmp=$(mktemp -d "$cache/unpack.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  dpkg -x "$deb" "$tmp"
  [[ -f $tmp/boot/vmlinuz-$release ]] || die "$deb: no boot/vmlinuz-$release inside"
  mkdir -p "$dir"
  cp "$tmp/boot/vmlinuz-$release" "$dir/vmlinuz.new"
  cp "$tmp/boot/System.map-$release" "$dir/System.map.new" 2>/dev/null || : >"$dir/System.map.new"
  mv "$dir/vmlinuz.new" "$dir/vmlinuz"
  mv "$dir/System.map.new" "$dir/System.map"
  echo "$release" >"$dir/release"   # written last: marks the directory complete
  # Older images of the same series are dead weight once a newer one is unpacked.
  local old
  for old in "$debs"/linux-image-*_"$arch".deb; do
    [[ -e $old ]] || continue
    local name=${old##*/}; name=${name%%_*}
    if [[ $name != "$pkg" ]] && matches "$series" "$name"; then rm -f "$old"; fi
  done
}

[[ $# -gt 0 ]] || set -- 6.1 6.12
for series in "$@"; do
  case "$series" in 6.1|6.12|arm64-6.1|arm64-6.12|arm64-16k) ;; *) die "unknown kernel series '$series' (6.1 6.12 arm64-6.1 arm64-6.12 arm64-16k)" ;; esac
  dir="$cache/kernel-$series"
  pkg=$(resolve_cached "$series")
  if [[ -z $pkg ]]; then
    apt-get update -qq >/dev/null 2>&1 || true
    pkg=$(resolve_cached "$series")
  fi
  if [[ -z $pkg ]] || ! matches "$series" "$pkg"; then
    if [[ -s $dir/vmlinuz && -s $dir/release ]]; then
      echo "fetch-kernels: cannot resolve the $series kernel, $(meta "$series") (got '${pkg:-nothing}'); keeping $(cat "$dir/release")" >&2
      continue
    fi
    die "cannot resolve the $series kernel package behind $(meta "$series") (got '${pkg:-nothing}'); is bookworm-backports in the apt sources (and arm64 a dpkg architecture for arm64-*)? run scripts/install-deps.sh"
  fi
  release=${pkg#linux-image-}
  if [[ -s $dir/vmlinuz && -f $dir/release && "$(cat "$dir/release")" == "$release" ]]; then
    continue
  fi
  download "$pkg" "$(deb_arch "$series")"
  unpack "$series" "$pkg"
  echo "fetch-kernels: kernel-$series = $release"
done
