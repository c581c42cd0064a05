#!/usr/bin/env python3
"""End to end on the mock Windows guest (guest/windows/README.md): `vmitrace run` and
`vmitrace attach` trace the mock laid out from a real ntkrnlmp ISF, and every call its
workload reports on its serial port (WINMOCK call name=.. nr=.. status=.. tid=.. pid=..,
" wow64" for the statuses the WoW64 process's 32-bit program recorded) must be in the
trace as an entry and (but for NtTerminateThread/NtTerminateProcess) a return, with the
fields mkwinmock laid out for the calling thread: three processes, each in its own
address space (notepad.exe, a user SID; svchost.exe, SYSTEM; legacy32.exe, a 32-bit
program under WoW64 calling through its 32-bit ntdll, wow64cpu, wow64 and 64-bit
ntdll), notepad.exe yielding to svchost.exe, which ends itself and switches to
legacy32.exe, whose process end resumes notepad.exe (PID, PPID, TID, process, CR3 = the
process's DirectoryTableBase, Module nt, PreviousMode, FromModule, FromParentModule
(KernelBase.dll, or wow64.dll for the WoW64 caller), ImagePath, UserName, the path
argument (read at the same user address in different address spaces: notepad.exe's and
svchost.exe's; legacy32.exe's and a decoy), handle names, NTSTATUS Info).

One profile per test (--isf); the boots, each well under a second of guest time:
  run json                    every field, against the serial log and mkwinmock's layout
  run json -W                 the mock with a win32k module (mkwinmock --win32k): Module win32k
  run kv    --rate-limit 2    2 calls per process traced, the rest dropped and counted by PID
  run csv   filter file       only the filter's services, entries and returns
  run default --disable_sysret  entries only
  attach json                 QEMU -S with a gdbstub; the mock waits ~1 s in kernel mode;
                              SIGTERM after the workload: exit 0, the guest still runs
usage: windows_mock_test.py --build BUILD --isf ISF
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

CALL = re.compile(r"WINMOCK call name=(\w+) nr=0x([0-9a-f]+) status=0x([0-9a-f]+) tid=0x([0-9a-f]+) pid=0x([0-9a-f]+)( wow64)?\n")
STATUS = {0: "STATUS_SUCCESS", 0xC0000034: "STATUS_OBJECT_NAME_NOT_FOUND"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def qemu_args(elf, serial, extra=()):
    return ["qemu-system-x86_64", "-kernel", elf, "-display", "none", "-nodefaults", "-no-reboot",
            "-monitor", "none", "-serial", "file:" + serial] + list(extra)


def serial_calls(path):
    with open(path, errors="replace") as f:
        text = f.read()
    check("WINMOCK done" in text, f"{path}: the workload did not finish: {text[-300:]!r}")
    return [(m[1], int(m[2], 16), int(m[3], 16), int(m[4], 16), int(m[5], 16), bool(m[6])) for m in CALL.finditer(text)]


def hexval(v):
    try:
        return int(v, 16)
    except (TypeError, ValueError):
        return None


def check_json(events, calls, desc, what, sysret=True):
    """An entry per serial call, in order, with every field of its thread; its return
    (same TID and Method, later) unless the call does not return (NtTerminateThread)."""
    entries = [i for i, e in enumerate(events) if e.get("Plugin") == "syscall"]
    check(len(entries) >= len(calls), f"{what}: {len(entries)} entries for {len(calls)} calls")
    check(len(calls) == len(desc["calls"]), f"{what}: serial calls {calls} != layout {desc['calls']}")
    used = set()
    for i, (name, nr, status, tid, pid, wow64) in enumerate(calls[:min(len(entries), len(desc["calls"]))]):
        lay = desc["calls"][i]
        w = desc["threads"][lay["thread"]]
        e = events[entries[i]]
        tag = f"{what}: {name} #{i}"
        check(name == lay["name"] and (tid, pid, wow64) == (w["tid"], w["pid"], w["wow64"]),
              f"{tag}: serial {name} tid {tid:#x} pid {pid} wow64 {wow64} != layout {lay} {w}")
        check(hexval(e.get("CR3")) == int(w["cr3"], 16),
              f"{tag}: CR3 {e.get('CR3')} != {w['cr3']} (the process's DirectoryTableBase)")
        check(e.get("Method") == name, f"{tag}: entry {e}")
        check(e.get("Syscall") == nr & 0xfff, f"{tag}: Syscall {e.get('Syscall')} != {nr & 0xfff}")  # win32k: no 0x1000
        ident = (("PID", w["pid"]), ("PPID", w["ppid"]), ("TID", w["tid"]), ("ProcessName", w["process"]),
                 ("UserName", w["user"]), ("UserId", w["session"]), ("Module", lay["module"]))
        for k, v in ident + (("PreviousMode", "User"), ("FromModule", lay["from_module"]),
                             ("FromParentModule", lay["from_parent_module"]), ("ImagePath", w["image_path"])):
            check(e.get(k) == v, f"{tag}: {k} {e.get(k)!r} != {v!r}")
        if lay["path"]:
            check(e.get("ObjectAttributes") == lay["path"], f"{tag}: ObjectAttributes {e.get('ObjectAttributes')!r}")
        if lay["handle_name"]:
            names = [v for k, v in e.items() if k.endswith("_name")]
            check(names == [lay["handle_name"]], f"{tag}: handle names {names} != {lay['handle_name']!r}")
        if not sysret:
            continue
        ret = next((j for j in range(entries[i] + 1, len(events)) if j not in used and
                    events[j].get("Plugin") == "sysret" and events[j].get("Method") == name and
                    events[j].get("TID") == w["tid"]), None)
        if not lay["returns"]:
            check(ret is None, f"{tag}: a return for a call that does not return: {ret is not None and events[ret]}")
            continue
        if not check(ret is not None, f"{tag}: no return"):
            continue
        used.add(ret)
        r = events[ret]
        check(int(r.get("Ret", "-1"), 16) == status, f"{tag}: Ret {r.get('Ret')} != {status:#x} (serial)")
        if lay["module"] == "nt":  # win32k services return no NTSTATUS
            check(r.get("Info") == STATUS.get(status), f"{tag}: Info {r.get('Info')!r}")
        for k, v in ident:
            check(r.get(k) == v, f"{tag}: return {k} {r.get(k)!r} != {v!r}")
        check(hexval(r.get("CR3")) == int(w["cr3"], 16), f"{tag}: return CR3 {r.get('CR3')} != {w['cr3']}")


def expected_with_rate_limit(desc, n):
    """Lines written and drops by PID with --rate-limit n (a burst of n per process)."""
    allowed, lines, drops = {}, 0, {}
    for c in desc["calls"]:
        pid = desc["threads"][c["thread"]]["pid"]
        allowed[pid] = allowed.get(pid, 0) + 1
        events = 1 + (1 if c["returns"] else 0)
        if allowed[pid] <= n:
            lines += events
        else:
            drops[pid] = drops.get(pid, 0) + events
    return lines, drops


def run_trace(vt, isf, elf, tmp, name, opts):
    serial, out = os.path.join(tmp, name + ".serial"), os.path.join(tmp, name + ".out")
    p = subprocess.run([vt, "run", "-r", isf, "--output", out] + opts + ["--"] + qemu_args(elf, serial),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"run {name}: exit {p.returncode}: {p.stderr[-600:]}")
    check(re.search(r"accounting: \d+ captured = \d+ written \+ \d+ dropped", p.stderr),
          f"run {name}: no accounting line: {p.stderr[-600:]}")
    with open(out) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    return serial_calls(serial), lines, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--isf", required=True)
    a = ap.parse_args()
    if not os.path.exists(a.isf):
        print(f"SKIP: no profile {a.isf}")
        return 77
    vt, mk = os.path.join(a.build, "vmitrace"), os.path.join(a.build, "guest/windows/mkwinmock")
    if not os.path.exists(mk):
        print("SKIP: mkwinmock not built (x86-64 hosts only)")
        return 77
    tmp = tempfile.mkdtemp(prefix="vmitrace-winmock-")
    seed = int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed} (mkwinmock --seed), files in {tmp}")
    elf, idle = os.path.join(tmp, "mock.elf"), os.path.join(tmp, "mock-idle.elf")
    desc = json.loads(subprocess.run([mk, "--profile", a.isf, "--output", elf, "--seed", str(seed)],
                                     capture_output=True, text=True, check=True).stdout)
    subprocess.run([mk, "--profile", a.isf, "--output", idle, "--seed", str(seed), "--idle"],
                   capture_output=True, check=True)

    # run, JSON: every field.
    calls, lines, err = run_trace(vt, a.isf, elf, tmp, "json", ["-o", "json"])
    check([c[0] for c in calls] == [c["name"] for c in desc["calls"]], f"serial calls {calls}")
    check(f"windows kernel at {desc['kernel_base']}" in err, f"kernel base {desc['kernel_base']} not found: {err}")
    check_json([json.loads(l) for l in lines], calls, desc, "run json")
    cr3s = {t["cr3"] for t in desc["threads"]}
    check(len(cr3s) == len(desc["threads"]), f"mkwinmock: the processes share an address space: {cr3s}")
    check(any(t["wow64"] for t in desc["threads"]) and any(c[5] for c in calls), f"no WoW64 caller: {calls}")
    n_events = sum(1 + c["returns"] for c in desc["calls"])
    check(len(lines) == n_events, f"run json: {len(lines)} events, want {n_events}")
    top = re.search(r"top syscalls: (.*)", err)
    check(top and all(f"{c[0]}/nt " in top[1] for c in calls), f"run json: top syscalls by name: {top and top[0]}")

    # run, JSON, -W: the mock with a win32k module and its profile (NtUserGetMessage).
    w32elf, w32isf = os.path.join(tmp, "mock-w32.elf"), os.path.join(tmp, "win32kfull.json")
    w32desc = json.loads(subprocess.run([mk, "--profile", a.isf, "--output", w32elf, "--seed", str(seed), "--win32k", w32isf],
                                        capture_output=True, text=True, check=True).stdout)
    calls, lines, err = run_trace(vt, a.isf, w32elf, tmp, "win32k", ["-o", "json", "-W", w32isf])
    check(any(c["module"] == "win32k" for c in w32desc["calls"]), "mkwinmock --win32k: no win32k call")
    check(re.search(r"win32k at 0x[0-9a-f]+: \d+ of \d+ services hooked", err), f"run -W: win32k not hooked: {err}")
    check_json([json.loads(l) for l in lines], calls, w32desc, "run json -W")

    # run, kv, --rate-limit 2: the burst of 2, the rest dropped with their returns.
    calls, lines, err = run_trace(vt, a.isf, elf, tmp, "kv", ["-o", "kv", "--rate-limit", "2"])
    n_lines, drops = expected_with_rate_limit(desc, 2)
    check(len(lines) == n_lines and all(l.startswith(("syscall ", "sysret ")) for l in lines), f"kv rate-limit: {lines}")
    for pid, n in drops.items():
        name = next(t["process"] for t in desc["threads"] if t["pid"] == pid)
        check(f"{name}[{pid}] {n}" in err, f"kv: no {n} drops for {name}[{pid}]: {err}")

    # run, csv, filter file: NtClose and NtOpenFile only (each entry, then its return).
    filt = os.path.join(tmp, "filter.txt")
    with open(filt, "w") as f:
        f.write("NtClose\nNtOpenFile\n")
    calls, lines, err = run_trace(vt, a.isf, elf, tmp, "csv", ["-o", "csv", "--syscalls-filter-file", filt])
    methods = [l.split(",")[8] for l in lines]
    want = [c["name"] for c in desc["calls"] if c["name"] in ("NtClose", "NtOpenFile") for _ in range(2)]
    check(len(want) >= 4 and methods == want, f"csv filter: {methods} != {want}")
    check(len(lines) == len(want) and "STATUS_OBJECT_NAME_NOT_FOUND" in lines[want.index("NtOpenFile") + 1],
          f"csv filter: {lines}")

    # run, default format, --disable_sysret: entries only.
    calls, lines, err = run_trace(vt, a.isf, elf, tmp, "default", ["-o", "default", "--disable_sysret"])
    check(len(lines) == len(calls) and all(l.startswith("[SYSCALL]") for l in lines), f"default nosysret: {lines}")
    for l, c, lay in zip(lines, calls, desc["calls"]):
        w = desc["threads"][lay["thread"]]
        check(f'"{w["process"]}":{c[0]} ' in l and f"PID:{w['pid']} " in l, f"default: {l}")

    # attach: the guest stopped at reset, traced from its first call, left running.
    sock, serial, out = (os.path.join(tmp, n) for n in ("gdb.sock", "attach.serial", "attach.jsonl"))
    qemu = subprocess.Popen(qemu_args(idle, serial, ["-S", "-chardev", f"socket,path={sock},server=on,wait=off,id=g0",
                                                     "-gdb", "chardev:g0"]),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tracer = None
    try:
        end = time.time() + 10
        while not os.path.exists(sock) and time.time() < end:
            time.sleep(0.05)
        tracer = subprocess.Popen([vt, "attach", "-d", "unix:" + sock, "-r", a.isf, "-o", "json", "--output", out],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        end = time.time() + 60
        while time.time() < end and tracer.poll() is None:
            if os.path.exists(out) and sum(1 for _ in open(out)) >= 2 * len(desc["calls"]):  # + idle calls
                break
            time.sleep(0.2)
        tracer.send_signal(signal.SIGTERM)
        _, err = tracer.communicate(timeout=60)
        check(tracer.returncode == 0, f"attach: exit {tracer.returncode}: {err[-600:]}")
        check("accounting:" in err, f"attach: no accounting line: {err[-600:]}")
        time.sleep(0.5)
        check(qemu.poll() is None, "attach: the guest did not survive the detach")
        calls = serial_calls(serial)
        with open(out) as f:
            events = [json.loads(l) for l in f if l.strip()]
        check_json(events, calls, desc, "attach json")
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
            tracer.wait()
        qemu.terminate()
        qemu.wait(timeout=30)

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"windows mock ({os.path.basename(a.isf)}): 3 address spaces, a WoW64 caller; run (4 formats, rate limit, filter, no sysret) and attach OK")
        subprocess.run(["rm", "-rf", tmp])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
