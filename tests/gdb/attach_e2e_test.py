#!/usr/bin/env python3
"""End-to-end: `vmitrace attach` to a lab guest through QEMU's gdbstub on a unix socket,
check the events against the guest's ground truth (GT lines, guest/README.md), stop
vmitrace with SIGTERM (breakpoints removed, detached) and check that the guest then
finishes its workload (GT done).

Variants:
  reset    QEMU starts stopped (-S); vmitrace attaches before the kernel runs, finds
           it (KASLR) once a vCPU is in kernel mode, traces openat; the test stops
           vmitrace once lab64 has exited and expects lab64's openat of file64.txt
           with lab64's PID.
  running  the guest boots untraced and runs `lab64 nanosleep`; vmitrace attaches to
           the running kernel, traces nanosleep from lab64, is stopped after a few
           events; the guest then finishes.
  ram      like reset, with guest memory read through the RAM file
           (memory-backend-file, share=on) instead of the stub.
  smp2     like reset with two vCPUs (two gdbstub threads).

usage: attach_e2e_test.py --build BUILD --kernel 6.1|6.12 --variant reset|running|ram|smp2
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
FILE64 = "/tmp/vmitrace-lab/file64.txt"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def wait_for(path, pattern, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                m = re.search(pattern, f.read())
            if m:
                return m
        except FileNotFoundError:
            pass
        time.sleep(0.2)
    return None


def qemu_cmd(kernel, workload, append, sock, serial, extra, smp):
    out = subprocess.run([os.path.join(ROOT, "guest/launch.sh"), "--kernel", kernel, "--workload", workload,
                          "--smp", str(smp), "--print-cmd"] + (["--append", append] if append else []),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    # The console goes to a file instead of stdio.
    i = out.index("-chardev")
    out[i + 1] = "file,id=ser0,path=" + serial
    return out + ["-chardev", f"socket,path={sock},server=on,wait=off,id=g0", "-gdb", "chardev:g0"] + extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--kernel", default="6.1")
    ap.add_argument("--variant", default="reset", choices=["reset", "running", "ram", "smp2"])
    a = ap.parse_args()
    vmlinuz = os.path.join(ROOT, ".cache/guest", "kernel-" + a.kernel, "vmlinuz")
    if not os.path.exists(vmlinuz) or not os.path.exists(os.path.join(ROOT, ".cache/guest/initramfs.cpio.gz")):
        print(f"SKIP: lab guest not built ({vmlinuz}); run guest/setup.sh")
        return 77
    vmitrace = os.path.join(a.build, "vmitrace")
    tmp = tempfile.mkdtemp(prefix="vmitrace-attach-")
    sock, serial = os.path.join(tmp, "gdb.sock"), os.path.join(tmp, "serial.log")
    events, log = os.path.join(tmp, "events.jsonl"), os.path.join(tmp, "attach.log")
    profile, filt = os.path.join(tmp, "profile.json"), os.path.join(tmp, "filter.txt")
    ram = f"/dev/shm/vmitrace-attach-{os.getpid()}.ram"
    subprocess.run([vmitrace, "profile", vmlinuz, "--output", profile], check=True, capture_output=True)
    with open(filt, "w") as f:
        f.write("nanosleep\n" if a.variant == "running" else "openat\n")

    extra = ["-S"] if a.variant in ("reset", "ram", "smp2") else []
    if a.variant == "ram":
        extra += ["-object", f"memory-backend-file,id=m,size=512M,mem-path={ram},share=on",
                  "-machine", "memory-backend=m"]
    workload = "nanosleep" if a.variant == "running" else "default"
    append = "vmitrace.nanosleep_calls=400000" if a.variant == "running" else ""
    qemu = subprocess.Popen(qemu_cmd(a.kernel, workload, append, sock, serial, extra, 2 if a.variant == "smp2" else 1),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tracer = None
    try:
        end = time.time() + 10
        while not os.path.exists(sock) and time.time() < end:
            time.sleep(0.1)
        if a.variant == "running":
            check(wait_for(serial, r"GT workload nanosleep start", 120), "guest did not start its workload")
            time.sleep(1)
        cmd = [vmitrace, "attach", "-d", "unix:" + sock, "-r", profile, "--syscalls_filter_file", filt,
               "--disable_sysret", "--output", events]
        if a.variant == "ram":
            cmd += ["--guest-ram", ram]
        tracer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
        if a.variant == "running":
            end = time.time() + 60
            while time.time() < end and tracer.poll() is None:
                if os.path.exists(events) and sum(1 for _ in open(events)) >= 20:
                    break
                time.sleep(0.2)
        else:
            check(wait_for(serial, r"GT exit prog=lab64 ", 240), "lab64 did not finish while traced")
        tracer.send_signal(signal.SIGTERM)
        rc = tracer.wait(timeout=60)
        check(rc == 0, f"vmitrace attach exited {rc} after SIGTERM")
        check(wait_for(serial, r"GT done", 240), "the guest did not finish after detach")
        try:
            qemu.wait(timeout=60)
        except subprocess.TimeoutExpired:
            check(False, "QEMU did not power off after GT done")
    finally:
        for p in (tracer, qemu):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        if os.path.exists(ram):
            os.unlink(ram)

    console = open(serial, errors="replace").read()
    evs = []
    for line in open(events) if os.path.exists(events) else []:
        try:
            evs.append(json.loads(line))
        except ValueError:
            check(False, "not JSON: " + line[:80])
    m = re.search(r"GT lab64 start pid=(\d+)", console)
    if a.variant == "running":
        mine = [e for e in evs if e.get("Method") == "nanosleep" and e.get("ProcessName") == "lab64"]
        check(len(mine) >= 5, f"only {len(mine)} nanosleep events from lab64")
        if m and mine:
            check(all(e["PID"] == int(m.group(1)) for e in mine), "nanosleep events with a PID other than lab64's")
    else:
        check(m is not None, "no 'GT lab64 start' on the console")
        hits = [e for e in evs if e.get("Method") == "openat" and e.get("filename") == FILE64]
        check(hits, f"no openat of {FILE64} among {len(evs)} events")
        if m and hits:
            check(any(e["PID"] == int(m.group(1)) and e["ProcessName"] == "lab64" for e in hits),
                  f"openat of {FILE64} not attributed to lab64 pid {m.group(1)}")
    print(open(log).read().strip())
    print(f"{len(evs)} events; artifacts in {tmp}")
    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
