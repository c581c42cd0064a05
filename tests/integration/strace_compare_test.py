#!/usr/bin/env python3
"""vmitrace (`--args rich --capture-buffers 256 -o json`) against Debian's strace run
inside the guest, on the same run: the guest runs programs under `strace -f -v -y -s 256`
and prints strace's log on the console (`GT strace begin lines=N`, each line as
`ST <line>`, `GT strace end`) while vmitrace traces the run from outside.

One script for every guest:
  --kernel 6.1|6.12|arm64-6.1|arm64-6.12
                      the lab guest (guest/launch.sh) with its `userland` workload:
                      Debian's coreutils, tar|gzip, the dynamic loader, python3 with a
                      thread and sockets, and lab64 (guest/workload/userland.sh); arm64-*:
                      the same programs from Debian's arm64 packages (their own archive,
                      initramfs-userland-arm64.cpio.gz) and the armhf busybox as
                      AArch32 (compat) tasks
  --qemu "CMD"        any guest QEMU boots with CMD (a disk image...) whose init runs its
                      workload under strace as above: `vmitrace run ... -- CMD -serial
                      file:CONSOLE` (CMD must not take the serial port itself)
  --console LOG --events JSONL   a run made elsewhere: compare the stored files

For every thread strace traced, the calls strace reports are aligned with vmitrace's
(entry + sysret of that TID; the first TID from its execve on), then compared field by field:
  sequence   the syscall names, in order
  ret        the return value (and for -1: errno name and text, vmitrace's sysret Info)
  args       each argument strace prints, against vmitrace's argument of that position
             (or of the key strace names, e.g. clone's flags=); an output argument vmitrace
             shows on the sysret event is taken from there
  fd_path    the path strace's -y shows after a descriptor, against vmitrace's <arg>_path,
             and after a returned descriptor (`= 3</tmp/x>`), against the sysret's Ret_path
Each difference is classified: `undecoded` (vmitrace shows the pointer, strace the data it
points to) or `mismatch`. The sequence, return values, errno and fd paths must agree fully;
the arguments at MIN_ARGS_RATE percent at least. The rates (in all and per program) and every
difference (with its cause when KNOWN_DIFFS has one) are printed.

usage: strace_compare_test.py --build BUILD --kernel 6.1|6.12|arm64-6.1|arm64-6.12 [--keep]
       strace_compare_test.py --build BUILD --qemu "qemu-system-x86_64 ..." [--run-opt=OPT]... [--label NAME] [--keep]
       strace_compare_test.py --console LOG --events JSONL [--label NAME]
"""
import argparse
import difflib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strace_log  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXED_ENTRY = {"Plugin", "TimeStamp", "PID", "PPID", "TID", "UserName", "UserId", "ProcessName", "Method",
               "EventUID", "ThreadName", "Module", "vCPU", "CR3", "Syscall", "NArgs", "Type"}
FIXED_RET = FIXED_ENTRY | {"Ret", "Info", "Ret_path"}
# strace prints some calls with key=value arguments: its key -> the kernel's argument name.
KEY_ALIASES = {"clone": {"child_stack": "newsp", "flags": "clone_flags", "parent_tid": "parent_tidptr",
                         "child_tidptr": "child_tidptr", "tls": "tls"}}
