#!/usr/bin/env python3
"""End-to-end: `vmitrace profile --from-vm` against a running lab guest (one boot per
kernel) through QEMU's gdbstub on a unix socket.

64-bit kernels (6.1, 6.12): the guest boots untraced and runs `lab64 nanosleep`; the
profile is built from its memory twice, through the stub and through the RAM file
(--guest-ram), and each must equal what `vmitrace profile vmlinuz` writes for the same
kernel: the same symbols at the same (link-time) addresses, the same types, enums and
banner; the only difference allowed is metadata.linux.symbols' name ("guest memory"
instead of "vmlinuz"). stderr names the kernel and the cost. Then `vmitrace attach`
without -r builds the same profile and traces lab64's nanosleep calls (10 events), which
also shows that the guest ran on after each --from-vm. QEMU is then killed.

686 (no BTF in the kernel): one line on stderr naming what is missing and the route
that works (--debug-file, -r), a non-zero exit, no output file; the guest runs on to
the end of its workload (GT done).

With --repeat N (the benchmark `profile-from-vm`, 64-bit kernels): each route (the file
route on the vmlinuz, --from-vm through the stub, --from-vm with --guest-ram) runs N
times on the same boot, then `vmitrace run --profile-from memory` (the QEMU module
builds it at boot, an empty cache each time) N times, one boot each; the median wall
times are printed side by side, as ratios to the file route's. The module's figure is
its own (wall and CPU time it spent reading and building, the ISF written to the
cache), not a process's.

usage: profile_from_vm_test.py --build BUILD --kernel 6.1|6.12|686 [--repeat N]
Skips (exit 77) when the lab guest is not built.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attach_e2e_test import check, failures, wait_for  # noqa: E402  (one copy of the helpers)


def qemu_cmd(kernel, sock, serial, ram, calls):
    out = subprocess.run([os.path.join(ROOT, "guest/launch.sh"), "--kernel", kernel, "--workload", "nanosleep",
                          "--append", f"vmitrace.nanosleep_calls={calls}", "--timeout", "0", "--print-cmd"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    i = out.index("-chardev")
    out[i + 1] = "file,id=ser0,path=" + serial
    return out + ["-chardev", f"socket,path={sock},server=on,wait=off,id=g0", "-gdb", "chardev:g0",
                  "-object", f"memory-backend-file,id=m,size=512M,mem-path={ram},share=on",
                  "-machine", "memory-backend=m"]


def without_source(isf):
    """The ISF without metadata.linux.symbols (where the symbols were read from)."""
    isf = dict(isf)
    meta = dict(isf["metadata"])
    meta["linux"] = dict(meta.get("linux", {}), symbols=None)
    isf["metadata"] = meta
    return isf


def compare(mem, ref, label):
    ms, rs = mem["symbols"], ref["symbols"]
    check(len(ms) == len(rs), f"{label}: {len(ms)} symbols, the file route has {len(rs)}")
    moved = [n for n in rs if n in ms and ms[n].get("address") != rs[n].get("address")]
    check(not moved, f"{label}: {len(moved)} symbols at other addresses, e.g. {moved[:3]}")
    for n in ("_text", "linux_banner", "current_task", "init_task"):
        if n in rs:
            check(n in ms and ms[n] == rs[n], f"{label}: symbol {n} differs")
    for n in ("task_struct", "cred", "pt_regs", "mm_struct", "file", "dentry", "fdtable", "files_struct"):
        check(mem["user_types"].get(n) == ref["user_types"].get(n), f"{label}: type {n} differs")
    check(mem["metadata"]["linux"]["symbols"] == [{"kind": "symtab", "name": "guest memory"}],
          f"{label}: metadata.linux.symbols is {mem['metadata']['linux'].get('symbols')}")
    check(without_source(mem) == without_source(ref), f"{label}: the ISF differs beyond metadata.linux.symbols")


def plugin_route(vmitrace, kernel, repeat, tmp, walls):
    """`vmitrace run --profile-from memory`, one boot per run, an empty cache each time:
    the module's own figures from its stderr line. Returns the CPU times."""
    cpu = []
    for i in range(repeat):
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, f"cache{i}"))
        cmd = [os.path.join(ROOT, "guest/launch.sh"), "--kernel", kernel, "--log", os.path.join(tmp, "run.log"),
               "--timeout", "300", "--", vmitrace, "run", "--profile-from", "memory", "--max-events", "1",
               "--output", os.path.join(tmp, "run.jsonl"), "--"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        m = re.search(r"profile from guest memory: .*?, ([\d.]+) s \(([\d.]+) s CPU", r.stderr)
        if check(m is not None, f"run --profile-from memory: no profile line: {r.stderr[-500:]}"):
            walls.setdefault("qemu-module", []).append(float(m.group(1)))
            cpu.append(float(m.group(2)))
    return cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--kernel", default="6.1")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    kdir = os.path.join(ROOT, ".cache/guest", "kernel-" + a.kernel)
    vmlinuz = os.path.join(kdir, "vmlinuz")
    is32 = a.kernel == "686"
    initrd = "initramfs-i386.cpio.gz" if is32 else "initramfs.cpio.gz"
    if not os.path.exists(vmlinuz) or not os.path.exists(os.path.join(ROOT, ".cache/guest", initrd)):
        print(f"SKIP: lab guest not built ({vmlinuz}); run guest/setup.sh")
        return 77
    vmitrace = os.path.join(a.build, "vmitrace")
    tmp = tempfile.mkdtemp(prefix="vmitrace-fromvm-")
    sock, serial = os.path.join(tmp, "gdb.sock"), os.path.join(tmp, "serial.log")
    ram = f"/dev/shm/vmitrace-fromvm-{os.getpid()}.ram"
    ref = None
    walls = {"file": [], "stub": [], "guest-ram": []}
    if not is32:
        ref_path = os.path.join(tmp, "file.json")
        for _ in range(a.repeat):
            t0 = time.time()
            subprocess.run([vmitrace, "profile", vmlinuz, "--output", ref_path], check=True, capture_output=True)
            walls["file"].append(time.time() - t0)
        ref = json.load(open(ref_path))
    # 686: ends soon after the error. 64-bit: runs until killed, however slow the host
    # (the attach at the end shows it ran on after the profiles were built).
    calls = 20000 if is32 else 10**9
    qemu = subprocess.Popen(qemu_cmd(a.kernel, sock, serial, ram, calls), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        check(wait_for(serial, r"GT workload nanosleep start", 180), "guest did not start its workload")
        runs = [("stub", [])] if is32 else [("stub", []), ("guest-ram", ["--guest-ram", ram])]
        for label, extra in runs * (1 if is32 else a.repeat):
            out = os.path.join(tmp, f"mem-{label}.json")
            t0 = time.time()
            r = subprocess.run([vmitrace, "profile", "--from-vm", "unix:" + sock, "-o", out] + extra,
                               capture_output=True, text=True, timeout=300)
            secs = time.time() - t0
            walls[label].append(secs)
            err = r.stderr.strip()
            print(f"{label}: exit {r.returncode} in {secs:.1f} s: {err}")
            check(len(err.splitlines()) == 1, f"{label}: stderr is not one line: {err!r}")
            if is32:
                check(r.returncode != 0, f"{label}: exit 0 for a kernel without BTF")
                check("has no BTF" in err and "--debug-file" in err and "-r" in err,
                      f"{label}: the error does not name the missing BTF and the routes: {err}")
                check(not os.path.exists(out), f"{label}: an output file was written")
                continue
            if not check(r.returncode == 0, f"{label}: exit {r.returncode}: {err}"):
                continue
            release = open(os.path.join(kdir, "release")).read().strip()
            check(re.match(rf"vmitrace: profile from guest memory: Linux {re.escape(release)}, [\d,]+ symbols, "
                           r"[\d,]+ types, [\d.]+ s", err), f"{label}: unexpected stderr: {err}")
            compare(json.load(open(out)), ref, label)
        if not is32:
            # `vmitrace attach` without -r: the same profile from memory, then tracing.
            events, filt = os.path.join(tmp, "attach.jsonl"), os.path.join(tmp, "filter.txt")
            with open(filt, "w") as f:
                f.write("nanosleep\n")
            r = subprocess.run([vmitrace, "attach", "-d", "unix:" + sock, "--syscalls_filter_file", filt,
                                "--disable_sysret", "--max-events", "10", "--on-backpressure", "drop",
                                "--output", events], capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache")))  # none cached
            print("attach without -r:", r.returncode, r.stderr.strip().replace("\n", " | "))
            check(r.returncode == 0, f"attach without -r exited {r.returncode}: {r.stderr.strip()}")
            check("vmitrace: profile from guest memory: Linux " in r.stderr, "attach without -r: no profile line")
            evs = [json.loads(l) for l in open(events)] if os.path.exists(events) else []
            check(len(evs) == 10 and all(e.get("Method") == "nanosleep" for e in evs),
                  f"attach without -r: {len(evs)} events, expected 10 nanosleep")
            check(any(e.get("ProcessName") == "lab64" for e in evs), "attach without -r: no event from lab64")
        if is32:  # left running: the workload goes on to its end
            check(wait_for(serial, r"GT done", 300), "the guest did not finish after the error")
            try:
                qemu.wait(timeout=60)
            except subprocess.TimeoutExpired:
                check(False, "QEMU did not power off after GT done")
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        if os.path.exists(ram):
            os.unlink(ram)
    if a.repeat > 1 and not is32:
        cpu = plugin_route(vmitrace, a.kernel, a.repeat, tmp, walls)
        med = {k: sorted(v)[len(v) // 2] for k, v in walls.items() if v}
        print(f"profile of Linux {a.kernel}, median wall time of {a.repeat} runs (JSON written): " +
              ", ".join(f"{k} {v:.2f} s ({v / med['file']:.2f}x)" for k, v in med.items()) +
              (f"; QEMU module CPU {sorted(cpu)[len(cpu) // 2]:.2f} s" if cpu else ""))
    print(f"artifacts in {tmp}")
    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
