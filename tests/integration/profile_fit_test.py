#!/usr/bin/env python3
"""End-to-end: a profile that does not fit the running kernel is refused with one line
naming the profile and the symbol or field, and a non-zero exit, through both backends.

The lab's 6.1 profile is built at test time (`vmitrace profile` of the lab kernel) and
edited in JSON, one way per case: a hook outside the kernel text, no task_struct
(both refused before the guest runs), current_task pointing elsewhere, task_struct.pid
or .comm at a wrong offset, init_task elsewhere, task_struct.tasks naming no list
(refused by the start-up self-check once the kernel is located). Then:
  run     one `vmitrace run` boot per case: the error comes right after the kernel is
          located, and vmitrace must end the run by itself, non-zero, within seconds
          (the guest's workload would keep it running for minutes);
  attach  one guest booted with a gdbstub, `vmitrace attach` once per case: the same
          error, a non-zero exit, the guest left running.
The unedited profile passes both ways and says what it checked ("self-check: ... fits").

usage: profile_fit_test.py --build BUILD
Skips (exit 77) when the lab guest is not built.
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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# After the error, a run must end within this many seconds (QEMU asked to quit, then
# killed after a grace period).
END_WITHIN = 20
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def task_field(d, name):
    return d["user_types"]["task_struct"]["fields"][name]


def edit_hook(d):
    # The dispatcher (run) and the filter's per-syscall function (attach).
    for sym in ("x64_sys_call", "__x64_sys_nanosleep"):
        d["symbols"][sym]["address"] = d["symbols"]["_stext"]["address"] - 0x1000000


def edit_no_task_struct(d):
    del d["user_types"]["task_struct"]


def edit_current_task(d):
    d["symbols"]["current_task"]["address"] += 0x40


def edit_pid(d):
    task_field(d, "pid")["offset"] = task_field(d, "comm")["offset"] + 4


def edit_comm(d):
    task_field(d, "comm")["offset"] += 16


def edit_init_task(d):
    d["symbols"]["init_task"]["address"] += 0x4000


def edit_tasks(d):
    task_field(d, "tasks")["offset"] = task_field(d, "comm")["offset"]


# name -> (edit, what the one line says after "<name>.json: ")
CASES = {
    "hook": (edit_hook, r"(x64_sys_call|__x64_sys_nanosleep) at 0x[0-9a-f]+ lies outside the kernel text"),
    "no-task-struct": (edit_no_task_struct, r"no task_struct type in the profile"),
    "current-task": (edit_current_task, r"current_task does not fit the running kernel \("),
    "pid": (edit_pid, r"task_struct\.pid does not fit the running kernel \(init_task reads pid \d+\)"),
    "comm": (edit_comm, r"task_struct\.comm does not fit the running kernel \(init_task reads comm "),
    "init-task": (edit_init_task, r"init_task does not fit the running kernel \("),
    "tasks": (edit_tasks, r"task_struct\.tasks does not fit the running kernel \(the task list from "),
}
# Refused before any guest is looked at: no start-up message precedes them.
BEFORE_GUEST = {"hook", "no-task-struct"}


def error_lines(text, name):
    """The lines that name this profile's error (the line may say 'error: ' first)."""
    return [l for l in text.splitlines() if l.startswith("vmitrace: ") and f"{name}.json: " in l
            and "self-check" not in l and "hooks:" not in l]