# (syscall, argument) -> why vmitrace's value differs from strace's (either kind). A listed
# difference that is no longer seen is reported (remove it); an unlisted one fails the test,
# so a field that agreed once cannot silently regress.
KNOWN_DIFFS = {
    ("rt_sigreturn", "arg0"): "strace prints the signal mask of the frame the call restores ({mask=[]}, read "
                              "from the user stack); the kernel declares no argument and vmitrace shows none",
    ("sigreturn", "arg0"): "as rt_sigreturn's (arm's non-RT signal frame of AArch32 tasks)",
    ("getsockname", "usockaddr_len"): "strace prints the length before and after the call ([128 => 2]); "
                                      "vmitrace reads it at return only ([2])",
    ("getpeername", "usockaddr_len"): "as getsockname's",
    ("accept", "upeer_addrlen"): "as getsockname's",
    ("accept4", "upeer_addrlen"): "as getsockname's",
    ("clone3", "uargs"): "struct clone_args is not decoded (the pointer is shown)",
}
# Arguments at or above this share of strace's values must agree (names, return values,
# errno and fd paths: all of them).
MIN_ARGS_RATE = 99.5
ADDR_RE = re.compile(r"^(0x[0-9a-f]+|NULL)( \(unreadable\))?$")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def signed_ret(hexstr, abi):
    """The Ret field as the task's ABI sees it: 32 bits for compat tasks (x32, arm32)."""
    bits = 32 if abi in ("x32", "arm32") else 64
    v = int(hexstr, 16) & ((1 << bits) - 1)
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def vmitrace_calls(events, tids, main_tid):
    """Per TID: calls [{name, args: [(key, value)], paths: {key: path}, out: {key: value},
    ret, info}] in entry order. The main TID starts at its execve (before it, that
    process is strace's child preparing the exec)."""
    calls = defaultdict(list)
    open_call = {}
    for ev in events:
        tid = ev.get("TID")
        if tid not in tids:
            continue
        if ev["Plugin"] == "syscall":
            if tid == main_tid and not calls[tid] and ev["Method"] != "execve":
                continue
            keys = [k for k in ev if k not in FIXED_ENTRY]
            args = [(k, ev[k]) for k in keys[: ev["NArgs"]]]
            paths = {k[: -len("_path")]: ev[k] for k in keys[ev["NArgs"]:] if k.endswith("_path")}
            c = {"name": ev["Method"], "args": args, "paths": paths, "out": {}, "ret": None, "info": None,
                 "uid": ev["EventUID"], "abi": ev.get("Type")}
            calls[tid].append(c)
            open_call[tid] = c
        else:
            c = open_call.pop(tid, None)
            if c is None or c["name"] != ev["Method"]:
                continue  # a return without its entry (fork/clone child's first return)
            c["ret"], c["info"] = signed_ret(ev["Ret"], c["abi"]), ev.get("Info", "")
            c["ret_path"] = ev.get("Ret_path")
            c["out"] = {k: ev[k] for k in ev if k not in FIXED_RET}
    return calls


class Stats:
    def __init__(self):
        self.n = defaultdict(int)        # field class -> compared
        self.ok = defaultdict(int)       # field class -> agreed
        self.diffs = []                  # (class, tid, index, syscall, field, strace, vmitrace, kind)
        self.per_arg = defaultdict(lambda: [0, 0, 0, 0])  # (syscall, arg) -> compared, agreed, undecoded, mismatch
        self.per_prog = defaultdict(lambda: defaultdict(lambda: [0, 0]))  # program -> class -> compared, agreed
        self.prog = "?"                  # the program of the call being compared

    def count(self, cls, agreed):
        self.n[cls] += 1
        self.ok[cls] += agreed
        row = self.per_prog[self.prog][cls]
        row[0] += 1
        row[1] += agreed

    def rate(self, cls):
        return 100.0 * self.ok[cls] / self.n[cls] if self.n[cls] else 100.0


FD_IN_VALUE_RE = re.compile(r"(\d+)<[^>]*>")


def drop_fd_paths(text):
    """`[3<pipe:[9]>, 4<pipe:[9]>]` -> `[3, 4]`, leaving quoted strings alone (binary
    data such as `\\0<...>` is no descriptor)."""
    out, i = [], 0
    while i < len(text):
        q = text.find('"', i)
        if q < 0:
            out.append(FD_IN_VALUE_RE.sub(r"\1", text[i:]))
            break
        out.append(FD_IN_VALUE_RE.sub(r"\1", text[i:q]))
        j = strace_log.skip_string(text, q)
        out.append(text[q:j])
        i = j
    return "".join(out)


def same(sval, value):
    """strace's value text against vmitrace's, after the normalisations that do not hide
    a difference: descriptors inside a compound value lose -y's <path> (`[3<pipe:[9]>,
    4<pipe:[9]>]` -> `[3, 4]`); a structure vmitrace abbreviates with `...` agrees when
    every field it shows has strace's value (strace -v prints all of them)."""
    sval = drop_fd_paths(sval)
    if sval == value:
        return True
    if value.startswith("{") and value.endswith(", ...}") and sval.startswith("{"):
        mine, _ = strace_log.split_args(value[1:-1])
        theirs, _ = strace_log.split_args(sval[1:-1])
        return set(m for m in mine if m != "...") <= set(theirs)
    return False


