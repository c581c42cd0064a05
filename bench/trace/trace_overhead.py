#!/usr/bin/env python3
"""Guest slowdown caused by tracing (issue 3's benchmark).

Boots the lab guest with the syscall-heavy `bench` workload four ways, in the same run:
untraced, fully traced (entries + sysret, json to a file) with raw arguments, the same
with `--args rich` (issue 4: the cost of strace-style decoding), and traced with a
5-syscall filter. Prints the guest's own duration of the bench phase (from its uptime,
GT bench lines) and the whole VM's host wall time, each as a ratio to the untraced run,
and the rich/raw ratios.

usage: trace_overhead.py [--build BUILD] [--kernel 6.1] [--rounds N] [--repeat R]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Five syscalls outside the bench loop: what a filtered trace of a busy guest costs.
FILTER = ["execve", "mkdir", "prctl", "nanosleep", "kill"]


def run(kernel, rounds, wrapper, tmp, tag):
    log = os.path.join(tmp, f"console-{tag}.log")
    cmd = [os.path.join(ROOT, "guest/launch.sh"), "--kernel", kernel, "--workload", "bench",
           "--append", f"vmitrace.bench_rounds={rounds}", "--log", log, "--timeout", "1200"]
    if wrapper:
        cmd += ["--"] + wrapper
    cpu_file = os.path.join(tmp, f"cpu-{tag}.txt")
    cmd = ["/usr/bin/time", "-f", "%U %S", "-o", cpu_file] + cmd
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    user, system = (float(x) for x in open(cpu_file).read().split()[-2:])
    if r.returncode != 0:
        sys.exit(f"{tag}: launch failed ({r.returncode}): {r.stderr[-2000:]}")
    text = open(log, errors="replace").read()
    s = re.search(r"GT bench start uptime=([\d.]+)", text)
    e = re.search(r"GT bench end uptime=([\d.]+)", text)
    if not (s and e):
        sys.exit(f"{tag}: no GT bench start/end lines in {log}")
    return float(e.group(1)) - float(s.group(1)), wall, user + system


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--kernel", default="6.1")
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    vmitrace = os.path.join(a.build, "vmitrace")
    tmp = tempfile.mkdtemp(prefix="vmitrace-bench-")
    fpath = os.path.join(tmp, "filter.txt")
    with open(fpath, "w") as f:
        f.write("\n".join(FILTER) + "\n")
    modes = {
        "untraced": None,
        "full": [vmitrace, "run", "-o", "json", "--output", os.path.join(tmp, "full.jsonl"), "--"],
        "full-rich": [vmitrace, "run", "-o", "json", "--args", "rich", "--output", os.path.join(tmp, "rich.jsonl"), "--"],
        "filter5": [vmitrace, "run", "-o", "json", "--output", os.path.join(tmp, "filter.jsonl"),
                    "--syscalls_filter_file", fpath, "--"],
    }
    res = {m: [] for m in modes}
    for i in range(a.repeat):
        for m, w in modes.items():  # interleaved, so drift hits every mode alike
            res[m].append(run(a.kernel, a.rounds, w, tmp, f"{m}-{i}"))
    base_g, base_w, base_c = (min(r[i] for r in res["untraced"]) for i in range(3))
    events = sum(1 for _ in open(os.path.join(tmp, "full.jsonl")))
    print(f"kernel {a.kernel}, bench rounds {a.rounds}, best of {a.repeat}; full trace wrote {events} events")
    print("guest bench s: the bench phase by the guest's clock; VM wall s: the whole boot+run+power-off;")
    print("host CPU s: user+sys of QEMU and vmitrace together (capture, formatting, writing)")
    print(f"{'mode':10} {'guest bench s':>14} {'ratio':>7} {'VM wall s':>10} {'ratio':>7} {'host CPU s':>11} {'ratio':>7}")
    best = {m: tuple(min(r[i] for r in res[m]) for i in range(3)) for m in modes}
    for m, (g, w, c) in best.items():
        print(f"{m:10} {g:14.2f} {g / base_g:7.3f} {w:10.2f} {w / base_w:7.3f} {c:11.2f} {c / base_c:7.3f}")
    # Guest timings under TCG on a shared host spread widely (the untraced run too):
    # the median and every sample are printed so that one lucky run is visible.
    med_g = {m: statistics.median(r[0] for r in res[m]) for m in modes}
    print("guest bench s, median of the runs (ratio), then every run in order:")
    for m in modes:
        runs = " ".join(f"{r[0]:.2f}" for r in res[m])
        print(f"{m:10} {med_g[m]:8.2f} ({med_g[m] / med_g['untraced']:.3f})   {runs}")
    (rg, rw, rc), (fg, fw, fc) = best["full-rich"], best["full"]
    print(f"rich/raw (full trace): guest bench {rg / fg:.3f}, VM wall {rw / fw:.3f}, host CPU {rc / fc:.3f}")
    nanosleep_cost(a, vmitrace, tmp)
    subprocess.run(["rm", "-rf", tmp])


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
