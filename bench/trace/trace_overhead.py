#!/usr/bin/env python3
"""Guest slowdown caused by tracing (issue 3's benchmark; arm64: issue 18).

Boots a lab guest (x86-64, or arm64 under qemu-system-aarch64 with --kernel arm64-*)
with the syscall-heavy `bench` workload four ways, in the same run: untraced, fully
traced (entries + sysret, json to a file) with raw arguments, the same with
`--args rich` (issue 4: the cost of strace-style decoding), and traced with a
5-syscall filter. Prints the guest's own duration of the bench phase (from its uptime,
GT bench lines) and the whole VM's host wall time and host CPU, each as a ratio to the
untraced runs of the same session (medians, then the best runs), with the host's load
average when each run started; then the deterministic work per event of the traced
runs (the QEMU module's VMITRACE_BACKEND_STATS line: hook calls, guest page reads and
register reads per event), which do not move with the host's load.

usage: trace_overhead.py [--build BUILD] [--kernel 6.1|6.12|arm64-6.1|arm64-6.12]
                         [--rounds N] [--repeat R] [--no-nanosleep]
Exit 77 (skipped, with the reason) when the lab kernel or its initramfs is missing.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Five syscalls outside the bench loop: what a filtered trace of a busy guest costs.
# arm64's (asm-generic) table has no mkdir: the lab program calls mkdirat there.
FILTER = {"x86": ["execve", "mkdir", "prctl", "nanosleep", "kill"],
          "arm64": ["execve", "mkdirat", "prctl", "nanosleep", "kill"]}
# The QEMU module's line at exit with VMITRACE_BACKEND_STATS=1 (qemu_plugin/entry.cpp),
# and vmitrace's summary line.
BACKEND = re.compile(r"vmitrace: backend: (\d+) hook calls, (\d+) guest page reads .*?, (\d+) register reads "
                     r".*?, ([\d.]+) s wall in hook callbacks")
EVENTS = re.compile(r"vmitrace: (\d+) events in ")


def tree_cpu(root):
    """User+sys seconds of root and every live descendant (reaped children included)."""
    parent, cpu = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()  # the fields after the command name
        parent[int(d)] = int(f[1])
        cpu[int(d)] = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0)
        todo += [c for c, pp in parent.items() if pp == p]
    return total / os.sysconf("SC_CLK_TCK")


def run(kernel, rounds, wrapper, tmp, tag):
    """One boot: (guest bench s, bench host CPU s, VM wall s, host CPU s, load average, counts or None).
    A boot that fails before the bench starts is tried again (twice at most): on a loaded
    host the x86 guest's early timer check can fail (panic "IO-APIC + timer doesn't work")."""
    for attempt in range(3):
        got = boot(kernel, rounds, wrapper, tmp, tag if attempt == 0 else f"{tag}-retry{attempt}")
        if not isinstance(got, str):
            return got
        print(f"{tag}: {got}; booting again", flush=True)
    sys.exit(f"{tag}: {got}")


