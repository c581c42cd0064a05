#!/usr/bin/env bash
# Stages real Debian programs for the lab's `userland` workload (the strace
# comparison on ordinary programs): coreutils, find, tar, gzip and python3.11, the
# shared objects they need, the part of python's standard library the workload
# imports (found by running it on the host with `python3 -v`) and the workload
# itself (guest/workload/userland.{sh,py}), into a tree the initramfs builder merges
# into the userland archive. Nothing is installed.
#
#   guest/fetch-userland.sh [amd64|arm64]     (default amd64)
#
# amd64: the host's own programs (the host is Debian bookworm, as the guest's strace
# and libraries are) and the shared objects ldd names for them, into
# .cache/guest/userland-root/ (build-initramfs.sh).
# arm64 (the host cannot run these): the arm64 .debs of the packages that hold the
# host's copies of the same files (dpkg -S) are downloaded and unpacked; programs and
# python sources come from them, the shared objects from their ELF NEEDED entries
# (copy_needed, initramfs-lib.sh; the loader comes with strace-root-arm64), and the
# sources are byte-compiled by the host's python3.11 as Debian's postinst would.
# Into .cache/guest/userland-root-arm64/ (build-initramfs-arm64.sh).
# Idempotent: a stamp holding the inputs' hashes skips the work when nothing changed.
set -euo pipefail

. "$(dirname "$0")/initramfs-lib.sh"   # repo, guest, cache, debs, die, fetch_debs, copy_needed
arch=${1:-amd64}
case "$arch" in
  amd64) stage="$cache/userland-root" triplet=x86_64-linux-gnu ;;
  arm64) stage="$cache/userland-root-arm64" triplet=aarch64-linux-gnu ;;
  *) echo "fetch-userland: unknown architecture '$arch' (amd64 or arm64)" >&2; exit 2 ;;
esac
stamp="$stage.stamp"
programs=(/usr/bin/mkdir /usr/bin/cp /usr/bin/ln /usr/bin/ls /usr/bin/cat /usr/bin/stat /usr/bin/sha256sum
          /usr/bin/head /usr/bin/rm /usr/bin/touch /usr/bin/chmod /usr/bin/readlink /usr/bin/dd /usr/bin/sort
          /usr/bin/wc /usr/bin/id /usr/bin/uname /usr/bin/date /usr/bin/find /usr/bin/tar /usr/bin/gzip
          /usr/bin/python3.11)
pylib=/usr/lib/python3.11

command -v ldd >/dev/null || die "needs ldd (a Debian host)"
for p in "${programs[@]}"; do
  [[ -x $p ]] || die "$p missing on the host (apt-get install coreutils tar gzip python3.11-minimal)"
done
[[ -f $pylib/os.py ]] || die "$pylib/os.py missing on the host (apt-get install libpython3.11-stdlib)"

host_libs() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'; }
# The standard library files the workload imports: "# X.pyc matches Y.py" from -v.
# The workload runs in a directory of our own (its argument), removed afterwards.
python_files() {
  local dir
  dir=$(mktemp -d)
  (cd "$dir" && HOME=/nonexistent /usr/bin/python3.11 -I -v "$guest/workload/userland.py" "$dir/work" 2>&1 >/dev/null) |
    awk -v lib="$pylib/" '$1 == "#" && $3 == "matches" && index($4, lib) == 1 { print $2; print $4 }'
  echo "$pylib/os.py"   # python's landmark for its prefix
  rm -rf "$dir"
}

