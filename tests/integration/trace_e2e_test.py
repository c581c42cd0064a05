#!/usr/bin/env python3
"""End-to-end: boot a lab guest (KASLR on, QEMU TCG) under `vmitrace run`, then check
the events against the ground truth the guest's workload printed on its console
(GT lines, guest/README.md).

usage: trace_e2e_test.py --build BUILD --kernel 6.1|6.12|686|arm64-6.1|arm64-6.12|arm64-16k
                        --variant full|smp2|filter|nosysret|mismatch|width|memory [--smp N]
                        [--disk debian-arm64]

686 is the 32-bit lab (i386 686-pae kernel without BTF, under qemu-system-i386): only
lab32 runs there, and its profile comes from the -dbg package's DWARF (built once into
.cache/guest/kernel-686/profile.json). `width` runs a profile of the other word size
(686 on a 64-bit guest, 6.1 on the 32-bit one): a one-line error and a non-zero exit.
`memory` runs with `--profile-from memory` (the QEMU module builds the profile from
guest memory, as for a guest booted from a disk image) and an empty profile cache: the
checks of `full`, the stderr line saying where the profile came from and what it cost,
the cached ISF equal to `vmitrace profile vmlinuz`'s; then a second, short run of the
same guest (--max-events) takes the profile from the cache and sees the same first
events. On 686 (no BTF in memory): a one-line error naming what is missing and the
routes that work, QEMU stopped, a non-zero exit.
arm64-* are Debian's arm64 kernels under qemu-system-aarch64: lab64 runs as an arm64
task (Type "arm64"), lab32 as an AArch32 one (Type "arm32", arm EABI numbers). Every
variant there also checks the hook plan and each event's Module, the execve of both
programs and their exit/exit_group calls (no return), CR3 (TTBR0) per address space
and the vCPUs; its filter adds execve, exit and exit_group to the list. --smp N runs
any variant on N vCPUs (smp2: 2). Their `memory` builds the profile from the kernel's
relocation table in memory (no wait for vmcoreinfo) and checks it the same way.
`--disk debian-arm64 --kernel arm64-6.1 --variant memory` boots the arm64 disk-image
guest instead (UEFI firmware, GRUB, the arm64-6.1 kernel and the lab's initramfs from
its EFI system partition): `vmitrace run` with neither -r nor -kernel nor
--profile-from, the same checks.
arm64-16k is Debian's 16 KiB-page arm64 kernel (47-bit VAs, 3 levels under the lab's
lpa2=off): the same checks, every user string and buffer read through 16 KiB pages
(the PAN walk), plus: its Image header says 16 KiB pages, no warning that user memory
was not read, and lab32 ran (a 64 KiB-aligned AArch32 program; Debian's 4 KiB-aligned
armhf busybox cannot run on such a kernel). Skipped when that kernel is not fetched.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_FILE64 = "/tmp/vmitrace-lab/file64.txt"
LAB_FILE32 = "/tmp/vmitrace-lab/file32.txt"
MISSING = "/nonexistent/vmitrace-missing"
FILTER = ["openat", "close", "mmap", "prctl", "nanosleep"]
# arm64 also filters calls that do not come back to their caller as others do: execve
# (returns into another program, AArch32 for lab32) and exit/exit_group (never return).
FILTER_ARM64 = FILTER + ["execve", "exit", "exit_group"]
# A syscall of the other architecture's ABIs only (x86: arm's compat fadvise; arm64: arch_prctl).
FOREIGN = {False: "arm_fadvise64_64", True: "arch_prctl"}
# GT lines use the kernel's function names; events use the syscall table's names.
GT_ALIASES = {"mmap_pgoff": "mmap2"}
RENAMED = {"lab64": "vmt-renamed", "lab32": "vmt-renamed32"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def parse_gt(console):
    """GT <prog> call <name> k=v ...  ->  {prog: {"start": {...}, "calls": [(name, {...})], ...}}"""
    progs = {}
    kv_re = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
    for line in console.splitlines():
        if not line.startswith("GT "):
            continue
        parts = line.split(" ", 3)
        if len(parts) < 3:
            continue
        prog, what = parts[1], parts[2]
        rest = parts[3] if len(parts) > 3 else ""
        entry = progs.setdefault(prog, {"calls": []})
        if what == "call":
            name, _, rest = rest.partition(" ")
            name = GT_ALIASES.get(name, name)
        kv = {}
        for k, v in kv_re.findall(rest):
            kv[k] = json.loads(v) if v.startswith('"') else v
        if what == "call":
            entry["calls"].append((name, kv))
        else:
            entry[what] = kv
    return progs


def load_events(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                ev = json.loads(line)
            except ValueError as e:
                check(False, f"events line {n} is not JSON: {e}: {line[:200]!r}")
                continue
            events.append(ev)
    return events


def check_schema(events):
    ints = ["PID", "PPID", "TID", "UserId", "vCPU", "Syscall"]
    uids = []
    for ev in events:
        plugin = ev.get("Plugin")
        if not check(plugin in ("syscall", "sysret"), f"bad Plugin in {ev}"):
            continue
        for k in ints + (["NArgs"] if plugin == "syscall" else []):
            check(isinstance(ev.get(k), int), f"{k} is not an int in {ev}")
        for k in ["TimeStamp", "ProcessName", "Method", "EventUID", "Module", "CR3"]:
            check(isinstance(ev.get(k), str), f"{k} is not a string in {ev}")
        check(re.fullmatch(r"\d+\.\d{6}", ev.get("TimeStamp", "")) is not None, f"TimeStamp {ev.get('TimeStamp')}")
        check(re.fullmatch(r"0x[0-9a-f]+", ev.get("CR3", "")) is not None, f"CR3 {ev.get('CR3')}")
        uids.append(int(ev["EventUID"], 16))
        if plugin == "syscall":
            fixed = {"Plugin", "TimeStamp", "PID", "PPID", "TID", "UserName", "UserId", "ProcessName",
                     "Method", "EventUID", "ThreadName", "Module", "vCPU", "CR3", "Syscall", "NArgs", "Type"}
            # <arg>_path keys (fd -> path) follow the arguments and are not counted.
            args = [k for k in ev if k not in fixed and not (k.endswith("_path") and k[:-5] in ev)]
            check(len(args) == ev["NArgs"], f"NArgs {ev['NArgs']} but {len(args)} arguments in {ev}")
            for k in ev:
                if k not in fixed:
                    check(isinstance(ev[k], str), f"argument {k} is not a string in {ev}")
            check(ev.get("Type") in ("x64", "x32", "arm64", "arm32"), f"Type in {ev}")
        else:
            check(re.fullmatch(r"0x[0-9a-f]+", ev.get("Ret", "")) is not None, f"Ret in {ev}")
            check(isinstance(ev.get("Info"), str), f"Info in {ev}")
            for k in ev:  # out arguments at return: strings too
                check(k in ("PID", "PPID", "TID", "UserId", "vCPU", "Syscall") or isinstance(ev[k], str),
                      f"sysret key {k} is not a string in {ev}")
    check(uids == list(range(uids[0], uids[0] + len(uids))) if uids else False, "EventUIDs are not contiguous")


def pair(events):
    """Entry events of one thread followed by their sysret (same TID, same Syscall)."""
    pending = {}
    pairs = []
    for ev in events:
        key = (ev["PID"], ev["TID"])
        if ev["Plugin"] == "syscall":
            pending[key] = ev
            pairs.append([ev, None])
        else:
            for p in reversed(pairs):
                if p[1] is None and (p[0]["PID"], p[0]["TID"]) == key and p[0]["Syscall"] == ev["Syscall"]:
                    p[1] = ev
                    break
    return pairs


def find(pairs, pid, tid, method, pred=lambda e: True):
    return [p for p in pairs if p[0]["PID"] == pid and p[0]["TID"] == tid
            and p[0]["Method"] == method and pred(p[0])]


def hexs(v):
    return hex(int(v, 0) & 0xffffffffffffffff)


def check_prog(pairs, gt, prog, typ, path, sysret, only=None):
    start = gt.get(prog, {}).get("start")
    if not check(start is not None, f"no GT start line for {prog}"):
        return
    pid, tid = int(start["pid"]), int(start["tid"])
    # The PID's events after its execve (before it, it is the shell's forked child).
    mine = [p for p in pairs if p[0]["PID"] == pid and p[0]["ProcessName"] in (prog, RENAMED[prog])]
    check(len(mine) > 0, f"{prog}: no event with PID {pid}")
    for p in mine:
        check(p[0]["Type"] == typ, f"{prog}: Type {p[0]['Type']} != {typ}: {p[0]}")
    # Every call the workload reports (of the traced set) is there, in this thread, with its result.
    for name, kv in gt[prog]["calls"]:
        if only is not None and name not in only:
            continue
        if name in ("exit", "exit_group"):
            continue
        cpid, ctid = int(kv["pid"]), int(kv["tid"])
        cands = find(pairs, cpid, ctid, name)
        if "filename" in kv:
            cands = [p for p in cands if p[0].get("filename") == kv["filename"]]
        if not check(cands, f"{prog}: no {name} event for pid {cpid} tid {ctid} ({kv})"):
            continue
        if sysret and "ret" in kv:
            want = hexs(kv["ret"]) if typ in ("x64", "arm64") else hex(int(kv["ret"], 0) & 0xffffffff)
            check(any(p[1] is not None and p[1]["Ret"] == want for p in cands),
                  f"{prog}: {name} {kv}: no sysret with Ret {want}: {[p[1] for p in cands]}")
            if "errno" in kv:
                check(any(p[1] is not None and p[1]["Info"] == kv["errno"] for p in cands),
                      f"{prog}: {name}: no sysret with Info {kv['errno']}")
    if only is None or "openat" in only:
        opens = find(pairs, pid, tid, "openat", lambda e: e.get("filename") == path)
        check(len(opens) >= 2, f"{prog}: openat of {path} seen {len(opens)} times")
        for p in opens:
            check(p[0]["ProcessName"] == prog, f"{prog}: ProcessName {p[0]['ProcessName']}")
            check(p[0]["ThreadName"] == prog, f"{prog}: ThreadName {p[0]['ThreadName']}")
            check(p[0]["UserId"] == 0 and p[0]["UserName"] == "root", f"{prog}: user in {p[0]}")
        miss = find(pairs, pid, tid, "openat", lambda e: e.get("filename") == MISSING)
        if check(miss, f"{prog}: no openat of {MISSING}") and sysret:
            check(miss[0][1] is not None and miss[0][1]["Info"] == "ENOENT", f"{prog}: missing path sysret {miss[0][1]}")
    mm = "mmap" if typ in ("x64", "arm64") else "mmap2"
    if only is None or mm in only:
        maps = find(pairs, pid, tid, mm, lambda e: e.get("prot") == "PROT_READ | PROT_WRITE")
        check(maps, f"{prog}: no {mm} with prot PROT_READ | PROT_WRITE")
    if only is None or "prctl" in only:
        pr = find(pairs, pid, tid, "prctl", lambda e: e.get("option") == "PR_SET_NAME")
        if check(pr, f"{prog}: no prctl PR_SET_NAME"):
            after = [p for p in mine if p[0]["EventUID"] > pr[0][0]["EventUID"]]
            check(any(p[0]["ThreadName"] == RENAMED[prog] for p in after),
                  f"{prog}: ThreadName not {RENAMED[prog]} after PR_SET_NAME")


def check_app_uid(events, gt):
    """The appuid process (su to uid 10052) under --user-names android: its entries
    after the switch carry UserId 10052 and Android's name for it, u0_a52; root stays root."""
    start = gt.get("appuid", {}).get("start")
    if not check(start is not None and start.get("uid") == "10052", f"no 'GT appuid start ... uid=10052': {start}"):
        return
    mine = [e for e in events if e["Plugin"] == "syscall" and e["PID"] == int(start["pid"])]
    app = [e for e in mine if e["UserId"] == 10052]
    check(app, f"appuid: no entry with UserId 10052 among {len(mine)} of pid {start['pid']}")
    check(all(e["UserName"] == "u0_a52" for e in app), f"appuid: UserName of uid 10052: {app[:1]}")
    root = [e for e in mine if e["UserId"] == 0]
    check(all(e["UserName"] == "root" for e in root), f"appuid: UserName of uid 0 before su: {root[:1]}")


