#!/usr/bin/env python3
"""Volatility3 with vmitrace's ISF on the memory of a running lab guest.

usage: volatility3_test.py VMITRACE REPO_ROOT [KERNEL...]   (default: 6.1 6.12 686np)

Per lab kernel: `vmitrace profile` makes the ISF (686np: from the -dbg vmlinux's DWARF),
xz-compressed into SYMDIR/linux/ as a user would put it; the guest boots once with the
nanosleep workload (init = busybox sh running /init, which runs `lab64 nanosleep N`;
lab32 on the 32-bit lab's initramfs); once the workload runs, QEMU's monitor (QMP
dump-guest-memory) writes an ELF core; Volatility3 (the copy in
../shared/tools/volatility3, run by vol3_plugins.py in one process) runs the plugins
below on it, and each one's output is checked against what the guest runs. Prints a
table of the results per plugin and kernel: ok, FAIL, or vol3 (this Volatility3 cannot
do it on this kernel whatever the ISF: checked in its source, see
volatility3_limitation; not a failure). The 32-bit kernel is 686np, the
non-PAE linux-image-686 (guest/fetch-kernel-686.sh 686): Volatility3 2.11 reads no
PAE guest (its Linux stacker builds a non-PAE Intel layer for every 32-bit kernel),
so the 32-bit lab's own 686-pae kernel is not run. Exit: 0 pass, 1 failure, 77 (meson skip)
when Volatility3 or every lab kernel is absent (the reason printed).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

PLUGINS = ["linux.pslist.PsList", "linux.psaux.PsAux", "linux.lsof.Lsof", "linux.lsmod.Lsmod",
           "linux.kmsg.Kmsg", "linux.sockstat.Sockstat", "linux.mountinfo.MountInfo",
           "linux.envars.Envars", "linux.check_syscall.Check_syscall", "linux.elfs.Elfs"]
CALLS = 100000000  # nanosleep calls: the workload outlives the dump by far


def boot_and_dump(repo, kernel, work, dump):
    """Boots the lab guest, dumps its memory once the workload runs, stops QEMU."""
    sock = os.path.join(work, "qmp.sock")
    log = os.path.join(work, "serial.log")
    # launch.sh's wrapper hook adds the QMP socket to QEMU's command line.
    cmd = [os.path.join(repo, "guest", "launch.sh"), "--kernel", kernel, "--workload", "nanosleep",
           "--append", f"vmitrace.nanosleep_calls={CALLS}", "--mem", "256", "--log", log,
           "--timeout", "600", "--",
           "sh", "-c", f'exec "$0" "$@" -qmp unix:{sock},server=on,wait=off']
    launch = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            text = open(log, errors="replace").read() if os.path.exists(log) else ""
            if "GT workload nanosleep start" in text:
                break
            if launch.poll() is not None:
                raise RuntimeError(f"the guest stopped before its workload ran: "
                                   f"{launch.stderr.read().decode(errors='replace').strip()}")
            if time.monotonic() > deadline:
                raise RuntimeError("the guest did not start its workload within 300 s")
            time.sleep(1)
        time.sleep(3)  # /init has forked and exec'd the workload program
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(300)
            s.connect(sock)
            f = s.makefile("rw")

            def reply():
                while True:
                    m = json.loads(f.readline())
                    if "event" not in m:
                        return m

            reply()  # greeting
            for c in ({"execute": "qmp_capabilities"},
                      {"execute": "dump-guest-memory",
                       "arguments": {"paging": False, "protocol": "file:" + dump}},
                      {"execute": "quit"}):
                f.write(json.dumps(c) + "\n")
                f.flush()
                r = reply()
                if "error" in r:
                    raise RuntimeError(f"QMP {c['execute']}: {r['error'].get('desc')}")
        launch.wait(timeout=60)
        return open(log, errors="replace").read().replace("\r", "")
    finally:
        if launch.poll() is None:
            os.killpg(launch.pid, signal.SIGTERM)
            launch.wait()


def is_32bit(kernel):
    return kernel.startswith("686")


def check(plugin, rows, kernel, prog, release):
    """What the guest runs, as each plugin must show it. Returns a problem or None."""
    by_comm = lambda c: [r for r in rows if r.get("COMM", r.get("Process")) == c]
    if plugin == "linux.pslist.PsList":
        init = [r for r in rows if r["PID"] == 1]
        if not init or init[0]["COMM"] != "init":
            return "no PID 1 'init'"
        if not any(r["PID"] == 2 and r["COMM"] == "kthreadd" for r in rows):
            return "no PID 2 'kthreadd'"
        if not any(r["PPID"] == 1 for r in by_comm(prog)):
            return f"no '{prog}' child of PID 1"
    elif plugin == "linux.psaux.PsAux":
        want = {"init": "/bin/sh /init", prog: f"/bin/{prog} nanosleep {CALLS}"}
        for comm, args in want.items():
            got = [r["ARGS"] for r in by_comm(comm)]
            if args not in got:
                return f"{comm}: arguments {got}, want {args!r}"
    elif plugin == "linux.lsof.Lsof":
        fds = {r["FD"]: r["Path"] for r in by_comm(prog)}
        if any(fds.get(fd) != "/dev/console" for fd in (0, 1, 2)):
            return f"{prog}: files {fds}, want fds 0-2 on /dev/console"
    elif plugin == "linux.kmsg.Kmsg":
        lines = [r["line"] for r in rows]
        if not any(l.startswith(f"Linux version {release} ") for l in lines):
            return f"no 'Linux version {release}' line"
        # x86-64's setup_arch logs "Command line:", every kernel's start_kernel "Kernel command line:".
        if not any(l.startswith(("Command line:", "Kernel command line:")) and
                   "vmitrace.workload=nanosleep" in l for l in lines):
            return "no '(Kernel) command line:' line with the lab's arguments"
    elif plugin == "linux.mountinfo.MountInfo":
        got = {(r["MOUNT_POINT"], r["FSTYPE"]) for r in rows}
        want = {("/", "rootfs"), ("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs"), ("/tmp", "tmpfs")}
        if want - got:
            return f"mounts {sorted(got)}, missing {sorted(want - got)}"
    elif plugin == "linux.envars.Envars":
        env = {r["KEY"]: r["VALUE"] for r in by_comm(prog)}
        if env.get("PATH") != "/bin:/sbin":
            return f"{prog}: environment {env}, want PATH=/bin:/sbin (set by /init)"
    elif plugin == "linux.check_syscall.Check_syscall":
        table = "32bit" if is_32bit(kernel) else "64bit"
        entries = {r["Index"]: r["Handler Symbol"] for r in rows if r["Table Name"] == table}
        # i386: __ia32_sys_restart_syscall is an alias of __do_sys_restart_syscall (one
        # address); Volatility3 names the entry by either.
        first = ({"__ia32_sys_restart_syscall", "__do_sys_restart_syscall"} if is_32bit(kernel)
                 else {"__x64_sys_read"})
        if len(entries) < 300 or entries.get(0) not in first:
            return f"{table} table: {len(entries)} entries, entry 0 {entries.get(0)!r} (want >= 300, {sorted(first)})"
        unknown = [i for i, s in entries.items() if not s or s == "UNKNOWN"]
        if unknown:
            return f"{len(unknown)} entries without a kernel symbol (hooked?), e.g. {unknown[:5]}"
    elif plugin == "linux.elfs.Elfs":
        if not any(r["File Path"] == "/bin/busybox" for r in by_comm("init")):
            return "init (busybox sh) has no /bin/busybox ELF"
    # lsmod, sockstat: the lab guest loads no module and opens no socket; they must run
    # (walk modules / every task's files) without an error: 0 rows.
    elif plugin in ("linux.lsmod.Lsmod", "linux.sockstat.Sockstat") and rows:
        return f"{len(rows)} rows; the lab guest has no module and no socket"
    return None


def volatility3_limitation(voldir, kernel, release, plugin, isf):
    """Why this Volatility3 cannot run `plugin` on this kernel whatever the ISF, or None.
    Each reason is checked in Volatility3's source and the kernel's types, so a fixed
    Volatility3 runs (and is checked) again."""
    src = lambda rel: open(os.path.join(voldir, "volatility3", "framework", rel)).read()
    if plugin == "linux.mountinfo.MountInfo":
        mount = isf["user_types"].get("mount", {}).get("fields", {})
        node, lst = mount.get("mnt_node"), mount.get("mnt_list")
        if node is None:  # inside an anonymous union: look one level down
            for f in mount.values():
                inner = isf["user_types"].get(f["type"].get("name", ""), {}).get("fields", {})
                if f.get("anonymous") and "mnt_node" in inner:
                    node = {"offset": f["offset"] + inner["mnt_node"]["offset"]}
        if node and lst and node["offset"] != lst["offset"] and \
                '"mount", "mnt_list"' in src("symbols/linux/extensions/__init__.py"):
            return (f"it finds a mount from its ns->mounts rb-tree node through mount.mnt_list (offset "
                    f"{lst['offset']}), this kernel's node is mount.mnt_node (offset {node['offset']})")
    return None


def run_kernel(vmitrace, repo, voldir, kernel, results):
    kdir = os.path.join(repo, ".cache", "guest", f"kernel-{kernel}")
    image = os.path.join(kdir, "vmlinuz")
    if not os.path.exists(image):
        print(f"SKIP {kernel}: {image} missing (run guest/setup.sh; VMITRACE_LAB32=0 skips the 32-bit kernels)")
        return None
    release = open(os.path.join(kdir, "release")).read().strip()
    prog = "lab32" if is_32bit(kernel) else "lab64"
    with tempfile.TemporaryDirectory(prefix=f"vmitrace-vol3-{kernel}-") as work:
        symdir = os.path.join(work, "symbols")
        os.makedirs(os.path.join(symdir, "linux"))
        isf = os.path.join(symdir, "linux", f"vmitrace-{release}.json")
        cmd = [vmitrace, "profile", image, "-o", isf]
        if is_32bit(kernel):  # no BTF: types from the -dbg vmlinux's DWARF
            cmd += ["--debug-file", os.path.join(kdir, "vmlinux-dbg")]
        t0 = time.monotonic()
        made = subprocess.run(cmd, capture_output=True, text=True)
        if made.returncode != 0:
            print(f"FAIL {kernel}: vmitrace profile: {made.stderr.strip()}")
            return False
        # The notes (globals left untyped) are part of the result.
        for line in made.stderr.splitlines():
            if "left untyped" in line:
                print(f"  {kernel}: {line}")
        with open(isf) as f:
            isf_json = json.load(f)
        subprocess.run(["xz", "-1", "-T0", isf], check=True)
        t1 = time.monotonic()
        dump = os.path.join(work, "memory.elf")
        try:
            boot_and_dump(repo, kernel, work, dump)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
            print(f"FAIL {kernel}: {e}")
            return False
        t2 = time.monotonic()
        out = os.path.join(work, "out")
        os.makedirs(out)
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "vol3_plugins.py"), voldir, dump, symdir, out]
                       + PLUGINS, stdout=subprocess.DEVNULL)
        os.unlink(dump)
        t3 = time.monotonic()
        print(f"{kernel}: profile+xz {t1 - t0:.0f} s, boot+dump {t2 - t1:.0f} s, Volatility3 {t3 - t2:.0f} s")
        ok = True
        tasks_ok = False
        for p in PLUGINS:
            try:
                r = json.load(open(os.path.join(out, p + ".json")))
            except (OSError, ValueError):
                r = {"error": "no result (the runner stopped)"}
            problem = r.get("error") or check(p, r["rows"], kernel, prog, release)
            if p == "linux.pslist.PsList":
                tasks_ok = not problem
            elif not problem and not tasks_ok and p == "linux.sockstat.Sockstat":
                problem = "no task list (pslist failed): its 0 rows prove nothing"
            result = "FAIL" if problem else "ok"
            if problem:
                why = volatility3_limitation(voldir, kernel, release, p, isf_json)
                if why:
                    result, problem = "vol3", f"Volatility3 limitation: {why} ({problem})"
                elif "trace" in r:
                    print(r["trace"])
            results.append((kernel, p, result, len(r.get("rows", [])), r.get("seconds", 0), problem or ""))
            ok = ok and result != "FAIL"
        return ok


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    vmitrace, repo = argv[1], os.path.abspath(argv[2])
    kernels = argv[3:] or ["6.1", "6.12", "686np"]
    voldir = os.path.normpath(os.path.join(repo, "..", "shared", "tools", "volatility3"))
    if not os.path.exists(os.path.join(voldir, "vol.py")):
        print(f"SKIP: no Volatility3 at {voldir} (the shared copy this test runs)")
        return 77
    results, ran, failed = [], 0, False
    for k in kernels:
        ok = run_kernel(vmitrace, repo, voldir, k, results)
        if ok is None:
            continue
        ran += 1
        failed = failed or not ok
    if results:
        print(f"\n{'kernel':<7} {'plugin':<34} {'result':<6} {'rows':>5} {'s':>6}  problem")
        for k, p, res, rows, secs, problem in results:
            print(f"{k:<7} {p:<34} {res:<6} {rows:>5} {secs:>6}  {problem}")
    if ran == 0:
        print("SKIP: no lab kernel (run guest/setup.sh)")
        return 77
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
