#!/usr/bin/env bash
# Stages real Debian programs for the lab's `userland` workload (the strace
# comparison on ordinary programs): the host's coreutils, find, tar, gzip and python3.11
# (the host is Debian bookworm, as the guest's strace and libraries are), the shared
# objects ldd names for them, the part of python's standard library the workload
# imports (found by running it on the host with `python3 -v`) and the workload
# itself (guest/workload/userland.{sh,py}), into .cache/guest/userland-root/ (a
# tree build-initramfs.sh merges into the userland archive). Nothing is installed.
# Idempotent: a stamp holding the inputs' hashes skips the work when nothing changed.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
guest="$repo/guest"
cache="$repo/.cache/guest"
stage="$cache/userland-root"
stamp="$cache/userland-root.stamp"
programs=(/usr/bin/mkdir /usr/bin/cp /usr/bin/ln /usr/bin/ls /usr/bin/cat /usr/bin/stat /usr/bin/sha256sum
          /usr/bin/head /usr/bin/rm /usr/bin/touch /usr/bin/chmod /usr/bin/readlink /usr/bin/dd /usr/bin/sort
          /usr/bin/wc /usr/bin/id /usr/bin/uname /usr/bin/date /usr/bin/find /usr/bin/tar /usr/bin/gzip
          /usr/bin/python3.11)
pylib=/usr/lib/python3.11

die() { echo "fetch-userland: $*" >&2; exit 1; }
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

inputs_hash() {
  { sha256sum "$0" "$guest"/workload/userland.* "${programs[@]}" $(for p in "${programs[@]}"; do host_libs "$p"; done | sort -u) |
      awk '{ print $1 }'
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
mkdir -p "$out/usr/bin" "$out/lib/x86_64-linux-gnu" "$out/usr/lib/vmitrace" "$out$pylib/lib-dynload"
for p in "${programs[@]}"; do cp "$p" "$out/usr/bin/"; done
ln -s python3.11 "$out/usr/bin/python3"
for lib in $(for p in "${programs[@]}"; do host_libs "$p"; done | sort -u); do
  cp -L "$lib" "$out/lib/x86_64-linux-gnu/$(basename "$lib")"
done
python_files | sort -u >"$out/.python-files"
[[ $(wc -l <"$out/.python-files") -gt 10 ]] || die "python3 -v named too few standard library files"
while read -r f; do
  mkdir -p "$out$(dirname "$f")"
  cp -p "$f" "$out$f"   # -p: the .pyc records its source's mtime
done <"$out/.python-files"
cp "$guest/workload/userland.sh" "$guest/workload/userland.py" "$out/usr/lib/vmitrace/"

rm -rf "$stage"
mv "$out" "$stage"
inputs_hash >"$stamp"
echo "fetch-userland: staged ${#programs[@]} programs, $(ls "$stage/lib/x86_64-linux-gnu" | wc -l) shared objects and" \
  "$(grep -c . "$stage/.python-files") python files in $stage"