def boot(kernel, rounds, wrapper, tmp, tag):
    """run()'s result, or why the boot failed before the bench started."""
    log = os.path.join(tmp, f"console-{tag}.log")
    cmd = [os.path.join(ROOT, "guest/launch.sh"), "--kernel", kernel, "--workload", "bench",
           "--append", f"vmitrace.bench_rounds={rounds}", "--log", log, "--timeout", "1800"]
    if wrapper:
        cmd += ["--"] + wrapper
    cpu_file = os.path.join(tmp, f"cpu-{tag}.txt")
    cmd = ["/usr/bin/time", "-f", "%U %S", "-o", cpu_file] + cmd
    # Two clock reads per hook call for the wall time in callbacks: noise next to a
    # callback's microseconds, and the same in every traced mode.
    env = dict(os.environ, VMITRACE_BACKEND_STATS="1")
    load = os.getloadavg()[0]
    err = open(os.path.join(tmp, f"stderr-{tag}.txt"), "w+")
    t0 = time.monotonic()
    # Its own process group: an interrupted benchmark (Ctrl-C, meson's timeout) stops the
    # boot with it (launch.sh passes SIGTERM on to the group timeout(1) runs QEMU in).
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True, env=env,
                            start_new_session=True)
    # The host CPU of the bench phase alone (QEMU and vmitrace), sampled when the guest
    # prints its start and end lines: unlike time on a clock, CPU time does not grow
    # while the host's other jobs hold the CPUs.
    marks = {}
    try:
        while proc.poll() is None:
            time.sleep(0.05)
            if len(marks) < 2 and os.path.exists(log):
                text = open(log, errors="replace").read()
                for m in ("start", "end"):
                    if m not in marks and f"GT bench {m} uptime=" in text:
                        marks[m] = tree_cpu(proc.pid)
    except BaseException:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise
    wall = time.monotonic() - t0
    err.seek(0)
    stderr = err.read()
    err.close()
    if proc.returncode != 0:
        if "start" not in marks:
            return f"launch failed before the bench ({proc.returncode}): {stderr.strip()[-300:]}"
        sys.exit(f"{tag}: launch failed ({proc.returncode}): {stderr[-2000:]}")
    user, system = (float(x) for x in open(cpu_file).read().split()[-2:])
    text = open(log, errors="replace").read()
    s = re.search(r"GT bench start uptime=([\d.]+)", text)
    e = re.search(r"GT bench end uptime=([\d.]+)", text)
    if not (s and e and len(marks) == 2):
        sys.exit(f"{tag}: no GT bench start/end lines in {log}")
    counts = None
    if wrapper:
        b, n = BACKEND.search(stderr), EVENTS.search(stderr)
        if not (b and n):
            sys.exit(f"{tag}: no backend/events line on vmitrace's stderr: {stderr[-2000:]}")
        counts = {"events": int(n.group(1)), "hooks": int(b.group(1)), "page_reads": int(b.group(2)),
                  "reg_reads": int(b.group(3)), "hook_s": float(b.group(4))}
    return (float(e.group(1)) - float(s.group(1)), marks["end"] - marks["start"], wall, user + system,
            load, counts)


def missing_lab(kernel):
    """Why the lab cannot boot this kernel ("" when it can)."""
    arm = kernel.startswith("arm64")
    need = [os.path.join(ROOT, ".cache/guest", f"kernel-{kernel}", "vmlinuz"),
            os.path.join(ROOT, ".cache/guest", "initramfs-arm64.cpio.gz" if arm else "initramfs.cpio.gz")]
    gone = [p for p in need if not os.path.exists(p)]
    return f"{', '.join(gone)} missing (guest/setup.sh)" if gone else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--kernel", default="6.1")
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-nanosleep", action="store_true", help="skip the nanosleep(1 us) cost")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds through run()'s cleanup
    why = missing_lab(a.kernel)
    if why:
        print(f"SKIP: {why}")
        sys.exit(77)
    arch = "arm64" if a.kernel.startswith("arm64") else "x86"
    vmitrace = os.path.join(a.build, "vmitrace")
    tmp = tempfile.mkdtemp(prefix="vmitrace-bench-")
    fpath = os.path.join(tmp, "filter.txt")
    with open(fpath, "w") as f:
        f.write("\n".join(FILTER[arch]) + "\n")
    modes = {
        "untraced": None,
        "full": [vmitrace, "run", "-o", "json", "--output", os.path.join(tmp, "full.jsonl"), "--"],
        "full-rich": [vmitrace, "run", "-o", "json", "--args", "rich", "--output", os.path.join(tmp, "rich.jsonl"), "--"],
        "filter5": [vmitrace, "run", "-o", "json", "--output", os.path.join(tmp, "filter.jsonl"),
                    "--syscalls_filter_file", fpath, "--"],
    }
    res = {m: [] for m in modes}
    order = list(modes)
    try:
        for i in range(a.repeat):
            # Interleaved, so drift hits every mode alike, and each round starts with the
            # next mode, so that no mode always follows the same one.
            for m in order[i % len(order):] + order[:i % len(order)]:
                res[m].append(run(a.kernel, a.rounds, modes[m], tmp, f"{m}-{i}"))
        report(a, modes, res)
        if not a.no_nanosleep:
            nanosleep_cost(a, vmitrace, tmp)
    except (KeyboardInterrupt, SystemExit) as e:
        if isinstance(e, KeyboardInterrupt) or e.code == 143:
            shutil.rmtree(tmp, ignore_errors=True)  # interrupted; a failure keeps its logs
        raise
    shutil.rmtree(tmp, ignore_errors=True)


