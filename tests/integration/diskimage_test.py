#!/usr/bin/env python3
"""The disk-image guest (guest/build-debian-image.sh: SeaBIOS, GRUB, Debian's kernel and
initrd, a Debian bookworm root file system) traced by `vmitrace run` from QEMU's start
to the guest's power-off, with no -kernel on QEMU's command line and no -r (the profile is
built from guest memory, cache empty). One boot, checked three ways:

  boot     vmitrace and the guest end cleanly; the trace holds the initramfs' early user
           space (PID 1 before it execs the root file system's init), the switch to
           /usr/local/sbin/vmitrace-init and the final reboot(2) by perl
  programs every Debian program of the workload (the loader run as a program, ldd,
           coreutils, ps, tar, gzip, python3) is seen exec'd successfully, in the plain
           run and again under strace
  strace   the workload's second run, under strace -f inside the guest, compared with
           vmitrace's events of the same threads (strace_compare_test.py): names, return
           values, errno, path arguments and -y's descriptor paths must agree fully, the
           rendered arguments (--args rich --capture-buffers 256) at the lab's floor

With --attach, instead: the guest boots untraced with its gdbstub on a Unix socket; once
its workload starts, `vmitrace attach` with no -r (the profile comes from the guest's
memory) traces execve (--disable_sysret, --max-events 10), detaches, and the guest runs
on to its power-off.

usage: diskimage_test.py --build BUILD [--attach] [--keep]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strace_compare_test as sc  # noqa: E402
import strace_log  # noqa: E402

ROOT = sc.ROOT
CACHE = os.path.join(ROOT, ".cache", "guest")
IMAGE, VMLINUZ = os.path.join(CACHE, "debian.img"), os.path.join(CACHE, "debian.vmlinuz")
# Programs of guest/debian/files/usr/local/lib/vmitrace/workload.sh, run twice (plain,
# then under strace): the basename of the execve'd file.
WORKLOAD_PROGRAMS = ["ld-linux-x86-64.so.2", "ldd", "cp", "ln", "mv", "ls", "stat", "sort", "sha256sum",
                     "ps", "tar", "gzip", "python3"]
# The arguments that name a file (the kernel's names): they must all agree.
PATH_ARGS = {"filename", "pathname", "oldname", "newname", "path"}
check = sc.check


def basename_of(arg):
    return arg.strip('"').rsplit("/", 1)[-1]


def check_boot(console, calls):
    """calls: vmitrace's calls of every TID (strace_compare_test.vmitrace_calls)."""
    for label in ("workload", "strace"):
        check(re.search(rf"^GT exit prog={label} status=0$", console, re.M), f"GT exit prog={label} status=0 missing")
    check(len(re.findall(r"^GT python tcp=\d+ peer=127\.0\.0\.1 reply=b'PING", console, re.M)) == 2,
          "the python step did not report its TCP exchange twice")
    pid1 = calls.get(1, [])
    switch = [i for i, c in enumerate(pid1) if c["name"] == "execve" and c["ret"] == 0
              and dict(c["args"]).get("filename") == '"/usr/local/sbin/vmitrace-init"']
    if check(switch, "no successful execve of /usr/local/sbin/vmitrace-init by PID 1"):
        at = int(pid1[switch[0]]["uid"], 16)
        early = [c for cs in calls.values() for c in cs if int(c["uid"], 16) < at]
        check(any(c["name"] == "mount" for c in early) and len(early) >= 50,
              f"only {len(early)} calls before the switch to the root file system (the initramfs' mounts expected)")
    reboot = [c for cs in calls.values() for c in cs if c["name"] == "reboot"]
    cmd = dict(reboot[-1]["args"]).get("cmd", "") if reboot else ""
    check(cmd == "LINUX_REBOOT_CMD_POWER_OFF" or (re.fullmatch(r"(0x)?[0-9a-f]+", cmd) and int(cmd, 0) == 0x4321FEDC),
          f"no reboot(LINUX_REBOOT_CMD_POWER_OFF) at the end: {reboot[-1:]}")


def check_programs(calls):
    seen = {}
    for cs in calls.values():
        for c in cs:
            if c["name"] == "execve" and c["ret"] == 0:
                name = basename_of(dict(c["args"]).get("filename", ""))
                seen[name] = seen.get(name, 0) + 1
    for prog in WORKLOAD_PROGRAMS:
        check(seen.get(prog, 0) >= 2, f"{prog}: {seen.get(prog, 0)} successful execve seen, want 2 (plain + strace)")


def strace_calls(console):
    """strace's calls from the console (`GT strace begin lines=N`, N `ST ` lines, `GT strace end`)."""
    lines = strace_log.from_console(console)
    begin = re.search(r"^GT strace begin lines=(\d+)$", console, re.M)
    check(begin and "GT strace end" in console and int(begin.group(1)) == len(lines),
          f"strace's log incomplete on the console: {begin and begin.group(0)}, {len(lines)} ST lines")
    return strace_log.parse(lines)


def assess(st):
    """The lab's rules (strace_compare_test.assess: names, return values, errno and fd
    paths agree fully, rendered arguments at its floor), and every path argument."""
    sc.assess(st)
    paths = [row for (name, arg), row in st.per_arg.items() if arg in PATH_ARGS]
    n, ok = sum(r[0] for r in paths), sum(r[1] for r in paths)
    check(n >= 500 and ok == n, f"path arguments: {ok}/{n} agree")
    check(st.n["sequence"] >= 2000, f"only {st.n['sequence']} calls compared")
    print(f"path arguments {ok}/{n}")


