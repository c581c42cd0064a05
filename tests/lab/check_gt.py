#!/usr/bin/env python3
"""Checks the ground-truth (GT) lines of a lab guest's serial log.

usage: check_gt.py LOG --release RELEASE [--cpus N] [--arch x86_64|arm64]

Asserts that the default workload ran to the end and that every fact the
tracing tests rely on is present and well-formed (format: guest/README.md).
Prints one line per failed check and exits 1 if any failed.
"""
import argparse
import re
import sys

TOKEN = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
PAYLOAD = {"lab64": "vmitrace-lab64-payload\n", "lab32": "vmitrace-lab32-payload\n"}
FILE = {"lab64": "/tmp/vmitrace-lab/file64.txt", "lab32": "/tmp/vmitrace-lab/file32.txt"}
RENAMED = {"lab64": "vmt-renamed", "lab32": "vmt-renamed32"}


class Arch:
    """What differs between the x86 lab and the arm64 lab (guest/README.md)."""

    def __init__(self, abi, nr, ksyms, kernel_min, text_align, fork_name):
        self.abi = abi                # the abi= of each program's start line
        self.nr = nr                  # syscall numbers per program
        self.ksyms = ksyms            # GT ksym lines every lab kernel of the arch has
        self.kernel_min = kernel_min  # lowest kernel address
        self.text_align = text_align  # (symbol, KASLR granule of its address)
        self.fork_name = fork_name    # per program: the call that forks ("clone" + clone_flags=0x11 on asm-generic)


ARCHES = {
    # x86-64 table vs i386 table
    "x86_64": Arch({"lab64": "x64", "lab32": "x32"},
                   {"lab64": {"openat": 257, "read": 0, "write": 1, "close": 3, "mmap": 9, "prctl": 157,
                              "nanosleep": 35, "fork": 57, "wait4": 61, "clone": 56, "exit_group": 231,
                              "pipe2": 293, "fstat": 5, "socket": 41, "connect": 42, "mkdir": 83},
                    "lab32": {"openat": 295, "read": 3, "write": 4, "close": 6, "mmap_pgoff": 192, "prctl": 172,
                              "nanosleep": 162, "fork": 2, "wait4": 114, "clone": 120, "exit_group": 252,
                              "pipe2": 331, "fstat": 108, "socket": 359, "connect": 362, "mkdir": 39}},
                   ["x64_sys_call", "ia32_sys_call", "do_syscall_64", "int80_emulation", "do_fast_syscall_32",
                    "linux_banner", "_stext", "_text", "syscall_exit_to_user_mode"],
                   0xffffffff80000000, ("_text", 0x200000), {"lab64": "fork", "lab32": "fork"}),
    # asm-generic table (no fork, no mkdir) vs ARM EABI table (compat tasks)
    "arm64": Arch({"lab64": "arm64", "lab32": "arm32"},
                  {"lab64": {"openat": 56, "read": 63, "write": 64, "close": 57, "mmap": 222, "prctl": 167,
                             "nanosleep": 101, "wait4": 260, "clone": 220, "exit_group": 94,
                             "pipe2": 59, "fstat": 80, "socket": 198, "connect": 203, "mkdirat": 34},
                   "lab32": {"openat": 322, "read": 3, "write": 4, "close": 6, "mmap_pgoff": 192, "prctl": 172,
                             "nanosleep": 162, "fork": 2, "wait4": 114, "clone": 120, "exit_group": 248,
                             "pipe2": 359, "fstat": 108, "socket": 281, "connect": 283, "mkdir": 39}},
                  ["_stext", "invoke_syscall", "do_el0_svc", "do_el0_svc_compat", "el0_svc", "el0_svc_compat"],
                  0xfff0000000000000, ("_stext", 0x10000), {"lab64": "clone", "lab32": "fork"}),
}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def unquote(v):
    if not (v.startswith('"') and v.endswith('"')):
        return v
    out, i, s = [], 0, v[1:-1]
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def fields(rest):
    """key=value pairs of a GT line; a repeated key is itself an error."""
    d = {}
    for k, v in TOKEN.findall(rest):
        check(k not in d, f"repeated key {k} in: {rest}")
        d[k] = unquote(v)
    return d


def num(v):
    """Decimal (optionally negative) or 0x hex, as the GT format allows."""
    if v is None:
        return None
    if re.fullmatch(r"-?[0-9]+", v):
        return int(v)
    if re.fullmatch(r"0x[0-9a-f]+", v):
        return int(v, 16)
    return None