def report(a, modes, res):
    loads = [r[4] for rs in res.values() for r in rs]
    print(f"kernel {a.kernel}, bench rounds {a.rounds}, {a.repeat} runs per mode, interleaved; "
          f"host load average (1 min) at the runs' starts: median {statistics.median(loads):.1f}, "
          f"{min(loads):.1f} to {max(loads):.1f} ({os.cpu_count()} CPUs)")
    print("guest bench: the bench phase by the guest's clock; bench CPU: host CPU of QEMU and vmitrace")
    print("during it; VM wall, host CPU: the whole boot+run+power-off (capture, formatting, writing)")
    names = ("guest bench s", "bench CPU s", "VM wall s", "host CPU s")
    cols = f"{'mode':10}" + "".join(f" {n:>13} {'ratio':>6}" for n in names)
    for title, pick in (("median of the runs", statistics.median), ("best of the runs", min)):
        val = {m: tuple(pick(r[i] for r in res[m]) for i in range(4)) for m in modes}
        base = val["untraced"]
        print(f"{title}:")
        print(cols)
        for m, v in val.items():
            print(f"{m:10}" + "".join(f" {x:13.2f} {x / b:6.3f}" for x, b in zip(v, base)))
        print("rich/raw (full trace): " + ", ".join(
            f"{n} {r / f:.3f}" for n, r, f in zip(names, val["full-rich"], val["full"])))
    # Guest timings under TCG on a shared host spread widely (the untraced run too):
    # every sample is printed, with the load average it started under.
    print("every run in order: guest bench s / bench CPU s (load average at its start)")
    for m in modes:
        print(f"{m:10} " + " ".join(f"{r[0]:.2f}/{r[1]:.2f} ({r[4]:.1f})" for r in res[m]))
    print("work per event of the traced runs (VMITRACE_BACKEND_STATS, median of the runs):")
    print(f"{'mode':10} {'events':>8} {'hook calls/ev':>14} {'page reads/ev':>14} {'reg reads/ev':>13} {'us per hook':>12}")
    for m in modes:
        cs = [r[5] for r in res[m] if r[5]]
        if not cs:
            continue
        med = lambda f: statistics.median(f(c) for c in cs)  # noqa: E731
        print(f"{m:10} {med(lambda c: c['events']):8.0f} {med(lambda c: c['hooks'] / c['events']):14.3f} "
              f"{med(lambda c: c['page_reads'] / c['events']):14.2f} {med(lambda c: c['reg_reads'] / c['events']):13.2f} "
              f"{med(lambda c: c['hook_s'] * 1e6 / c['hooks']):12.2f}")


def nanosleep_cost(a, vmitrace, tmp):
    """What one nanosleep(1 us) costs the guest, untraced and traced (README)."""
    per_call = {}
    for m, wrapper in {"untraced": None,
                       "full": [vmitrace, "run", "-o", "json", "--output", os.path.join(tmp, "ns.jsonl"), "--"]}.items():
        best = None
        for i in range(a.repeat):
            log = os.path.join(tmp, f"ns-{m}-{i}.log")
            cmd = [os.path.join(ROOT, "guest/launch.sh"), "--kernel", a.kernel, "--workload", "nanosleep",
                   "--append", "vmitrace.nanosleep_calls=2000", "--log", log, "--timeout", "600"]
            if wrapper:
                cmd += ["--"] + wrapper
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            found = re.search(r"per_call_ns=(\d+)", open(log, errors="replace").read())
            if not found:
                sys.exit(f"nanosleep {m}: no GT nanosleep line in {log}")
            v = int(found.group(1))
            best = v if best is None else min(best, v)
        per_call[m] = best
    print(f"nanosleep(1 us), 2000 calls: untraced {per_call['untraced'] / 1000:.1f} us per call, "
          f"traced {per_call['full'] / 1000:.1f} us per call "
          f"(ratio {per_call['full'] / per_call['untraced']:.3f})")


if __name__ == "__main__":
    main()