def wait_for(path, pattern, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path) and re.search(pattern, open(path, errors="replace").read(), re.M):
            return True
        time.sleep(0.2)
    return False


def attach_run(vmitrace, tmp):
    sock, console_path = os.path.join(tmp, "gdb.sock"), os.path.join(tmp, "console.log")
    events_path, filt = os.path.join(tmp, "events.jsonl"), os.path.join(tmp, "filter.txt")
    with open(filt, "w") as f:
        f.write("execve\n")
    qemu = subprocess.run([os.path.join(ROOT, "guest/launch.sh"), "--disk", "debian", "--print-cmd"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    qemu[qemu.index("-chardev") + 1] = "file,id=ser0,path=" + console_path
    qemu += ["-chardev", f"socket,path={sock},server=on,wait=off,id=g0", "-gdb", "chardev:g0"]
    print("running:", " ".join(shlex.quote(c) for c in qemu), flush=True)
    vm = subprocess.Popen(qemu, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        if not check(wait_for(console_path, r"^GT workload debian start", 600), "the guest's workload did not start"):
            return
        cmd = [vmitrace, "attach", "-d", "unix:" + sock, "--syscalls_filter_file", filt, "--disable_sysret",
               "--max-events", "10", "--output", events_path]
        print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
        r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, timeout=300,  # no cached profile
                           env=dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache")))
        sys.stderr.write(r.stderr)
        check(r.returncode == 0, f"vmitrace attach exited {r.returncode}")
        release = open(os.path.join(CACHE, "debian.release")).read().strip()
        check(f"profile from guest memory: Linux {release}," in r.stderr, "no 'profile from guest memory' line")
        events = [json.loads(line) for line in open(events_path)] if os.path.exists(events_path) else []
        check(len(events) == 10 and all(e["Method"] == "execve" and e["PID"] > 1 for e in events),
              f"want 10 execve events of guest processes, got {[(e['Method'], e['PID']) for e in events]}")
        progs = {basename_of(e.get("filename", "")) for e in events}
        check(progs & set(WORKLOAD_PROGRAMS), f"no workload program among the exec'd files {sorted(progs)}")
        check(wait_for(console_path, r"^GT done", 600), "the guest did not finish its workload after the detach")
        vm.wait(timeout=120)
        check(vm.returncode == 0, f"QEMU exited {vm.returncode}")
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--attach", action="store_true", help="vmitrace attach without -r to the running guest")
    ap.add_argument("--keep", action="store_true", help="keep the console log, events and profile")
    a = ap.parse_args()
    vmitrace = os.path.join(a.build, "vmitrace")
    if not (os.path.exists(IMAGE) and os.path.exists(VMLINUZ)):
        print(f"FAIL: {IMAGE} or {VMLINUZ} missing: run guest/setup.sh", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="vmitrace-diskimage-")
    if a.attach:
        attach_run(vmitrace, tmp)
        return finish(tmp, a.keep)
    events_path, console_path = os.path.join(tmp, "events.jsonl"), os.path.join(tmp, "console.log")
    # No -r, no -kernel: the QEMU module builds the profile from guest memory (an empty
    # profile cache, so the memory route runs rather than a cached profile).
    cache = os.path.join(tmp, "cache")
    cmd = [os.path.join(ROOT, "guest/launch.sh"), "--disk", "debian", "--log", console_path, "--timeout", "900",
           "--", vmitrace, "run", "--args", "rich", "--capture-buffers", "256",
           "-o", "json", "--output", events_path, "--"]
    print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
    r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, env=dict(os.environ, XDG_CACHE_HOME=cache))
    sys.stderr.write(r.stderr[-3000:])
    check(r.returncode == 0, f"launch/vmitrace exited {r.returncode}")
    release = open(os.path.join(ROOT, ".cache/guest/debian.release")).read().strip()
    check(re.search(r"vmitrace: profile from guest memory: Linux " + re.escape(release) + r", [\d,]+ symbols", r.stderr),
          f"no 'profile from guest memory: Linux {release}' line on stderr")
    saved = [f for _, _, fs in os.walk(cache) for f in fs if f.endswith(".json")]
    check(len(saved) == 1, f"the profile built from memory was not cached once: {saved}")
    console = open(console_path, errors="replace").read().replace("\r", "") if os.path.exists(console_path) else ""
    events = []
    if os.path.exists(events_path):
        with open(events_path, encoding="utf-8") as f:
            events = [json.loads(line) for line in f]
    scalls = strace_calls(console)
    if check(events and scalls, "no events or no strace output"):
        calls = sc.vmitrace_calls(events, {e["TID"] for e in events if "TID" in e}, None)
        check_boot(console, calls)
        check_programs(calls)
        # strace's first line is the execve of the workload script: that TID's calls
        # before it (strace's child preparing the exec) are not compared.
        main_tid = scalls[0]["tid"]
        check(scalls[0]["name"] == "execve", f"strace's first call is {scalls[0]['name']}, not execve")
        tids = {c["tid"] for c in scalls}
        st = sc.compare(scalls, sc.vmitrace_calls(events, tids, main_tid))
        sc.report(st, f"disk-image guest ({len(tids)} threads, {len(events)} events in the whole trace)")
        assess(st)
    return finish(tmp, a.keep)


def finish(tmp, keep):
    print(f"\n{len(sc.failures)} failed checks")
    for f in sc.failures:
        print("FAIL:", f)
    if sc.failures or keep:
        print(f"(kept {tmp})")
    else:
        subprocess.run(["rm", "-rf", tmp])
    return 1 if sc.failures else 0


if __name__ == "__main__":
    sys.exit(main())