def profile_686(vmitrace):
    """The 32-bit lab kernel's profile (DWARF via pahole), built once and kept in the lab cache."""
    kdir = os.path.join(ROOT, ".cache/guest/kernel-686")
    prof = os.path.join(kdir, "profile.json")
    if not os.path.exists(prof):
        subprocess.run([vmitrace, "profile", os.path.join(kdir, "vmlinuz"), "--debug-file",
                        os.path.join(kdir, "vmlinux-dbg"), "--output", prof], check=True)
    return prof
def check_fd_extras(pairs, gt, prog, path, capture, sysret=True):
    """fd -> path on entries, out arguments on sysrets (issue 4), from the lab's GT
    (sysret False: the entries' part only)."""
    calls = gt.get(prog, {}).get("calls", [])
    def gt_calls(name):
        return [kv for n, kv in calls if n == name]
    # The fd of the second openat (read back): read and close show its path.
    reads = gt_calls("read")
    if check(reads, f"{prog}: no GT read line"):
        kv = reads[0]
        pid, tid, fd = int(kv["pid"]), int(kv["tid"]), int(kv["fd"])
        rd = find(pairs, pid, tid, "read", lambda e: int(e["fd"], 0) == fd)
        if check(rd, f"{prog}: no read event on fd {fd}"):
            check(rd[0][0].get("fd_path") == path, f"{prog}: read fd_path {rd[0][0].get('fd_path')!r} != {path}")
            if capture:
                want = json.dumps(kv["data"][:capture]) + ("..." if len(kv["data"]) > capture else "")
                check(rd[0][1] is not None and rd[0][1].get("buf") == want,
                      f"{prog}: read sysret buf {rd[0][1] and rd[0][1].get('buf')!r} != {want}")
        cl = find(pairs, pid, tid, "close", lambda e: int(e["fd"], 0) == fd and e.get("fd_path") == path)
        check(cl, f"{prog}: no close of fd {fd} with fd_path {path}")
        # The console: the workload writes its GT lines to fd 1.
        wr = find(pairs, pid, tid, "write", lambda e: int(e["fd"], 0) == 1)
        check(wr and wr[0][0].get("fd_path", "").startswith("/dev/"),
              f"{prog}: write to fd 1 without a /dev/ path: {wr[:1]}")
    pipes = gt_calls("pipe2")
    if check(pipes, f"{prog}: no GT pipe2 line"):
        kv = pipes[0]
        pid, tid = int(kv["pid"]), int(kv["tid"])
        p2 = find(pairs, pid, tid, "pipe2")
        want = f"[{kv['fd0']}, {kv['fd1']}]"
        check(not sysret or p2 and p2[0][1] is not None and p2[0][1].get("fildes") == want,
              f"{prog}: pipe2 sysret fildes {p2[0][1] if p2 else None} != {want}")
        fd0 = int(kv["fd0"])
        fs = find(pairs, pid, tid, "fstat", lambda e: int(e["fd"], 0) == fd0)
        if check(fs, f"{prog}: no fstat of fd {fd0}"):
            check(re.fullmatch(r"pipe:\[\d+\]", fs[0][0].get("fd_path", "")) is not None,
                  f"{prog}: fstat fd_path {fs[0][0].get('fd_path')!r} is not pipe:[N]")
            st = fs[0][1].get("statbuf", "") if fs[0][1] else ""
            check(not sysret or st.startswith("{st_mode=S_IFIFO|0600, st_size=0"), f"{prog}: fstat statbuf {st!r}")
    socks = gt_calls("connect")
    if check(socks, f"{prog}: no GT connect line"):
        kv = socks[0]
        pid, tid, fd = int(kv["pid"]), int(kv["tid"]), int(kv["fd"])
        cn = find(pairs, pid, tid, "connect", lambda e: int(e["fd"], 0) == fd)
        check(cn and re.fullmatch(r"socket:\[\d+\]", cn[0][0].get("fd_path", "")) is not None,
              f"{prog}: connect fd_path {cn[0][0].get('fd_path') if cn else None!r} is not socket:[N]")
        # Ret_path: socket()'s sysret names the same socket the connect then uses.
        sk = find(pairs, pid, tid, "socket")
        check(not sysret or sk and sk[0][1] is not None and cn and sk[0][1].get("Ret_path") == cn[0][0].get("fd_path"),
              f"{prog}: socket Ret_path {sk[0][1].get('Ret_path') if sk and sk[0][1] else None!r} "
              f"!= connect fd_path")
    # Ret_path of the successful openat calls: the file they opened; none for the failed one.
    for kv in (gt_calls("openat") if sysret else []):
        pid, tid, ret = int(kv["pid"]), int(kv["tid"]), int(kv["ret"])
        op = [p for p in find(pairs, pid, tid, "openat") if p[1] is not None and
              int(p[1]["Ret"], 0) & 0xffffffff == ret & 0xffffffff]
        if check(op, f"{prog}: no openat sysret with ret {ret}"):
            got = op[0][1].get("Ret_path")
            check(got == (path if ret >= 0 else None), f"{prog}: openat ret {ret} Ret_path {got!r}")