def positional_key(s, pos):
    """The kernel argument strace prints at position pos when it skips one: futex's
    bitset commands print val3 where uaddr2 would be."""
    if s["name"] == "futex" and len(s["args"]) > 1 and "_BITSET" in s["args"][1] and pos == len(s["args"]) - 1 \
            and pos >= 3:
        return "val3"
    return None


def compare_args(st, tid, i, s, v):
    keyed = KEY_ALIASES.get(s["name"])
    vargs = dict(v["args"])
    for pos, text in enumerate(s["args"]):
        key = positional_key(s, pos)
        if keyed:
            k, eq, rest = text.partition("=")
            if eq and k in keyed:
                key, text = keyed[k], rest
        if key is None:
            if pos >= len(v["args"]):
                st.diffs.append(("args", tid, i, s["name"], f"arg{pos}", text, "(absent)", "mismatch"))
                st.count("args", False)
                continue
            key = v["args"][pos][0]
        value = v["out"].get(key, vargs.get(key, "(absent)"))
        sval, spath = strace_log.split_fd(text)
        if spath is not None:
            vpath = v["paths"].get(key)
            agreed = vpath == spath
            st.count("fd_path", agreed)
            if not agreed:
                st.diffs.append(("fd_path", tid, i, s["name"], key + "_path", spath, vpath, "mismatch"))
        agreed = same(sval, value)
        kind = None
        if not agreed:
            kind = "undecoded" if ADDR_RE.match(value) and sval[:1] in '{["' else "mismatch"
            st.diffs.append(("args", tid, i, s["name"], key, sval, value, kind))
        st.count("args", agreed)
        row = st.per_arg[(s["name"], key)]
        row[0] += 1
        row[1] += agreed
        row[2] += kind == "undecoded"
        row[3] += kind == "mismatch"


def ret_value(text):
    """strace's return value text -> int: decimal, 0x hex (mmap, brk) or 0-led octal
    (umask's `= 022`)."""
    if len(text) > 1 and text.startswith("0") and text.isdigit():
        return int(text, 8)
    return int(text, 0)


def compare_ret(st, tid, i, s, v):
    if s["ret"] is None:  # exit, exit_group: no return
        return
    if v["ret"] is None:
        st.count("ret", False)
        st.diffs.append(("ret", tid, i, s["name"], "ret", s["ret"], "(no sysret)", "mismatch"))
        return
    sret, spath = strace_log.split_fd(s["ret"])
    if spath is not None and not s["errno"]:  # -y: the path of a returned fd (Ret_path)
        agreed = v.get("ret_path") == spath
        st.count("fd_path", agreed)
        if not agreed:
            st.diffs.append(("fd_path", tid, i, s["name"], "Ret_path", spath, v.get("ret_path"), "mismatch"))
    if s["errno"]:
        want = f"{s['errno']} ({s['errtext']})"
        agreed = sret == "-1" and -4095 <= v["ret"] < 0 and v["info"] == want
        got = f"{v['ret']} {v['info']}"
        st.count("errno", agreed)
    else:
        want = sret
        agreed = v["ret"] == ret_value(sret) and not v["info"]
        got = str(v["ret"]) + (f" {v['info']}" if v["info"] else "")
    st.count("ret", agreed)
    if not agreed:
        st.diffs.append(("ret", tid, i, s["name"], "ret", want if s["errno"] else s["ret"], got, "mismatch"))


def attribute_programs(calls):
    """Sets each strace call's "prog": the base name of the program its thread runs (the
    last successful execve of the TID before the call, else the program of the thread
    that created it, at its clone/fork)."""
    created = {}  # child tid -> (parent tid, index of the clone call)
    for idx, c in enumerate(calls):
        if c["name"] in ("clone", "clone3", "fork", "vfork") and c["ret"] and not c["errno"]:
            child = strace_log.split_fd(c["ret"])[0]
            if child.isdigit():
                created.setdefault(int(child), (c["tid"], idx))
    execs = defaultdict(list)  # tid -> [(index, program)]
    for idx, c in enumerate(calls):
        if c["name"] == "execve" and c["ret"] == "0" and c["args"]:
            execs[c["tid"]].append((idx, os.path.basename(c["args"][0].strip('"'))))

    def prog_at(tid, idx, depth=0):
        before = [p for j, p in execs[tid] if j <= idx]
        if before:
            return before[-1]
        if tid in created and depth < 64:
            return prog_at(*created[tid], depth + 1)
        return "?"

    for idx, c in enumerate(calls):
        c["prog"] = prog_at(c["tid"], idx)


