#!/usr/bin/env bash
# Symbol RVAs from our kallsyms extraction equal the ones the booted lab guest
# reads from its own /proc/kallsyms (printed as `GT ksym NAME ADDR` on the serial
# console), for both lab kernels (or the arm64 lab's: arm64-6.1 arm64-6.12).
# RVA = address - _text: KASLR moves the base at every boot, the distances stay.
# The arm64 6.1 guest lists no _text (no CONFIG_KALLSYMS_ALL): there the distances
# are taken from _stext, and the profile's _text (from the Image) must lie 64 KiB
# below it, where the guest's _stext says the Image starts.
#
#   kallsyms_rva_test.sh VMITRACE REPO_ROOT [KERNEL...]     (default kernels: 6.1 6.12)
# Exit: 0 pass, 1 mismatch/failure, 77 (meson "skip") when the lab is not set up.
set -uo pipefail
vmitrace=${1:?usage: kallsyms_rva_test.sh VMITRACE REPO_ROOT [KERNEL...]}
repo=${2:?usage: kallsyms_rva_test.sh VMITRACE REPO_ROOT [KERNEL...]}
shift 2
kernels=("$@")
[[ ${#kernels[@]} -gt 0 ]] || kernels=(6.1 6.12)

launch="$repo/guest/launch.sh"
if [[ ! -x $launch ]]; then echo "SKIP: $launch missing (guest lab not written yet)"; exit 77; fi
if [[ ! -x $vmitrace ]]; then echo "FAIL: $vmitrace not built"; exit 1; fi

work=$(mktemp -d /tmp/vmitrace-rva-XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0 ran=0
for k in "${kernels[@]}"; do
  vmlinuz="$repo/.cache/guest/kernel-$k/vmlinuz"
  if [[ ! -s $vmlinuz ]]; then echo "SKIP $k: $vmlinuz missing (run guest/setup.sh)"; continue; fi
  log="$work/serial-$k.log"
  if ! "$launch" --kernel "$k" --workload none --log "$log" --timeout 240 >"$work/launch-$k.out" 2>&1; then
    echo "FAIL $k: guest/launch.sh exited non-zero:"; tail -n 5 "$work/launch-$k.out" "$log" 2>/dev/null
    status=1; continue
  fi
  json="$work/profile-$k.json"
  if ! "$vmitrace" profile "$vmlinuz" --output "$json"; then
    echo "FAIL $k: vmitrace profile failed"; status=1; continue
  fi
  ran=$((ran + 1))
  python3 - "$log" "$json" "$k" <<'PY' || status=1
import json, sys
log, prof, k = sys.argv[1:4]
guest = {}
for line in open(log, errors="replace"):
    parts = line.strip().split()
    if len(parts) == 4 and parts[:2] == ["GT", "ksym"]:
        guest[parts[2]] = int(parts[3], 16)
isf = json.load(open(prof))
syms = isf["symbols"]
arch = isf["metadata"]["producer"].get("architecture")
ok = True
def fail(msg):
    global ok
    ok = False
    print(f"FAIL {k}: {msg}")
want_arch = "arm64" if k.startswith("arm64-") else "x86_64"
if arch != want_arch: fail(f"profile architecture {arch}, expected {want_arch}")
base = "_text" if "_text" in guest or arch != "arm64" else "_stext"
if base not in guest:
    fail(f"the guest printed no 'GT ksym {base}' line"); sys.exit(1)
base_g, base_p = guest[base], syms[base]["address"]
print(f"{k}: guest {base} {base_g:#x} (KASLR slide {base_g - base_p:#x})")
if arch == "arm64":
    names = ["invoke_syscall", "do_el0_svc", "do_el0_svc_compat", "el0_svc", "el0_svc_compat", "_stext"]
    names += [n for n in ("_text", "linux_banner", "sys_call_table", "compat_sys_call_table") if n in guest]
    if "_text" in syms and syms["_stext"]["address"] - syms["_text"]["address"] != 0x10000:
        fail("profile _text is not 64 KiB below _stext")
else:
    names = ["x64_sys_call", "ia32_sys_call", "do_syscall_64", "int80_emulation", "linux_banner", "_stext", "_text"]
for name in names:
    if name not in guest: fail(f"guest printed no 'GT ksym {name}'"); continue
    if name not in syms: fail(f"{name} missing from the profile"); continue
    rg, rp = guest[name] - base_g, syms[name]["address"] - base_p
    print(f"  {name:<22} guest RVA {rg:#10x}  profile RVA {rp:#10x}  {'ok' if rg == rp else 'MISMATCH'}")
    if rg != rp: fail(f"{name}: RVA differs")
# Per-CPU symbols are offsets into the per-CPU area, not moved by KASLR.
for name in ["current_task", "pcpu_hot"]:
    if name in guest:
        p = syms.get(name, {}).get("address")
        print(f"  {name:<16} guest {guest[name]:#10x}  profile {p if p is None else hex(p)}")
        if p != guest[name]: fail(f"per-CPU {name} differs")
sys.exit(0 if ok else 1)
PY
done
if [[ $ran -eq 0 && $status -eq 0 ]]; then echo "SKIP: no lab kernel ran"; exit 77; fi
exit $status