def arm64_symbols():
    """(Type, name) -> the kernel function the syscall table names for it (data/)."""
    syms = {}
    for typ in ("arm64", "arm32"):
        with open(os.path.join(ROOT, "data", f"linux-{typ}.tbl"), encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if not line.startswith("#") and len(cols) >= 3:
                    syms[(typ, cols[1])] = cols[2]
    return syms


def check_arm64_hooks(pairs, stderr, only, sysret):
    """The hook plan on stderr and each event's Module. No filter: invoke_syscall (the
    dispatcher of 5.10+) for both ABIs. A filter: the per-syscall functions the tables
    name (__arm64_sys_*, AArch32: __arm64_compat_sys_* or the shared __arm64_sys_*), each
    hooked once, invoke_syscall not at all; every event's Module is its own function."""
    # The last plan: the memory route says "chosen once the profile is built" first.
    plans = re.findall(r"^vmitrace: hooks: (.*)$", stderr, re.M)
    plan = plans[-1] if plans else ""
    ret = "none (disable_sysret)" if not sysret else "return addresses of the hooked functions"
    check(plan.endswith(", return via " + ret), f"arm64: hook plan {plan!r} does not return via {ret}")
    mods = {p[0]["Module"] for p in pairs}
    if only is None:
        check(plan.startswith("arm64 and arm32 (AArch32 tasks, told apart by pstate) via invoke_syscall,"),
              f"arm64: hook plan {plan!r}")
        check(mods == {"invoke_syscall"}, f"arm64: Modules {sorted(mods)} != invoke_syscall")
        return
    syms = arm64_symbols()
    own64 = {syms[("arm64", n)] for n in only if ("arm64", n) in syms}
    own32 = {syms[("arm32", n)] for n in only if ("arm32", n) in syms} - own64
    want = (f"arm64 and arm32 (AArch32 tasks, told apart by pstate) via {len(own64)} per-syscall functions "
            f"(__arm64_sys_openat, ...) and {len(own32)} per-syscall functions (__arm64_compat_sys_openat, ...),")
    check(plan.startswith(want), f"arm64: hook plan {plan!r}, expected it to start {want!r}")
    for ent, ret_ev in pairs:
        sym = syms.get((ent["Type"], ent["Method"]))
        check(ent["Module"] == sym, f"arm64: {ent['Type']} {ent['Method']} from {ent['Module']}, not {sym}")
        check(ret_ev is None or ret_ev["Module"] == ent["Module"], f"arm64: sysret Module {ret_ev} != its entry's")
    check(any(p[0]["Module"].startswith("__arm64_compat_sys_") for p in pairs), "arm64: no event from a compat hook")


def check_16k_guest(stderr, console):
    """arm64-16k: the kernel runs 16 KiB pages (the Image header's flags, bits 2:1 = 2),
    vmitrace read user memory through them (no warning that it could not) and the
    AArch32 program ran (not killed by SIGSEGV: a lab32 whose segments are only 4 KiB
    apart, from a lab built before it was 64 KiB-aligned)."""
    with open(os.path.join(ROOT, ".cache/guest/kernel-arm64-16k/vmlinuz"), "rb") as f:
        head = f.read(64)
    flags = int.from_bytes(head[24:32], "little") if head[56:60] == b"ARM\x64" else None
    check(flags is not None and (flags >> 1) & 3 == 2,
          f"kernel-arm64-16k/vmlinuz is not a 16 KiB-page arm64 Image (header flags {flags})")
    check("user memory (strings, buffers) is not read" not in stderr, "vmitrace did not read user memory on 16K pages")
    check("GT exit prog=lab32 status=139" not in console,
          "lab32 died of SIGSEGV on the 16 KiB-page kernel: its segments are not 16 KiB-aligned (rebuild the "
          "lab: guest/setup.sh)")


def check_exec_and_exit(pairs, gt, prog, typ, sysret):
    """The calls that do not come back as others do: the shell's execve of prog (an arm64
    call; its return runs prog, for lab32 an AArch32 task), and prog's exit_group, its
    child's exit_group(7) and its thread's exit(0): entries with the GT's error_code and
    no return."""
    start = gt.get(prog, {}).get("start")
    if not check(start is not None, f"{prog}: no GT start line"):
        return
    pid = int(start["pid"])
    ex = find(pairs, pid, pid, "execve", lambda e: e.get("filename", "").endswith("/" + prog))
    if check(len(ex) == 1, f"{prog}: {len(ex)} execve entries of it in pid {pid}, not 1"):
        check(ex[0][0]["Type"] == "arm64", f"{prog}: execve entry {ex[0][0]} is not an arm64 call")
        if sysret:
            check(ex[0][1] is not None and ex[0][1]["Ret"] == "0x0" and ex[0][1]["ProcessName"] == prog,
                  f"{prog}: execve return {ex[0][1]} is not 0 in {prog}")
        else:
            check(ex[0][1] is None, f"{prog}: an execve return under --disable_sysret")
    exits = [(n, kv) for n, kv in gt.get(prog, {}).get("calls", []) if n in ("exit", "exit_group")]
    check(len(exits) == 3, f"{prog}: {len(exits)} GT exit/exit_group lines, not 3")
    for name, kv in exits:
        ev = find(pairs, int(kv["pid"]), int(kv["tid"]), name)
        if check(len(ev) == 1, f"{prog}: {len(ev)} {name} entries for {kv}, not 1"):
            e, r = ev[0]
            check(e["Type"] == typ and int(e.get("error_code", "-1"), 0) == int(kv["error_code"]),
                  f"{prog}: {name} entry {e} does not match {kv}")
            check(r is None, f"{prog}: {name} has a return event {r}")


def check_arm64_spaces(events, gt):
    """The CR3 field on arm64 (TTBR0_EL1: the process's translation table) is one
    non-zero value per process from its exec on, and differs between processes alive
    together (lab64 and its forked child; processes that do not overlap may get a freed
    table's page again, as CR3 on x86)."""
    pids = set()
    for prog in ("lab64", "lab32"):
        for what in ("start", "child"):
            if gt.get(prog, {}).get(what):
                pids.add(int(gt[prog][what]["pid"]))
    cr3 = {}
    for e in events:  # an execve entry runs in the old address space, everything after it in the new
        if e["Method"] == "execve" and e["Plugin"] == "syscall":
            cr3.pop(e["PID"], None)
        elif e["PID"] in pids:
            cr3.setdefault(e["PID"], set()).add(e["CR3"])
    for pid, vals in cr3.items():
        check(len(vals) == 1 and "0x0" not in vals, f"arm64: CR3 of pid {pid} is not one non-zero value: {vals}")
    for prog in ("lab64", "lab32"):
        start, child = gt.get(prog, {}).get("start"), gt.get(prog, {}).get("child")
        if check(start and child, f"arm64: no GT start/child lines for {prog}"):
            a, b = cr3.get(int(start["pid"]), set()), cr3.get(int(child["pid"]), set())
            check(a and b and a != b, f"arm64: {prog} and its child share a CR3 (or have none): {a} {b}")


def check_vcpus(events, console, smp, all_used):
    """The guest had smp CPUs online and the events name only those (all_used: each one)."""
    m = re.search(r"^GT cpus (\d+)", console, re.M)
    check(m is not None and int(m.group(1)) == smp, f"the guest reports {m and m.group(1)} CPUs, not {smp}")
    used = {e["vCPU"] for e in events}
    check(used <= set(range(smp)), f"vCPU values {sorted(used)} outside 0..{smp - 1}")
    check(not all_used or used == set(range(smp)), f"events from vCPUs {sorted(used)} only, of {smp}")


def mismatch(a, vmitrace, tmp, run_opts, launch_opts):
    """A profile of another lab kernel: a one-line error, and the run ends on it: QEMU is
    stopped and vmitrace exits 1 within seconds, although the guest (bench workload, a
    minute or more) would run on.
    variant width: a profile of the other word size (32-bit on 64-bit, or the reverse).
    arm64-*: two runs, an x86-64 profile (the other instruction set: refused as the QEMU
    module loads, before the guest runs) and the other arm64 kernel's (its banner is not
    found once the kernel runs)."""
    def profile_of(kernel):
        prof = os.path.join(tmp, kernel + ".json")
        subprocess.run([vmitrace, "profile", os.path.join(ROOT, ".cache/guest/kernel-" + kernel, "vmlinuz"),
                        "--output", prof], check=True, stderr=subprocess.DEVNULL)
        return prof
    if a.variant == "width" and a.kernel != "686":
        cases = [(profile_686(vmitrace), "the profile is for a 32-bit (i386) kernel, the guest runs a 64-bit kernel")]
    elif a.kernel == "686":
        cases = [(profile_of("6.1"), "the profile is for a 64-bit (x86-64) kernel, the guest runs a 32-bit kernel")]
    elif a.kernel.startswith("arm64-"):
        other = {"arm64-6.1": "arm64-6.12", "arm64-6.12": "arm64-6.1"}[a.kernel]
        cases = [(profile_of("6.12"), "the profile is for an x86_64 kernel, the guest runs an arm64 kernel"),
                 (profile_of(other), "does not match the running kernel: linux_banner not found")]
    else:
        cases = [(profile_of({"6.1": "6.12", "6.12": "6.1"}[a.kernel]), "does not match the running kernel")]
    for prof, want in cases:
        mismatch_run(vmitrace, tmp, prof, want, run_opts, launch_opts)
    for f in failures:
        print("FAIL:", f)
    subprocess.run(["rm", "-rf", tmp])
    return 1 if failures else 0


def mismatch_run(vmitrace, tmp, prof, want, run_opts, launch_opts):
    cmd = ([os.path.join(ROOT, "guest/launch.sh")] + launch_opts + ["--workload", "bench", "--", vmitrace,
           "run", "-r", prof] + run_opts + ["--"])
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    err, t_error = "", None
    for line in p.stderr:  # until vmitrace (and launch.sh) closed stderr
        err += line
        if t_error is None and line.startswith("vmitrace: error:"):
            t_error = time.monotonic()
    rc = p.wait()
    ended = time.monotonic() - t_error if t_error else None
    sys.stderr.write(err[-2000:])
    print(f"mismatch ({os.path.basename(prof)}): exit {rc}, {ended if ended is None else round(ended, 1)} s "
          f"after the error, {time.monotonic() - t0:.1f} s in all")
    check(rc == 1, f"{prof}: a mismatching profile gave exit {rc}, not 1")
    check("does not match the running kernel" in err, f"{prof}: no 'does not match' message")
    check(want in err, f"{prof}: no '{want}' message")
    errors = [l for l in err.splitlines() if l.startswith("vmitrace: error:")]
    check(len(errors) == 1, f"{prof}: not one error line: {errors}")
    check(ended is not None and ended < 8, f"{prof}: the run did not end within 8 s of the error ({ended} s)")
    check("tracing stopped on the plugin's error" in err, f"{prof}: no 'tracing stopped' line")
    check("killed or crashed" not in err, f"{prof}: the capture was not closed")
    console_path = os.path.join(tmp, "console.log")
    console = open(console_path, errors="replace").read() if os.path.exists(console_path) else ""
    check("GT bench end" not in console, f"{prof}: the guest ran its workload to the end: QEMU was not stopped")


def check_same_profile(mem_path, ref_path):
    """A profile built from guest memory equals `vmitrace profile vmlinuz`'s but for
    where its symbols came from."""
    mem, file = json.load(open(mem_path)), json.load(open(ref_path))
    check(mem["metadata"]["linux"]["symbols"] == [{"kind": "symtab", "name": "guest memory"}],
          f"cached profile: metadata.linux.symbols {mem['metadata']['linux'].get('symbols')}")
    for isf in (mem, file):
        isf["metadata"]["linux"]["symbols"] = None
    check(mem == file, f"the profile built from guest memory ({mem_path}) differs from the file route's")


def memory_run_error(vmitrace, run_opts, launch_opts, env):
    """686: the profile cannot be built from guest memory (no BTF): one line, the run ends."""
    cmd = ([os.path.join(ROOT, "guest/launch.sh")] + launch_opts + ["--workload", "bench", "--", vmitrace,
           "run", "--profile-from", "memory"] + run_opts + ["--"])
    p = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, env=env, timeout=600)
    sys.stderr.write(p.stderr[-2000:])
    check(p.returncode != 0, "a kernel without BTF did not give a non-zero exit")
    errors = [l for l in p.stderr.splitlines() if l.startswith("vmitrace: error:")]
    check(len(errors) == 1, f"not one error line: {errors}")
    check(errors and "has no BTF in guest memory" in errors[0] and "--debug-file" in errors[0] and
          "-r" in errors[0], f"the error does not name the missing BTF and the routes: {errors}")
    check("tracing stopped on the plugin's error" in p.stderr, "no 'tracing stopped' line")


