#!/usr/bin/env bash
# Writes the seed corpora into CORPUS_DIR/<target>/, from real inputs made at run
# time: the lab kernel's profile (vmitrace profile), its bzImage header, streams
# compressed by the real tools, BTF that pahole encodes, the syscall table's names,
# records and rings written by the real Builder/EventRing (the targets' seed mode).
# Usage: fuzz/seeds.sh BUILD_FUZZ_DIR CORPUS_DIR [VMITRACE]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bdir="$1"; corpus="$2"; vmitrace="${3:-$root/build/vmitrace}"
kernel="$root/.cache/guest/kernel-6.1/vmlinuz"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
source "$root/fuzz/targets.sh"
for t in "${fuzz_targets[@]}"; do mkdir -p "$corpus/$t"; done

# ISF: the lab kernel's real profile, cut down to a few types and symbols (the
# whole file is megabytes: too slow per execution), plus the full metadata.
if [[ -x "$vmitrace" && -f "$kernel" ]]; then
  "$vmitrace" profile "$kernel" --output "$tmp/kernel.json" >/dev/null 2>&1 || true
fi
if [[ -s "$tmp/kernel.json" ]]; then
  python3 - "$tmp/kernel.json" "$corpus/fuzz_isf" <<'PY'
import json, sys
isf = json.load(open(sys.argv[1])); out = sys.argv[2]
keep_types = ["task_struct", "cred", "pt_regs", "list_head", "pcpu_hot", "mm_struct"]
for i, n in enumerate([4, 40]):
    small = dict(isf)
    small["user_types"] = {k: v for k, v in list(isf["user_types"].items())[:n]}
    for k in keep_types[: i * 6 + 2]:
        if k in isf["user_types"]: small["user_types"][k] = isf["user_types"][k]
    small["enums"] = dict(list(isf.get("enums", {}).items())[:n // 4 + 1])
    syms = list(isf["symbols"].items())[:n]
    for k in ["linux_banner", "current_task", "x64_sys_call"]:
        if k in isf["symbols"]: syms.append((k, isf["symbols"][k]))
    small["symbols"] = dict(syms)
    json.dump(small, open(f"{out}/lab61-{n}.json", "w"))
PY
else
  echo "seeds: no lab kernel or vmitrace binary: ISF seeds are minimal" >&2
fi
echo '{"metadata":{"format":"6.2.0"},"base_types":{},"user_types":{},"enums":{},"symbols":{}}' > "$corpus/fuzz_isf/min.json"

# Payloads: a small text compressed by each real tool; the lab bzImage's head
# (real setup header, truncated payload).
seq 1 2000 > "$tmp/text"
xz -kc "$tmp/text" > "$corpus/fuzz_decompress/text.xz"
xz -kc --format=lzma "$tmp/text" > "$corpus/fuzz_decompress/text.lzma"
xz -kc --x86 --lzma2 "$tmp/text" > "$corpus/fuzz_decompress/text-bcj.xz"
gzip -c "$tmp/text" > "$corpus/fuzz_decompress/text.gz"
zstd -qc "$tmp/text" > "$corpus/fuzz_decompress/text.zst"
lz4 -qlc "$tmp/text" > "$corpus/fuzz_decompress/text.lz4"
[[ -f "$kernel" ]] && head -c 65536 "$kernel" > "$corpus/fuzz_decompress/bzimage-head"
# arm64 (issue 18): the head of the arm64 lab's Image (its header and PE header);
# an EFI zboot wrapper around a gzip'd Image head.
arm64="$root/.cache/guest/kernel-arm64-6.1/vmlinuz"
if [[ -f "$arm64" ]]; then
  head -c 65536 "$arm64" > "$corpus/fuzz_decompress/arm64-image-head"
  head -c 4096 "$arm64" | gzip -c > "$tmp/img.gz"
  python3 - "$tmp/img.gz" "$corpus/fuzz_decompress/arm64-zboot" <<'PY'
import struct, sys
payload = open(sys.argv[1], "rb").read()
hdr = bytearray(0x200)
hdr[0:2] = b"MZ"; hdr[4:8] = b"zimg"
struct.pack_into("<II", hdr, 8, 0x200, len(payload))
hdr[0x18:0x1c] = b"gzip"
open(sys.argv[2], "wb").write(bytes(hdr) + payload + b"\0\0\0\0")
PY
fi

# ELF / kallsyms: small real ELF files of this machine.
cp /usr/bin/true "$corpus/fuzz_kallsyms/true.elf"
printf 'int x = 1; int f(void) { return x; }\n' > "$tmp/o.c"
gcc -g -c "$tmp/o.c" -o "$corpus/fuzz_kallsyms/o.elf"

# BTF: pahole encodes the types of a small C file.
cat > "$tmp/t.c" <<'C'
struct list_head { struct list_head *next, *prev; };
enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_MAX };
union u { int a; char b[3]; };
struct task_struct { volatile long state; struct list_head tasks; int pid, tgid;
  unsigned flags : 3, bits : 5; char comm[16]; const struct task_struct *parent;
  union u u; enum pid_type t; void (*fn)(int); };
typedef struct task_struct task_t;
task_t init_task; int nr_threads;
C
gcc -g -c "$tmp/t.c" -o "$tmp/t.o"
pahole --btf_encode_detached="$corpus/fuzz_btf/task.btf" "$tmp/t.o"

# Filter files: names from the syscall table, with comments and blanks.
{ echo "# lab filter"; awk '!/^#/ && NF >= 2 {print $2}' "$root/data/linux-x64.tbl" | head -20
  echo "  openat  # trailing"; echo; echo "not_a_syscall"; } > "$corpus/fuzz_filter/names.txt"

# Records and rings: the targets write them with the real code.
VMITRACE_FUZZ_SEEDS="$corpus/fuzz_format" "$bdir/fuzz/fuzz_format"
VMITRACE_FUZZ_SEEDS="$corpus/fuzz_ring" "$bdir/fuzz/fuzz_ring"
# Stub replies, page tables, tasks and syscall frames, also written by the targets;
# Windows: synthetic guests laid out with our ISFs and the real ones of ../shared/data
# (when present): image headers, calls, and the records the real tracer writes.
for t in memprofile rsp paging task plugin win_pe win_os win_tracer win_format; do
  VMITRACE_FUZZ_SEEDS="$corpus/fuzz_$t" "$bdir/fuzz/fuzz_$t"
done
