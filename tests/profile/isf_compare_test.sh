#!/usr/bin/env bash
# vmitrace's ISF of the 6.1 lab kernel (from its vmlinuz alone) against a dwarf2json
# ISF of the same kernel (../shared/data/linux-isf, made from the -dbg package's
# vmlinux): tests/profile/isf_compare.py must find no difference in the types of the
# globals of data/linux-isf-globals.tsv nor in any type reachable from them.
#
#   isf_compare_test.sh VMITRACE REPO_ROOT
# Exit: 0 pass, 1 differences/failure, 77 (meson "skip") when an input is absent.
set -uo pipefail
vmitrace=${1:?usage: isf_compare_test.sh VMITRACE REPO_ROOT}
repo=${2:?usage: isf_compare_test.sh VMITRACE REPO_ROOT}
release=6.1.0-57-cloud-amd64
theirs="$repo/../shared/data/linux-isf/dwarf2json_$release.json.xz"
image="$repo/.cache/guest/kernel-6.1/vmlinuz"
if [[ ! -s $theirs ]]; then echo "SKIP: $theirs missing (the dwarf2json reference)"; exit 77; fi
if [[ ! -s $image ]]; then echo "SKIP: $image missing (run guest/setup.sh)"; exit 77; fi
if [[ $(cat "$repo/.cache/guest/kernel-6.1/release") != "$release" ]]; then
  echo "SKIP: the 6.1 lab kernel is $(cat "$repo/.cache/guest/kernel-6.1/release"), the dwarf2json reference is $release"
  exit 77
fi
work=$(mktemp -d /tmp/vmitrace-isfcmp-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$vmitrace" profile "$image" -o "$work/ours.json" 2>"$work/notes" || { echo "FAIL: vmitrace profile"; cat "$work/notes"; exit 1; }
if grep -q "left untyped" "$work/notes"; then echo "FAIL: globals left untyped:"; cat "$work/notes"; exit 1; fi
python3 "$repo/tests/profile/isf_compare.py" "$work/ours.json" "$theirs" || exit 1
# The tool must see a difference: one field moved, _Bool unsigned, a global untyped.
python3 - "$work/ours.json" "$work/broken.json" <<'PY'
import json, sys
isf = json.load(open(sys.argv[1]))
isf["user_types"]["task_struct"]["fields"]["pid"]["offset"] += 4
isf["base_types"]["_Bool"]["signed"] = False
del isf["symbols"]["prb"]["type"]
json.dump(isf, open(sys.argv[2], "w"))
PY
out=$(python3 "$repo/tests/profile/isf_compare.py" "$work/broken.json" "$theirs")
status=$?
for want in "type task_struct: field pid offset" "base type _Bool: signed False != True" "symbol prb: untyped"; do
  if [[ $status != 1 || $out != *"$want"* ]]; then
    echo "FAIL: a damaged ISF was not reported ($want; exit $status):"; echo "$out" | head -5; exit 1
  fi
done
echo "a damaged ISF is reported: $(echo "$out" | head -1)"