def same_guest_from_cache(vmitrace, run_opts, launch_opts, env, first_events, tmp):
    """A second run of the same guest: the profile comes from the cache."""
    out = os.path.join(tmp, "cached.jsonl")
    cmd = ([os.path.join(ROOT, "guest/launch.sh")] + launch_opts[:-2] + ["--timeout", "300", "--", vmitrace, "run",
           "--profile-from", "memory", "--max-events", "20", "-o", "json", "--output", out, "--"])
    r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, env=env, timeout=600)
    sys.stderr.write(r.stderr[-2000:])
    check(re.search(r"^vmitrace: profile \S+/linux-[^ /]+\.json \(cached, Linux \S+ from guest memory, "
                    r"[\d.]+ s, [\d.]+ s CPU\)$", r.stderr, re.M) is not None,
          "second run: no line saying the profile came from the cache")
    evs = load_events(out) if os.path.exists(out) else []
    key = lambda e: (e["Plugin"], e["Method"], e["PID"], e["TID"], e["ProcessName"])
    check(len(evs) == 20 and [key(e) for e in evs] == [key(e) for e in first_events[:20]],
          f"second run: its first events differ from the first run's: {[key(e) for e in evs][:5]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--variant", default="full", choices=["full", "smp2", "filter", "nosysret", "mismatch", "width",
                                                               "memory"])
    ap.add_argument("--smp", type=int, help="virtual CPUs (default 2 for smp2, else 1)")
    ap.add_argument("--profile", help="trace with this profile (-r) instead of the one vmitrace builds "
                    "from the kernel image")
    ap.add_argument("--disk", choices=["debian-arm64"], help="boot this disk image (which carries --kernel's "
                    "kernel) instead; --variant memory only")
    a = ap.parse_args()
    if a.disk and a.variant != "memory":
        ap.error("--disk goes with --variant memory")
    vmitrace = os.path.join(a.build, "vmitrace")
    arm = a.kernel.startswith("arm64-")
    if not os.path.exists(os.path.join(ROOT, ".cache/guest/initramfs.cpio.gz")):
        print("FAIL: the lab is not set up: run guest/setup.sh", file=sys.stderr)
        return 1
    if arm and not os.path.exists(os.path.join(ROOT, ".cache/guest/initramfs-arm64.cpio.gz")):
        print("FAIL: the arm64 lab is not set up: run guest/setup.sh", file=sys.stderr)
        return 1
    if a.disk and not os.path.exists(os.path.join(ROOT, f".cache/guest/{a.disk}.img")):
        print(f"FAIL: the {a.disk} disk image is not built: run guest/setup.sh", file=sys.stderr)
        return 1
    if a.kernel == "arm64-16k" and not os.path.exists(os.path.join(ROOT, ".cache/guest/kernel-arm64-16k/vmlinuz")):
        print("SKIP: the arm64-16k kernel is not fetched (guest/fetch-kernels.sh arm64-16k, run by guest/setup.sh; "
              "VMITRACE_LAB_ARM64=0 skips it)")
        return 77
    if (a.kernel == "686" or a.variant == "width") and not os.path.exists(
            os.path.join(ROOT, ".cache/guest/kernel-686/vmlinux-dbg")):
        print("SKIP: the 32-bit lab is not set up (guest/fetch-kernel-686.sh; VMITRACE_LAB32=0 skips it)")
        return 77
    tmp = tempfile.mkdtemp(prefix="vmitrace-e2e-")
    events_path = os.path.join(tmp, "events.jsonl")
    console_path = os.path.join(tmp, "console.log")
    run_opts = ["-o", "json", "--output", events_path]
    launch_opts = (["--disk", a.disk] if a.disk else ["--kernel", a.kernel]) + ["--log", console_path, "--timeout", "600"]
    capture = 0
    env = None
    if a.variant == "memory":  # an empty profile cache of its own
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        if a.kernel == "686":
            memory_run_error(vmitrace, run_opts, launch_opts, env)
            for f in failures:
                print("FAIL:", f)
            subprocess.run(["rm", "-rf", tmp])
            return 1 if failures else 0
        if not a.disk:  # a disk image has no -kernel: the memory route is the default
            run_opts += ["--profile-from", "memory"]
    smp = a.smp or (2 if a.variant == "smp2" else 1)
    if smp > 1:
        launch_opts += ["--smp", str(smp)]
    if a.variant in ("full", "memory"):  # read buffers at return (the first 16 bytes); Android's user names
        capture = 16
        run_opts += ["--capture-buffers", str(capture), "--user-names", "android"]
    filt = FILTER_ARM64 if arm else FILTER
    if a.variant == "filter":
        fpath = os.path.join(tmp, "filter.txt")
        with open(fpath, "w") as f:
            # plus a name no table knows and one of the other architecture only: each said
            # once on stderr, the rest traced
            f.write("# the syscalls of the filter test\n\n" + "\n".join(filt + ["no_such_call", FOREIGN[arm]]) + "\n")
        run_opts += ["--syscalls_filter_file", fpath]
    if a.variant == "nosysret":
        run_opts += ["--disable_sysret"]
    if a.variant in ("mismatch", "width"):
        return mismatch(a, vmitrace, tmp, run_opts, launch_opts)
    is32 = a.kernel == "686"
    if is32:
        run_opts += ["-r", profile_686(vmitrace)]
    elif a.profile:
        run_opts += ["-r", a.profile]

    t64, t32 = ("arm64", "arm32") if arm else ("x64", "x32")
    cmd = [os.path.join(ROOT, "guest/launch.sh")] + launch_opts + ["--", vmitrace, "run"] + run_opts + ["--"]
    print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
    r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, env=env)
    sys.stderr.write(r.stderr[-4000:])
    check(r.returncode == 0, f"launch/vmitrace exited {r.returncode}")
    console = open(console_path, errors="replace").read() if os.path.exists(console_path) else ""
    check("GT done" in console, "the guest did not finish its workload")
    check(re.search(r"vmitrace: hooks: ", r.stderr) is not None, "the hook plan was not printed on stderr")
    events = load_events(events_path) if os.path.exists(events_path) else []
    check(len(events) > 0, "no events")
    if events:
        check_schema(events)
    gt = parse_gt(console)
    pairs = pair(events)
    sysret = a.variant != "nosysret"
    only = filt if a.variant == "filter" else None
    if not is32:
        check_prog(pairs, gt, "lab64", t64, LAB_FILE64, sysret, only)
    check_prog(pairs, gt, "lab32", t32, LAB_FILE32, sysret, only)
    if a.kernel == "arm64-16k":
        check_16k_guest(r.stderr, console)
    if arm:
        check_arm64_hooks(pairs, r.stderr, only, sysret)
        check_exec_and_exit(pairs, gt, "lab64", t64, sysret)
        check_exec_and_exit(pairs, gt, "lab32", t32, sysret)
        check_arm64_spaces(events, gt)
        check_vcpus(events, console, smp, a.variant == "smp2")
    if is32:
        check(all(e.get("Type", "x32") == "x32" for e in events), "a 32-bit kernel gave a non-x32 event")
    if a.variant == "filter":
        for what in (f"unknown syscall names ignored: no_such_call",
                     f"not syscalls of {'arm64' if arm else 'i386' if a.kernel == '686' else 'x86_64'} Linux guests, "
                     f"ignored: {FOREIGN[arm]}"):
            n = r.stderr.count(f"vmitrace: warning: {fpath}: {what}\n")
            check(n == 1, f"filter: the warning '{what}' printed {n} times, not once")
        # arm64: exactly the listed names (x86 has always let lab32's mmap2 pass too)
        methods = {e["Method"] for e in events}
        extra = set() if arm else {"mmap2"}
        check(methods <= set(filt) | extra, f"filter: unexpected methods {sorted(methods - set(filt))}")
    if a.variant == "nosysret":
        check(not any(e["Plugin"] == "sysret" for e in events), "disable_sysret: sysret events present")
    else:
        check(any(e["Plugin"] == "sysret" for e in events), "no sysret events")
    if a.variant == "memory":
        m = re.search(r"^vmitrace: profile from guest memory: Linux (\S+), [\d,]+ symbols, [\d,]+ types, ([\d.]+) s "
                      r"\(([\d.]+) s CPU, [\d.]+ MiB read; KASLR offset 0x[0-9a-f]+; saved as (\S+)\)$", r.stderr, re.M)
        release = open(os.path.join(ROOT, ".cache/guest/kernel-" + a.kernel, "release")).read().strip()
        if check(m is not None, "no line saying the profile was built from guest memory, and its cost"):
            check(m.group(1) == release, f"profile line names Linux {m.group(1)}, the guest runs {release}")
            print(f"profile from guest memory through the QEMU module: {m.group(2)} s wall, {m.group(3)} s CPU")
            ref = os.path.join(tmp, "file.json")
            subprocess.run([vmitrace, "profile", os.path.join(ROOT, ".cache/guest/kernel-" + a.kernel, "vmlinuz"),
                            "--output", ref], check=True, stderr=subprocess.DEVNULL)
            check_same_profile(m.group(4), ref)
        if events:
            same_guest_from_cache(vmitrace, run_opts, launch_opts, env, events, tmp)
    if a.variant in ("full", "memory") and not is32:
        check_app_uid(events, gt)
    if arm and a.variant == "nosysret":  # the entries as complete as with returns
        check_fd_extras(pairs, gt, "lab64", LAB_FILE64, 0, sysret=False)
        check_fd_extras(pairs, gt, "lab32", LAB_FILE32, 0, sysret=False)
    if a.variant in ("full", "smp2", "memory"):
        if not is32:  # a 32-bit kernel runs lab32 only
            check_fd_extras(pairs, gt, "lab64", LAB_FILE64, capture)
        check_fd_extras(pairs, gt, "lab32", LAB_FILE32, capture)
        # The child process and the second thread are told apart.
        main_prog = "lab32" if is32 else "lab64"
        child = gt.get(main_prog, {}).get("child")
        if check(child is not None, "no GT child line"):
            c = find(pairs, int(child["pid"]), int(child["tid"]), "getppid")
            check(c and c[0][0]["PPID"] == int(child["ppid"]), f"child getppid event/PPID: {c[:1]}")
        th = gt.get(main_prog, {}).get("thread")
        if check(th is not None, "no GT thread line"):
            t = find(pairs, int(th["pid"]), int(th["tid"]), "gettid")
            check(t and t[0][1] is not None and int(t[0][1]["Ret"], 16) == int(th["tid"]), f"thread gettid: {t[:1]}")
    print(f"{len(events)} events, {len(failures)} failed checks")
    for f in failures[:40]:
        print("FAIL:", f)
    if failures:
        print(f"(kept {tmp} for inspection)")
        return 1
    subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