# arm64: the Debian packages holding the host files named on stdin (one dpkg -S; with
# merged /usr dpkg knows /bin/ls as such, so each path is asked with and without /usr).
host_packages() {
  local -a files=() asked=()
  local f
  mapfile -t files
  for f in "${files[@]}"; do
    case "$f" in /usr/*) asked+=("$f" "${f#/usr}") ;; *) asked+=("$f" "/usr$f") ;; esac
  done
  local found
  found=$(dpkg -S "${asked[@]}" 2>/dev/null || true)
  for f in "${files[@]}"; do
    grep -qE ": (/usr)?${f#/usr}\$" <<<"$found" || die "no Debian package holds $f on the host"
  done
  awk -F': ' '{ n = split($1, p, ", "); for (i = 1; i <= n; i++) { sub(/:.*/, "", p[i]); print p[i] } }' <<<"$found" |
    sort -u
}
arm64_debs=()
if [[ $arch == arm64 ]]; then
  pyfiles=$(python_files | sort -u)
  pkgs=$({ printf '%s\n' "${programs[@]}"; for p in "${programs[@]}"; do host_libs "$p"; done
           grep '\.py$' <<<"$pyfiles"; } | sort -u | host_packages)
  mapfile -t arm64_debs < <(fetch_debs arm64 $pkgs)
  [[ ${#arm64_debs[@]} -eq $(wc -w <<<"$pkgs") ]] || exit 1   # fetch_debs said why
fi

inputs_hash() {
  { if [[ $arch == amd64 ]]; then
      sha256sum "$0" "$guest/initramfs-lib.sh" "$guest"/workload/userland.* "${programs[@]}" \
        $(for p in "${programs[@]}"; do host_libs "$p"; done | sort -u)
    else
      sha256sum "$0" "$guest/initramfs-lib.sh" "$guest"/workload/userland.* "${arm64_debs[@]}" /usr/bin/python3.11
    fi | awk '{ print $1 }'
    cat "$stage/.python-files" 2>/dev/null || true
  } | sha256sum | awk '{ print $1 }'
}
want=$(inputs_hash)
if [[ -x $stage/usr/bin/python3 && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

tmp=$(mktemp -d "$cache/userland.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out="$tmp/root"
mkdir -p "$out/usr/bin" "$out/lib/$triplet" "$out/usr/lib/vmitrace" "$out$pylib/lib-dynload"
if [[ $arch == arm64 ]]; then echo "$pyfiles" >"$out/.python-files"; else python_files | sort -u >"$out/.python-files"; fi
[[ $(wc -l <"$out/.python-files") -gt 10 ]] || die "python3 -v named too few standard library files"

if [[ $arch == amd64 ]]; then
  for p in "${programs[@]}"; do cp "$p" "$out/usr/bin/"; done
  for lib in $(for p in "${programs[@]}"; do host_libs "$p"; done | sort -u); do
    cp -L "$lib" "$out/lib/$triplet/$(basename "$lib")"
  done
  while read -r f; do
    mkdir -p "$out$(dirname "$f")"
    cp -p "$f" "$out$f"   # -p: the .pyc records its source's mtime
  done <"$out/.python-files"
else
  x="$tmp/x"
  for deb in "${arm64_debs[@]}"; do dpkg -x "$deb" "$x"; done
  inside() {  # inside PATH: PATH in the unpacked packages, symlinks resolved inside them
    local f=$x$1 t n=0
    [[ -e $f || -L $f ]] || f=$x${1#/usr}
    while [[ -L $f && $n -lt 8 ]]; do
      t=$(readlink "$f")
      if [[ $t == /* ]]; then f=$x$t; else f=$(dirname "$f")/$t; fi
      n=$((n + 1))
    done
    [[ -f $f ]] || die "$1 is in none of the unpacked arm64 packages"
    echo "$f"
  }
  for p in "${programs[@]}"; do
    src=$(inside "$p")
    file -b "$src" | grep -q 'ARM aarch64' || die "$src is not an arm64 program"
    cp "$src" "$out/usr/bin/"
  done
  copy_needed "$x" "$out" "$out"/usr/bin/*
  sources=()
  while read -r f; do
    mkdir -p "$out$(dirname "$f")"
    cp -p "$(inside "$f")" "$out$f"
    sources+=("$out$f")
  done < <(grep '\.py$' "$out/.python-files")
  # The .pyc files Debian's postinst makes (timestamp-checked, named by their guest path).
  /usr/bin/python3.11 -c '
import py_compile, sys
root = sys.argv[1]
for f in sys.argv[2:]:
    py_compile.compile(f, dfile=f[len(root):], doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
' "$out" "${sources[@]}"
fi
ln -s python3.11 "$out/usr/bin/python3"
cp "$guest/workload/userland.sh" "$guest/workload/userland.py" "$out/usr/lib/vmitrace/"

rm -rf "$stage"
mv "$out" "$stage"
inputs_hash >"$stamp"
echo "fetch-userland: staged ${#programs[@]} $arch programs, $(ls "$stage/lib/$triplet" | wc -l) shared objects and" \
  "$(grep -c . "$stage/.python-files") python files in $stage"