def compare(strace_calls, vcalls):
    st = Stats()
    attribute_programs(strace_calls)
    for tid in sorted({c["tid"] for c in strace_calls}):
        s_list = [c for c in strace_calls if c["tid"] == tid]
        v_list = vcalls.get(tid, [])
        sm = difflib.SequenceMatcher(None, [c["name"] for c in s_list], [c["name"] for c in v_list],
                                     autojunk=False)
        for op, a0, a1, b0, b1 in sm.get_opcodes():
            if op == "equal":
                for k in range(a1 - a0):
                    s, v = s_list[a0 + k], v_list[b0 + k]
                    st.prog = s["prog"]
                    st.count("sequence", True)
                    compare_ret(st, tid, a0 + k, s, v)
                    compare_args(st, tid, a0 + k, s, v)
                continue
            for k in range(a0, a1):
                st.prog = s_list[k]["prog"]
                st.count("sequence", False)
                st.diffs.append(("sequence", tid, k, s_list[k]["name"], "call", s_list[k]["line"], "(missing)",
                                 "mismatch"))
            for k in range(b0, b1):
                st.prog = "?"
                st.count("sequence", False)
                st.diffs.append(("sequence", tid, k, v_list[k]["name"], "call", "(missing)",
                                 f"{v_list[k]['name']} {v_list[k]['args']}", "mismatch"))
    return st


def report(st, label):
    print(f"\n== strace vs vmitrace --args rich, {label}: agreement per field class ==")
    for cls in ("sequence", "ret", "errno", "args", "fd_path"):
        print(f"  {cls:9} {st.ok[cls]:4}/{st.n[cls]:<4} {st.rate(cls):6.1f}%")
    print("\n  per program (agreed/compared: sequence, ret, args, fd_path):")
    for prog, row in sorted(st.per_prog.items()):
        cells = []
        for cls in ("sequence", "ret", "args", "fd_path"):
            n, ok = row[cls] if cls in row else (0, 0)
            cells.append(f"{ok}/{n}" + (f" ({100.0 * ok / n:.1f}%)" if cls == "args" and n else ""))
        print(f"    {prog:16} " + "  ".join(f"{c:>18}" for c in cells))
    print("\n  per argument (syscall.arg: agreed/compared, undecoded, mismatched):")
    for (name, arg), (n, ok, und, mis) in sorted(st.per_arg.items()):
        flag = "" if ok == n else "   <- " + ("undecoded" if und else "") + (" mismatch" if mis else "")
        print(f"    {name + '.' + arg:28} {ok}/{n}{flag}")
    groups = defaultdict(list)
    for d in st.diffs:
        groups[(d[0], d[3], d[4], d[7])].append(d)
    if groups:
        print("\n  differences, grouped (class syscall.field [kind] xcount: tid#index strace | vmitrace):")
    for (cls, name, field, kind), ds in sorted(groups.items()):
        cause = KNOWN_DIFFS.get((name, field))
        note = f" -- known: {cause}" if cause else " -- NOT EXPLAINED"
        print(f"    {cls:8} {name}.{field} [{kind}] x{len(ds)}{note}")
        for _, tid, i, _, _, s, v, _ in ds[:2]:
            print(f"        {tid}#{i}: {s!s:.110} | {v!s:.110}")