def check_program(arch, prog, lines):
    tag = prog
    by_kind = {}
    calls = []
    for kind, rest in lines:
        if kind == "call":
            name, _, args = rest.partition(" ")
            f = fields(args)
            f["_name"] = name
            calls.append(f)
            for key in ("nr", "pid", "tid"):
                check(num(f.get(key)) is not None and num(f[key]) >= 0, f"{tag}: call {name}: bad {key}= in: {rest}")
            if name not in ("exit", "exit_group"):
                check(num(f.get("ret")) is not None, f"{tag}: call {name}: no numeric ret= in: {rest}")
        else:
            by_kind.setdefault(kind, []).append(fields(rest))

    if not check("start" in by_kind, f"{tag}: no 'GT {prog} start' line"):
        return
    start = by_kind["start"][0]
    pid, tid, ppid = num(start.get("pid")), num(start.get("tid")), num(start.get("ppid"))
    check(pid is not None and pid > 1 and tid == pid, f"{tag}: start pid/tid not numeric or differ: {start}")
    check(ppid == 1, f"{tag}: start ppid={start.get('ppid')} (expected 1: run by /init)")
    check(start.get("abi") == arch.abi[prog], f"{tag}: abi={start.get('abi')} expected {arch.abi[prog]}")
    comms = [c.get("comm") for c in by_kind.get("comm", [])]
    check(comms == [prog, RENAMED[prog]], f"{tag}: comm lines {comms}, expected [{prog}, {RENAMED[prog]}]")

    def find(name, **want):
        for c in calls:
            if c["_name"] == name and all(c.get(k) == v for k, v in want.items()):
                return c
        failures.append(f"{tag}: no call line {name} {want}")
        return None

    for c in calls:
        expected_nr = arch.nr[prog].get(c["_name"])
        if expected_nr is not None:
            check(num(c["nr"]) == expected_nr, f"{tag}: {c['_name']} nr={c['nr']} expected {expected_nr}")

    mkdir = find("mkdirat" if "mkdirat" in arch.nr[prog] else "mkdir", pathname="/tmp/vmitrace-lab", mode="0x1ed")
    if mkdir:
        check(num(mkdir["ret"]) in (0, -17), f"{tag}: mkdir: {mkdir}")
    c = find("openat", filename=FILE[prog], flags="0x241", mode="0x1a4")
    if c:
        check(num(c["ret"]) >= 0 and num(c["pid"]) == pid, f"{tag}: create openat failed: {c}")
    c = find("write")
    if c:
        check(c.get("data") == PAYLOAD[prog] and num(c["ret"]) == len(PAYLOAD[prog]), f"{tag}: write: {c}")
    c = find("openat", filename=FILE[prog], flags="0x0")
    if c:
        check(num(c["ret"]) >= 0, f"{tag}: reopen failed: {c}")
    c = find("read")
    if c:
        check(c.get("data") == PAYLOAD[prog] and num(c["ret"]) == len(PAYLOAD[prog]), f"{tag}: read: {c}")
    c = find("openat", filename="/nonexistent/vmitrace-missing")
    if c:
        check(num(c["ret"]) == -2 and c.get("errno") == "ENOENT", f"{tag}: missing path not ENOENT: {c}")
    mmap_name = "mmap" if prog == "lab64" else "mmap_pgoff"
    c = find(mmap_name, len="8192", prot="0x3", flags="0x22")
    if c:
        addr = num(c.get("ret"))
        check(c.get("ret", "").startswith("0x") and addr and addr % 4096 == 0, f"{tag}: mmap address: {c}")
    c = find("prctl", option="15")
    if c:
        check(c.get("name") == RENAMED[prog] and num(c["ret"]) == 0, f"{tag}: prctl(PR_SET_NAME): {c}")
    c = find("nanosleep", tv_nsec="20000000")
    if c:
        check(num(c["ret"]) == 0, f"{tag}: nanosleep: {c}")

    fork = find("clone", clone_flags="0x11") if arch.fork_name[prog] == "clone" else find("fork")
    child = (by_kind.get("child") or [None])[0]
    if check(child is not None, f"{tag}: no child line") and fork:
        cpid = num(child.get("pid"))
        check(cpid is not None and cpid == num(fork["ret"]) and num(child.get("ppid")) == pid,
              f"{tag}: child {child} vs fork ret {fork.get('ret')} / parent {pid}")
        w = find("wait4", exit_code="7")
        if w:
            check(num(w["ret"]) == cpid and w.get("exit_code") == "7" and w.get("status") == "0x700",
                  f"{tag}: wait4: {w}")
        check(any(c["_name"] == "exit_group" and num(c["pid"]) == cpid and c.get("error_code") == "7"
                  for c in calls), f"{tag}: no exit_group(7) line from the child")

    clone = find("clone", clone_flags="0x350f00")
    thread = (by_kind.get("thread") or [None])[0]
    if check(thread is not None, f"{tag}: no thread line") and clone:
        ttid = num(thread.get("tid"))
        check(ttid == num(clone["ret"]) and ttid != pid and num(thread.get("pid")) == pid,
              f"{tag}: thread {thread} vs clone ret {clone.get('ret')}")
        check(any(c["_name"] == "gettid" and num(c["tid"]) == ttid for c in calls),
              f"{tag}: no gettid call line from the thread")
    check("thread-joined" in by_kind, f"{tag}: thread never joined")
    check("end" in by_kind, f"{tag}: no end line")
    ids = {pid}
    if child:
        ids.add(num(child.get("pid")))
    for c in calls:
        check(num(c["pid"]) in ids, f"{tag}: call line from unknown pid: {c}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--release", required=True)
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--arch", choices=sorted(ARCHES), default="x86_64")
    a = ap.parse_args()
    arch = ARCHES[a.arch]

    gt = []
    with open(a.log, "rb") as f:
        raw = f.read().decode("utf-8", "replace")
    text_lines = raw.replace("\r", "").split("\n")
    for line in text_lines:
        if line.startswith("GT "):
            gt.append(line[3:])

    check(any(l == "done" for l in gt), "no 'GT done' line")
    rel = [l.split(" ", 1)[1] for l in gt if l.startswith("kernel-release ")]
    check(rel == [a.release], f"kernel-release {rel}, expected [{a.release}]")
    cmdline = [l for l in gt if l.startswith("cmdline ")]
    check(len(cmdline) == 1 and "nokaslr" not in cmdline[0], f"cmdline line missing or KASLR off: {cmdline}")
    check(f"cpus {a.cpus}" in gt, f"expected 'GT cpus {a.cpus}'")

    ksyms = {}
    for l in gt:
        if l.startswith("ksym "):
            parts = l.split(" ")
            if check(len(parts) == 3 and re.fullmatch(r"[0-9a-f]{16}", parts[2]), f"malformed: GT {l}"):
                ksyms[parts[1]] = int(parts[2], 16)
    for name in arch.ksyms:
        if check(name in ksyms, f"no 'GT ksym {name}'"):
            check(ksyms[name] >= arch.kernel_min, f"ksym {name} {ksyms[name]:x} not a kernel address")
    if a.arch == "x86_64":
        check("current_task" in ksyms or "pcpu_hot" in ksyms, "neither current_task nor pcpu_hot in GT ksym")
    text, align = arch.text_align
    if text in ksyms:
        check(ksyms[text] % align == 0, f"{text} {ksyms[text]:x} not {align:#x} aligned")

    for prog in ("lab64", "lab32"):
        lines = []
        for l in gt:
            if l.startswith(prog + " "):
                kind, _, rest = l[len(prog) + 1:].partition(" ")
                lines.append((kind, rest))
        if check(lines, f"no 'GT {prog}' lines"):
            check_program(arch, prog, lines)

    for prog in ("lab64", "lab32", "shcat", "shcat32"):
        check(f"exit prog={prog} status=0" in gt, f"no 'GT exit prog={prog} status=0'")
    for sh, prog in (("shcat", "lab64"), ("shcat32", "lab32")):
        ln = [l for l in gt if l.startswith(sh + " ")]
        if check(len(ln) == 1, f"no 'GT {sh}' line"):
            f = fields(ln[0])
            check(num(f.get("pid")) is not None and num(f.get("pid")) > 1, f"{sh}: bad pid: {ln[0]}")
        check(PAYLOAD[prog].rstrip("\n") in text_lines, f"{sh}: the file content was not printed")

    for msg in failures:
        print(f"check_gt: {a.log}: {msg}")
    if failures:
        return 1
    print(f"check_gt: {a.log}: ok ({len(gt)} GT lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