def wait_file(path, pattern, timeout, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        try:
            m = re.search(pattern, open(path, errors="replace").read())
            if m:
                return m
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            return re.search(pattern, open(path, errors="replace").read()) if os.path.exists(path) else None
        time.sleep(0.2)
    return None


def stop(proc):
    if proc and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def run_case(vmitrace, tmp, name, profile, want):
    """One boot under `vmitrace run`: the one-line error, then the run ends by itself, non-zero."""
    log = os.path.join(tmp, f"run-{name}.stderr")
    launch = [os.path.join(ROOT, "guest/launch.sh"), "--kernel", "6.1", "--workload", "nanosleep",
              "--append", "vmitrace.nanosleep_calls=400000", "--log", os.path.join(tmp, f"run-{name}.console"),
              "--timeout", "180", "--", vmitrace, "run", "-r", profile, "--output", os.path.join(tmp, f"run-{name}.jsonl"),
              "--"]
    t0 = time.time()
    proc = subprocess.Popen(launch, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                            start_new_session=True)
    try:
        m = wait_file(log, f"{re.escape(name)}\\.json: {want}", 90, proc)
        seen = time.time()
        check(m is not None, f"run {name}: no '{name}.json: {want}' message")
        try:
            rc = proc.wait(timeout=END_WITHIN)
            # launch.sh passes vmitrace's status on (its own 124 would be a timeout).
            check(rc not in (0, 124), f"run {name}: exit status {rc}, expected vmitrace's non-zero")
        except subprocess.TimeoutExpired:
            check(False, f"run {name}: still running {END_WITHIN} s after the error")
        text = open(log, errors="replace").read()
        lines = error_lines(text, name)
        check(len(lines) == 1, f"run {name}: not one error line naming the profile: {lines}")
        print(f"run {name}: error after {seen - t0:.1f} s, ended after {time.time() - t0:.1f} s: "
              f"{lines[0] if lines else '-'}", flush=True)
    finally:
        stop(proc)


def run_healthy(vmitrace, tmp, profile):
    log = os.path.join(tmp, "run-healthy.stderr")
    launch = [os.path.join(ROOT, "guest/launch.sh"), "--kernel", "6.1", "--log", os.path.join(tmp, "run-healthy.console"),
              "--timeout", "180", "--", vmitrace, "run", "-r", profile, "--max-events", "100",
              "--output", os.path.join(tmp, "run-healthy.jsonl"), "--"]
    proc = subprocess.Popen(launch, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                            start_new_session=True)
    try:
        rc = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        stop(proc)
    text = open(log, errors="replace").read()
    fit = re.search(r"vmitrace: self-check: .*healthy\.json: the profile fits the running kernel: .*init_task "
                    r"\"swapper(/0)?\".*\d+ guest reads", text)
    check(fit is not None, "run healthy: no 'self-check: ... fits' line")
    evs = [json.loads(l) for l in open(os.path.join(tmp, "run-healthy.jsonl"))]
    check(len(evs) == 100 and all(e["PID"] >= 0 and e["ProcessName"] for e in evs),
          f"run healthy: {len(evs)} events, some without a process")
    # --max-events stops QEMU; launch.sh then misses GT done: its own status, not vmitrace's error.
    check("vmitrace: error" not in text, "run healthy: an error line: " + text[-500:])
    print("run healthy:", fit.group(0) if fit else "-", f"(status {rc})", flush=True)


def attach_cases(vmitrace, tmp, profiles):
    """One guest with a gdbstub; vmitrace attach once per case, then the healthy profile."""
    sock, serial = os.path.join(tmp, "gdb.sock"), os.path.join(tmp, "attach.console")
    cmd = subprocess.run([os.path.join(ROOT, "guest/launch.sh"), "--kernel", "6.1", "--workload", "nanosleep",
                          "--append", "vmitrace.nanosleep_calls=400000", "--print-cmd"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    i = cmd.index("-chardev")
    cmd[i + 1] = "file,id=ser0,path=" + serial
    cmd += ["-chardev", f"socket,path={sock},server=on,wait=off,id=g0", "-gdb", "chardev:g0"]
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    filt = os.path.join(tmp, "filter.txt")
    with open(filt, "w") as f:
        f.write("nanosleep\n")
    try:
        if not check(wait_file(serial, r"GT workload nanosleep start", 180) is not None,
                     "attach: the guest did not start its workload"):
            return
        for name, want in profiles:
            log = os.path.join(tmp, f"attach-{name}.stderr")
            t0 = time.time()
            try:
                r = subprocess.run([vmitrace, "attach", "-d", "unix:" + sock, "-r", os.path.join(tmp, name + ".json"),
                                    "--syscalls_filter_file", filt, "--disable_sysret", "--max-events", "5",
                                    "--output", os.path.join(tmp, f"attach-{name}.jsonl")],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                                   timeout=120)
            except subprocess.TimeoutExpired:
                check(False, f"attach {name}: still attached after 120 s")
                continue
            text = open(log, errors="replace").read()
            if name == "healthy":
                check(r.returncode == 0, f"attach healthy: exit {r.returncode}: {text[-400:]}")
                fit = re.search(r"vmitrace: self-check: .*healthy\.json: the profile fits the running kernel.*", text)
                check(fit is not None, "attach healthy: no 'self-check: ... fits' line")
                print(f"attach healthy ({time.time() - t0:.1f} s):", fit.group(0) if fit else "-", flush=True)
                continue
            check(r.returncode != 0, f"attach {name}: exit status 0")
            check(re.search(f"{re.escape(name)}\\.json: {want}", text), f"attach {name}: no '{name}.json: {want}'")
            # attach repeats the fatal error after its summary: the same line, said twice at most.
            lines = error_lines(text, name)
            check(1 <= len(lines) <= 2 and len({re.sub(r"^vmitrace: (error: )?", "", l) for l in lines}) == 1,
                  f"attach {name}: not one error: {lines}")
            print(f"attach {name} ({time.time() - t0:.1f} s, exit {r.returncode}): {lines[0] if lines else '-'}",
                  flush=True)
        check(qemu.poll() is None, "attach: the guest did not survive the attaches")
    finally:
        stop(qemu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    a = ap.parse_args()
    vmlinuz = os.path.join(ROOT, ".cache/guest/kernel-6.1/vmlinuz")
    if not os.path.exists(vmlinuz) or not os.path.exists(os.path.join(ROOT, ".cache/guest/initramfs.cpio.gz")):
        print(f"SKIP: lab guest not built ({vmlinuz}); run guest/setup.sh")
        return 77
    vmitrace = os.path.join(a.build, "vmitrace")
    tmp = tempfile.mkdtemp(prefix="vmitrace-fit-")
    real = os.path.join(tmp, "healthy.json")
    subprocess.run([vmitrace, "profile", vmlinuz, "--output", real], check=True, capture_output=True)
    base = json.load(open(real))
    for name, (edit, _) in CASES.items():
        d = json.loads(json.dumps(base))
        edit(d)
        with open(os.path.join(tmp, name + ".json"), "w") as f:
            json.dump(d, f)

    for name, (_, want) in CASES.items():
        if name in BEFORE_GUEST:  # refused before QEMU starts
            r = subprocess.run([vmitrace, "run", "-r", os.path.join(tmp, name + ".json"), "--",
                                "qemu-system-x86_64", "-kernel", vmlinuz], capture_output=True, text=True, timeout=60)
            lines = error_lines(r.stderr, name)
            check(r.returncode != 0 and len(lines) == 1 and re.search(want, lines[0]),
                  f"run {name}: exit {r.returncode}, lines {lines}")
            print(f"run {name}: exit {r.returncode}: {lines[0] if lines else '-'}", flush=True)
        else:
            run_case(vmitrace, tmp, name, os.path.join(tmp, name + ".json"), want)
    run_healthy(vmitrace, tmp, real)
    attach_cases(vmitrace, tmp, [(n, w) for n, (_, w) in CASES.items()] + [("healthy", "")])

    if failures:
        print(f"{len(failures)} failures; artifacts in {tmp}")
        return 1
    subprocess.run(["rm", "-rf", tmp])
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