def assess(st):
    for cls in ("sequence", "ret", "errno", "fd_path"):
        check(st.ok[cls] == st.n[cls], f"{cls}: {st.n[cls] - st.ok[cls]} of {st.n[cls]} differ")
    check(st.n["sequence"] >= 20, f"only {st.n['sequence']} calls compared")
    check(st.rate("args") >= MIN_ARGS_RATE,
          f"arguments: {st.rate('args'):.2f}% of strace's values agree, under {MIN_ARGS_RATE}%")
    seen = set()
    for cls, tid, i, name, field, s, v, kind in st.diffs:
        if cls == "args" and (name, field) not in seen:
            seen.add((name, field))
            if (name, field) not in KNOWN_DIFFS:
                print(f"note: unexplained difference {name}.{field}: strace {s!r:.200}, vmitrace {v!r:.200}")
    for k, cause in KNOWN_DIFFS.items():
        if k not in seen:
            print(f"note: known difference {k[0]}.{k[1]} ({cause}) no longer seen: remove it from KNOWN_DIFFS")
    print(f"\nargument agreement {st.rate('args'):.2f}% (minimum {MIN_ARGS_RATE}%); sequence, return values, "
          f"errno and fd paths {'all agree' if all(st.ok[c] == st.n[c] for c in ('sequence', 'ret', 'errno', 'fd_path')) else 'DIFFER'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    guest = ap.add_mutually_exclusive_group(required=True)
    guest.add_argument("--kernel", help="the lab guest of this kernel (6.1, 6.12, arm64-6.1, arm64-6.12)")
    guest.add_argument("--qemu", help="the QEMU command line of another guest")
    guest.add_argument("--console", help="a stored console log (with --events: no boot)")
    ap.add_argument("--events", help="the stored vmitrace json events of that run")
    ap.add_argument("--label", help="the guest's name in the report")
    ap.add_argument("--run-opt", action="append", default=[], metavar="OPT",
                    help="one more option for `vmitrace run` (repeat; e.g. --run-opt=-r --run-opt=k.json)")
    ap.add_argument("--keep", action="store_true", help="keep the console log and events")
    a = ap.parse_args()
    label = a.label or (f"lab {a.kernel}" if a.kernel else "guest")
    if a.console:
        if not a.events:
            ap.error("--console needs --events")
        return evaluate(label, open(a.console, errors="replace").read(), a.events)
    vmitrace = os.path.join(a.build, "vmitrace")
    tmp = tempfile.mkdtemp(prefix="vmitrace-strace-")
    events_path, console_path = os.path.join(tmp, "events.jsonl"), os.path.join(tmp, "console.log")
    run_opts = ["--args", "rich", "-o", "json", "--output", events_path, "--capture-buffers", "256"] + a.run_opt
    if a.kernel:
        arm = a.kernel.startswith("arm64-")
        archive = "initramfs-userland-arm64.cpio.gz" if arm else "initramfs-userland.cpio.gz"
        if not os.path.exists(os.path.join(ROOT, ".cache/guest", archive)):
            if arm and os.environ.get("VMITRACE_LAB_ARM64") == "0":
                print(f"SKIP: the arm64 lab is not set up (no {archive}; VMITRACE_LAB_ARM64=0 skips it)")
                return 77
            print(f"FAIL: the lab is not set up (no {archive}): run guest/setup.sh", file=sys.stderr)
            return 1
        cmd = ([os.path.join(ROOT, "guest/launch.sh"), "--kernel", a.kernel, "--workload", "userland",
                "--log", console_path, "--timeout", "600", "--", vmitrace, "run"] + run_opts + ["--"])
    else:
        cmd = [vmitrace, "run"] + run_opts + ["--"] + shlex.split(a.qemu) + ["-serial", f"file:{console_path}"]
    print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
    try:
        r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, timeout=840)
        sys.stderr.write(r.stderr[-3000:])
        check(r.returncode == 0, f"the run exited {r.returncode}")
    except subprocess.TimeoutExpired:
        check(False, "the run did not end within 840 s")
    console = open(console_path, errors="replace").read() if os.path.exists(console_path) else ""
    rc = evaluate(label, console, events_path)
    if rc or a.keep:
        print(f"(kept {tmp})")
    else:
        subprocess.run(["rm", "-rf", tmp])
    return rc


def evaluate(label, console, events_path):
    lines = strace_log.from_console(console)
    begin = re.search(r"^GT strace begin lines=(\d+)", console, re.M)
    check(begin is not None and "GT strace end" in console, "no GT strace begin/end lines on the console")
    check(begin is None or int(begin.group(1)) == len(lines),
          f"strace wrote {begin and begin.group(1)} lines, {len(lines)} reached the console")
    events = []
    if os.path.exists(events_path):
        with open(events_path, encoding="utf-8") as f:
            events = [json.loads(line) for line in f]
    scalls = strace_log.parse(lines)
    if check(scalls and events, "no strace output or no events"):
        # strace's first line is the execve of the program it started: that TID's calls
        # before it (strace's child preparing the exec) are not compared.
        main_tid = scalls[0]["tid"]
        check(scalls[0]["name"] == "execve", f"strace's first call is {scalls[0]['name']}, not execve")
        tids = {c["tid"] for c in scalls}
        st = compare(scalls, vmitrace_calls(events, tids, main_tid))
        report(st, label)
        assess(st)
    print(f"\n{len(failures)} failed checks")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
