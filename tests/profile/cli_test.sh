#!/usr/bin/env bash
# `vmitrace profile` from the command line: bad input gives exactly one line on
# stderr naming the file and a non-zero exit; a good image gives a profile and a
# one-line summary; --info reads any ISF.
#   cli_test.sh VMITRACE REPO_ROOT
set -uo pipefail
vmitrace=${1:?usage: cli_test.sh VMITRACE REPO_ROOT}
repo=${2:?usage: cli_test.sh VMITRACE REPO_ROOT}
[[ -x $vmitrace ]] || { echo "FAIL: $vmitrace not built"; exit 1; }
work=$(mktemp -d /tmp/vmitrace-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_error NAME MUST_CONTAIN CMD...: non-zero exit, one stderr line containing MUST_CONTAIN.
expect_error() {
  local name=$1 want=$2; shift 2
  "$@" >"$work/out" 2>"$work/err"
  local rc=$? lines
  lines=$(wc -l <"$work/err")
  if [[ $rc -eq 0 ]]; then fail "$name: exit status 0"; return; fi
  if [[ $rc -ge 128 ]]; then fail "$name: killed by a signal (rc $rc)"; return; fi
  if [[ $lines -ne 1 ]]; then fail "$name: $lines lines on stderr:"; cat "$work/err"; return; fi
  if ! grep -qF -- "$want" "$work/err"; then fail "$name: stderr lacks '$want': $(cat "$work/err")"; return; fi
  echo "ok   $name: $(cat "$work/err")"
}

: >"$work/empty"
printf 'not a kernel\n' >"$work/text"
printf '{"metadata": {"format": "6.2.0"}, "base_types": {"int": ' >"$work/trunc.json"
printf '{"hello": "world"}' >"$work/other.json"
expect_error "missing image" "$work/nope: No such file or directory" "$vmitrace" profile "$work/nope" -o "$work/p.json"
expect_error "directory" "$work: is a directory" "$vmitrace" profile "$work" -o "$work/p.json"
expect_error "empty image" "$work/empty: empty file" "$vmitrace" profile "$work/empty" -o "$work/p.json"
expect_error "not an image" "$work/text: not a Linux kernel image" "$vmitrace" profile "$work/text" -o "$work/p.json"
expect_error "an ELF program" "/bin/ls: not a Linux kernel image" "$vmitrace" profile /bin/ls -o "$work/p.json"
expect_error "missing --output" "--output" "$vmitrace" profile "$work/text"
expect_error "info: truncated JSON" "$work/trunc.json: invalid JSON" "$vmitrace" profile --info "$work/trunc.json"
expect_error "info: not an ISF" "$work/other.json: not an ISF file" "$vmitrace" profile --info "$work/other.json"
expect_error "info: missing" "$work/none.json: No such file or directory" "$vmitrace" profile --info "$work/none.json"
[[ -n $(find "$work" -name '*p.json*') ]] && fail "a failed run left an output file: $(find "$work" -name '*p.json*')"

"$vmitrace" profile --help >"$work/help" 2>&1 || fail "profile --help exit status"
grep -q -- "--system-map" "$work/help" || fail "profile --help does not mention --system-map"

img="$repo/.cache/guest/kernel-6.12/vmlinuz"
if [[ -s $img ]]; then
  head -c 2000000 "$img" >"$work/trunc-vmlinuz"
  expect_error "truncated bzImage" "$work/trunc-vmlinuz: truncated bzImage" "$vmitrace" profile "$work/trunc-vmlinuz" -o "$work/p.json"
  expect_error "placeholder System.map" "no _text/_stext symbol" \
    "$vmitrace" profile "$img" -o "$work/p.json" --system-map "$repo/.cache/guest/kernel-6.12/System.map"
  if "$vmitrace" profile "$img" -o "$work/p.json" 2>"$work/err"; then
    [[ $(wc -l <"$work/err") -eq 1 ]] || fail "build: summary is not one line: $(cat "$work/err")"
    grep -q "symbols (kallsyms)" "$work/err" || fail "build: summary lacks the symbol count: $(cat "$work/err")"
    echo "ok   build: $(cat "$work/err")"
    "$vmitrace" profile --info "$work/p.json" >"$work/info" 2>&1 || fail "--info on our own profile"
    grep -q "^banner: *Linux version 6.12" "$work/info" || fail "--info lacks the banner: $(cat "$work/info")"
  else
    fail "build from $img: $(cat "$work/err")"
  fi
  # -o never destroys what it was not asked to write (common/write_file.hpp).
  cp "$img" "$work/vmlinuz-copy"
  expect_error "output is the image" "$work/vmlinuz-copy: is also the kernel image" \
    "$vmitrace" profile "$work/vmlinuz-copy" -o "$work/vmlinuz-copy"
  cmp -s "$img" "$work/vmlinuz-copy" || fail "output is the image: the image was changed"
  mkdir "$work/real"
  printf 'old' >"$work/real/target.json"
  ln -s real/target.json "$work/link.json"
  printf 'precious' >"$work/victim"
  ln -s victim "$work/link.json.tmp"  # the name the old writer used for its temporary file
  "$vmitrace" profile "$img" -o "$work/link.json" 2>"$work/err" || fail "-o LINK: $(cat "$work/err")"
  [[ -L $work/link.json ]] || fail "-o LINK: the link was replaced"
  cmp -s "$work/p.json" "$work/real/target.json" || fail "-o LINK: the link's target does not hold the profile"
  [[ $(cat "$work/victim") == precious ]] || fail "-o LINK: a file behind OUT.tmp was overwritten"
  [[ $(ls -A "$work/real") == target.json ]] || fail "-o LINK: left behind: $(ls -A "$work/real")"
  ln -s nowhere.json "$work/dangling.json"
  expect_error "output is a dangling link" "$work/dangling.json: is a symbolic link to a file that does not exist" \
    "$vmitrace" profile "$img" -o "$work/dangling.json"
  [[ -e $work/nowhere.json ]] && fail "-o DANGLING: the link's target was created"
  # Devices and pipes are written directly, never replaced by a regular file.
  size=$("$vmitrace" profile "$img" -o /dev/stdout 2>"$work/err" | wc -c)
  [[ $size -eq $(stat -c %s "$work/p.json") ]] || fail "-o /dev/stdout into a pipe: $size bytes ($(cat "$work/err"))"
  "$vmitrace" profile "$img" -o /dev/null 2>"$work/err" || fail "-o /dev/null: $(cat "$work/err")"
  [[ -L /dev/stdout && -c /dev/null ]] || fail "/dev/stdout or /dev/null was replaced"
  echo "ok   -o: link target written, link kept, planted .tmp link untouched, /dev/stdout and /dev/null written in place"
else
  echo "skip image cases: $img missing (run guest/setup.sh)"
fi

# Kernels without BTF (the 32-bit lab's 686-pae): --debug-file errors, all before pahole runs.
k686="$repo/.cache/guest/kernel-686"
if [[ -s $k686/vmlinux-dbg && -s $img ]]; then
  expect_error "no BTF, no debug file" "give its DWARF with --debug-file" "$vmitrace" profile "$k686/vmlinuz" -o "$work/d.json"
  expect_error "debug file missing" "$work/nope: No such file or directory" \
    "$vmitrace" profile "$k686/vmlinuz" --debug-file "$work/nope" -o "$work/d.json"
  expect_error "debug file of another kernel" "$k686/vmlinux-dbg: does not match $img: a 32-bit ELF for a 64-bit kernel image" \
    "$vmitrace" profile "$img" --debug-file "$k686/vmlinux-dbg" -o "$work/d.json"
  head -c 4000000 "$k686/vmlinux-dbg" >"$work/trunc-dbg"
  expect_error "truncated debug file" "$work/trunc-dbg: truncated ELF" \
    "$vmitrace" profile "$k686/vmlinuz" --debug-file "$work/trunc-dbg" -o "$work/d.json"
  expect_error "debug file that is not ELF" "$work/text: not an ELF file" \
    "$vmitrace" profile "$k686/vmlinuz" --debug-file "$work/text" -o "$work/d.json"
  [[ -n $(find "$work" -name '*d.json*') ]] && fail "a failed --debug-file run left an output file"
  grep -q -- "--debug-file" "$work/help" || fail "profile --help does not mention --debug-file"
else
  echo "skip --debug-file cases: $k686/vmlinux-dbg missing (guest/fetch-kernel-686.sh)"
fi

# arm64 (issue 18): Debian's arm64 vmlinuz (a flat Image with an EFI stub) gives a
# profile that says arm64 and holds what the tracer reads; bad images fail in one line.
for k in arm64-6.1 arm64-6.12; do
  aimg="$repo/.cache/guest/kernel-$k/vmlinuz"
  if [[ ! -s $aimg ]]; then echo "skip $k cases: $aimg missing (run guest/setup.sh)"; continue; fi
  head -c 4000000 "$aimg" >"$work/trunc-$k"
  expect_error "truncated arm64 Image ($k)" "$work/trunc-$k: truncated arm64 Image (its PE header describes" \
    "$vmitrace" profile "$work/trunc-$k" -o "$work/a.json"
  head -c 80 "$aimg" >"$work/head-$k"
  expect_error "arm64 Image header only ($k)" "$work/head-$k: truncated or damaged arm64 Image" \
    "$vmitrace" profile "$work/head-$k" -o "$work/a.json"
  [[ -e $work/a.json ]] && fail "a failed arm64 run left an output file"
  expect_error "x86-64 debug file for an arm64 image ($k)" "/bin/ls: does not match $aimg: an ELF for x86_64, the kernel image is arm64" \
    "$vmitrace" profile "$aimg" --debug-file /bin/ls -o "$work/a.json"
  if ! "$vmitrace" profile "$aimg" -o "$work/$k.json" 2>"$work/err"; then fail "build from $aimg: $(cat "$work/err")"; continue; fi
  "$vmitrace" profile --info "$work/$k.json" >"$work/info" 2>&1 || fail "--info on the $k profile"
  grep -q "^arch: *arm64" "$work/info" || fail "--info of $k does not say arm64: $(cat "$work/info")"
  # What the tracer reads (the x86 path's checks, kernel_image_test, with arm64's names).
  python3 - "$work/$k.json" "$k" <<'PY' || fail "$k: profile lacks what the tracer needs"
import json, sys
isf, k = json.load(open(sys.argv[1])), sys.argv[2]
syms, types = isf["symbols"], isf["user_types"]
bad = []
if isf["metadata"]["producer"].get("architecture") != "arm64": bad.append("metadata.producer.architecture")
text = syms.get("_text", {}).get("address", 0)
if text < 0xffff800000000000 or text % 0x10000: bad.append(f"_text {text:#x}")
for s in ["_stext", "invoke_syscall", "do_el0_svc", "do_el0_svc_compat", "el0_svc", "el0_svc_compat",
          "__arm64_sys_openat", "__arm64_compat_sys_openat", "syscall_trace_exit", "vectors", "linux_banner"]:
    a = syms.get(s, {}).get("address", 0)
    if not text < a < text + (64 << 20): bad.append(f"symbol {s}")
if not syms.get("linux_banner", {}).get("constant_data"): bad.append("linux_banner data")
def has(t, f):
    u = types.get(t, {}).get("fields", {})
    return f in u or any(has(v["type"].get("name", ""), f) for n, v in u.items() if n.startswith("unnamed_field"))
for t, fs in {"task_struct": ["pid", "tgid", "comm", "real_parent", "cred", "group_leader", "mm"],
              "cred": ["uid", "euid", "gid"],
              "pt_regs": ["regs", "sp", "pc", "pstate", "orig_x0", "syscallno"]}.items():
    bad += [f"{t}.{f}" for f in fs if not has(t, f)]
if bad: print(f"FAIL {k}: missing or wrong: {', '.join(bad)}")
sys.exit(1 if bad else 0)
PY
  echo "ok   $k: $(cat "$work/err")"
done

# --from-vm: option errors before any connection, an endpoint that is not there
# (a guest is profiled by tests/gdb/profile_from_vm_test.py).
expect_error "from-vm: no socket" "unix:$work/none.sock: cannot connect" "$vmitrace" profile --from-vm "unix:$work/none.sock" -o "$work/vm.json"
expect_error "from-vm: bad endpoint" "expected unix:PATH or tcp:HOST:PORT" "$vmitrace" profile --from-vm "$work/none.sock" -o "$work/vm.json"
expect_error "from-vm: and an image" "give no IMAGE" "$vmitrace" profile --from-vm "unix:$work/none.sock" "$work/text" -o "$work/vm.json"
expect_error "from-vm: no --output" "--output" "$vmitrace" profile --from-vm "unix:$work/none.sock"
expect_error "guest-ram without from-vm" "--guest-ram goes with --from-vm" "$vmitrace" profile --guest-ram "$work/empty" "$work/text" -o "$work/vm.json"
expect_error "from-vm: missing RAM file" "$work/none.ram" "$vmitrace" profile --from-vm "unix:$work/none.sock" --guest-ram "$work/none.ram" -o "$work/vm.json"
[[ -e $work/vm.json || -e $work/vm.json.tmp ]] && fail "a failed --from-vm left an output file"

win="$repo/../shared/data/windows-isf/ntkrnlmp-0B0A89438BE7729EB33FD00A7D6FA816-1.json.xz"
if [[ -s $win ]]; then
  "$vmitrace" profile --info "$win" >"$work/info" 2>&1 || fail "--info on the Windows profile: $(cat "$work/info")"
  grep -q "GUID 0B0A89438BE7729EB33FD00A7D6FA816 age 1" "$work/info" || fail "--info lacks the PDB GUID: $(cat "$work/info")"
  echo "ok   info on a Volatility3 Windows profile"
else
  echo "skip Windows --info case: $win missing"
fi
[[ $fails -eq 0 ]] || { echo "$fails failure(s)"; exit 1; }
echo "all CLI cases passed"
