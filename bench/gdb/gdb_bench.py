#!/usr/bin/env python3
"""Benchmark of the gdbstub backend (`vmitrace attach`), all in one run on the same lab
guest (6.1, 1 vCPU, TCG, the `bench` workload):

  untraced   the bench phase's wall time with nothing attached: T0
  bare       gdb_bare_roundtrip: a breakpoint on x64_sys_call, hit + step + continue,
             no reads of its own: the floor of the stub round trip
  stub       vmitrace attach --disable_sysret (one breakpoint per syscall, as bare),
             guest memory read through the stub (physical mode)
  ram        the same with --guest-ram (QEMU's RAM file, memory-backend-file share=on)

Each traced mode attaches when the console shows `GT bench start`, stays attached for
--window seconds, detaches, and the guest finishes the bench untraced. Times are the
host's (the guest's clock stops while the VM is stopped at a breakpoint). Per mode:
  events/s = hits / time attached;
  slowdown = time attached / untraced time of the work done meanwhile, where that work
             is T0 minus the bench's untraced time before attach and after detach.
usage: gdb_bench.py --build BUILD [--rounds R] [--loops L] [--window S]
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_for(path, pattern, timeout):
    """The host time (time.time()) when pattern first appears in path, or None."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                if re.search(pattern, f.read()):
                    return time.time()
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    return None


def qemu_cmd(append, sock, serial, ram, stopped=False):
    out = subprocess.run([os.path.join(ROOT, "guest/launch.sh"), "--kernel", "6.1", "--workload", "bench",
                          "--append", append, "--print-cmd"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    i = out.index("-chardev")
    out[i + 1] = "file,id=ser0,path=" + serial
    out += ["-chardev", f"socket,path={sock},server=on,wait=off,id=g0", "-gdb", "chardev:g0"]
    if stopped:
        out += ["-S"]
    if ram:
        out += ["-object", f"memory-backend-file,id=m,size=512M,mem-path={ram},share=on",
                "-machine", "memory-backend=m"]
    return out


def run_mode(mode, a, tmp, profile):
    serial = os.path.join(tmp, f"serial-{mode}.log")
    sock = os.path.join(tmp, f"gdb-{mode}.sock")
    ram = f"/dev/shm/vmitrace-bench-{os.getpid()}.ram" if mode == "ram" else None
    append = f"vmitrace.bench_rounds={a.rounds} vmitrace.bench_loops={a.loops}"
    qemu = subprocess.Popen(qemu_cmd(append, sock, serial, ram), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tracer, lines, t_a, t_d = None, [], None, None
    try:
        t_s = wait_for(serial, r"GT bench start", 600)
        if not t_s:
            sys.exit(f"{mode}: the guest did not start its bench")
        if mode != "untraced":
            if mode == "bare":
                cmd = [os.path.join(a.build, "bench/gdb/gdb_bare_roundtrip"), "unix:" + sock, profile]
            else:
                cmd = [os.path.join(a.build, "vmitrace"), "attach", "-d", "unix:" + sock, "-r", profile,
                       "--disable_sysret", "--output", os.path.join(tmp, f"events-{mode}.jsonl")]
                if ram:
                    cmd += ["--guest-ram", ram]
            tracer = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            attached = threading.Event()

            def reader():
                for line in tracer.stdout:
                    lines.append(line.rstrip())
                    if "attached" in line and not attached.is_set():
                        lines.append(f"# attached at {time.time()}")
                        attached.set()
            th = threading.Thread(target=reader, daemon=True)
            th.start()
            if not attached.wait(120):
                sys.exit(f"{mode}: the tracer did not attach: {lines}")
            t_a = float(lines[-1].split()[-1]) if lines[-1].startswith("# attached") else time.time()
            time.sleep(a.window)
            tracer.send_signal(signal.SIGTERM)
            tracer.wait(timeout=120)
            t_d = time.time()
            th.join(10)
        t_e = wait_for(serial, r"GT bench end", 1800)
        if not t_e or not wait_for(serial, r"GT done", 600):
            sys.exit(f"{mode}: the guest did not finish its bench")
        qemu.wait(timeout=120)
    finally:
        for p in (tracer, qemu):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        if ram and os.path.exists(ram):
            os.unlink(ram)
    out = "\n".join(l for l in lines if not l.startswith("# attached"))
    hits = None
    m = re.search(r"bare: (\d+) hits", out) or re.search(r"vmitrace: (\d+) breakpoint hits", out)
    if m:
        hits = int(m.group(1))
    if mode != "untraced" and hits is None:
        sys.exit(f"{mode}: no hit count in the tracer's output:\n{out}")
    return {"t_s": t_s, "t_a": t_a, "t_d": t_d, "t_e": t_e, "hits": hits, "out": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--loops", type=int, default=400)
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--modes", default="untraced,bare,stub,ram")
    a = ap.parse_args()
    vmlinuz = os.path.join(ROOT, ".cache/guest/kernel-6.1/vmlinuz")
    if not os.path.exists(vmlinuz):
        print("SKIP: lab guest not built (guest/setup.sh)")
        return 77
    tmp = tempfile.mkdtemp(prefix="vmitrace-gdb-bench-")
    profile = os.path.join(tmp, "profile.json")
    subprocess.run([os.path.join(a.build, "vmitrace"), "profile", vmlinuz, "--output", profile],
                   check=True, capture_output=True)
    res = {}
    for mode in a.modes.split(","):
        res[mode] = r = run_mode(mode, a, tmp, profile)
        print(f"{mode}: bench phase {r['t_e'] - r['t_s']:.2f} s" +
              (f", attached {r['t_d'] - r['t_a']:.2f} s, {r['hits']} hits" if r["hits"] is not None else ""),
              flush=True)
        for l in r["out"].splitlines():
            if "events in" in l or "hits" in l or "dropped" in l:
                print("  " + l)
    t0 = res["untraced"]["t_e"] - res["untraced"]["t_s"] if "untraced" in res else None
    rates = {m: r["hits"] / (r["t_d"] - r["t_a"]) for m, r in res.items() if r["hits"] is not None}
    print(f"\nuntraced bench phase T0 = {t0:.2f} s" if t0 else "")
    print("mode      events/s  vs bare  guest slowdown")
    for mode, r in res.items():
        if mode not in rates:
            continue
        rate = rates[mode]
        vs = f"{rate / rates['bare']:6.0%}" if "bare" in rates else "     -"
        slow = "      -"
        if t0:
            if r["t_e"] >= r["t_d"]:
                work = t0 - (r["t_a"] - r["t_s"]) - (r["t_e"] - r["t_d"])
                spent = r["t_d"] - r["t_a"]
            else:  # the bench ended while attached
                work = t0 - (r["t_a"] - r["t_s"])
                spent = r["t_e"] - r["t_a"]
            slow = f"{spent / work:7.1f}x" if work > 0.05 else "  (n/a)"
        print(f"{mode:9s} {rate:8.1f}  {vs}  {slow}")
    print(f"artifacts in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
