#!/usr/bin/env bash
# Stages Debian's strace (bookworm amd64) for the lab initramfs, without
# installing it: `apt-get download`s strace and the packages its Depends name
# (except libc6, which every Debian host has) into .cache/guest/debs, unpacks
# them, asks the dynamic loader which shared objects the binary needs (ldd, with
# the unpacked libraries first on the search path) and copies the binary, those
# libraries and the loader into .cache/guest/strace-root/ (a tree that
# build-initramfs.sh merges into the archive). Idempotent: a stamp holding the
# .debs' and host libraries' hashes skips the work when nothing changed.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="$repo/.cache/guest"
debs="$cache/debs"
stage="$cache/strace-root"
stamp="$cache/strace-root.stamp"
mkdir -p "$debs"

die() { echo "fetch-strace: $*" >&2; exit 1; }
for tool in apt-get dpkg dpkg-deb ldd; do command -v $tool >/dev/null || die "needs $tool (a Debian host)"; done

download() {  # download PACKAGE: its amd64 (or all) .deb into $debs unless already there
  local pkg=$1
  compgen -G "$debs/${pkg}_*_amd64.deb" >/dev/null && return 0
  echo "fetch-strace: downloading $pkg"
  if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:amd64" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null 2>&1 || true   # stale lists: refresh once
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:amd64" >/dev/null) ||
      die "apt-get download $pkg failed"
  fi
}
deb_of() { compgen -G "$debs/${1}_*_amd64.deb" | head -n 1; }

download strace
strace_deb=$(deb_of strace)
# "libc6 (>= 2.34), libunwind8" -> libunwind8 (alternatives: the first one).
deps=$(dpkg-deb -f "$strace_deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' |
       grep -v -e '^$' -e '^libc6$' || true)
pkg_debs=("$strace_deb")
for d in $deps; do
  download "$d"
  pkg_debs+=("$(deb_of "$d")")
done

# Libraries the loader resolves from the host (libc, liblzma...) are inputs too:
# a host upgrade rebuilds the stage.
host_libs() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'; }

# The stage remembers which host files it copied (.host-libs).
inputs_hash() {
  local -a host=()
  [[ -f $stage/.host-libs ]] && mapfile -t host <"$stage/.host-libs"
  { sha256sum "$0" "${pkg_debs[@]}" "${host[@]}" 2>&1 | awk '{ print $1 }'; } | sha256sum | awk '{ print $1 }'
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
libpath="$tmp/x/lib/x86_64-linux-gnu:$tmp/x/usr/lib/x86_64-linux-gnu"

out="$tmp/root"
mkdir -p "$out/bin" "$out/lib/x86_64-linux-gnu" "$out/lib64"
cp "$bin" "$out/bin/strace"
n=0
: >"$out/.host-libs"
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

rm -rf "$stage"
mv "$out" "$stage"
inputs_hash >"$stamp"
echo "fetch-strace: staged $("$stage/lib64/ld-linux-x86-64.so.2" --library-path "$stage/lib/x86_64-linux-gnu" \
  "$stage/bin/strace" -V | head -n 1) with $n shared objects in $stage"
