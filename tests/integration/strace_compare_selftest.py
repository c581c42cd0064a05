#!/usr/bin/env python3
"""No guest: the strace parser and the comparison of strace_compare_test.py on a stored
real console (data/strace-lab64-6.1.log: lab64 under strace -f -v -y -s 256, kernel 6.1).
Events in vmitrace's json shape are built from the parsed calls, so the comparison must
agree fully; then single fields are broken and each break must be reported."""
import copy
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import strace_compare_test as sc  # noqa: E402
import strace_log  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def events_from(calls):
    """vmitrace-style json events (entry + sysret) equivalent to strace's calls."""
    out = []
    for c in calls:
        keyed = sc.KEY_ALIASES.get(c["name"], {})
        args, paths = {}, {}
        for i, text in enumerate(c["args"]):
            k, eq, rest = text.partition("=")
            key, text = (keyed[k], rest) if eq and k in keyed else (f"a{i}", text)
            val, path = strace_log.split_fd(text)
            args[key] = val
            if path is not None:
                paths[key + "_path"] = path
        entry = {"Plugin": "syscall", "TID": c["tid"], "Method": c["name"], "NArgs": len(args), "EventUID": "0x1"}
        out.append({**entry, **args, **paths})
        if c["ret"] is not None:
            ret, rpath = strace_log.split_fd(c["ret"])
            v = -{"ENOENT": 2}.get(c["errno"], 1) if c["errno"] else int(ret, 0)
            info = f"{c['errno']} ({c['errtext']})" if c["errno"] else ""
            out.append({"Plugin": "sysret", "TID": c["tid"], "Method": c["name"], "Ret": hex(v & (2**64 - 1)),
                        "Info": info, **({"Ret_path": rpath} if rpath and not c["errno"] else {})})
    return out


def main():
    console = open(os.path.join(here, "data", "strace-lab64-6.1.log"), errors="replace").read()
    lines = strace_log.from_console(console)
    check(len(lines) == 69, f"{len(lines)} ST lines, want 69")
    calls = strace_log.parse(lines)
    names = [c["name"] for c in calls]
    check(len(calls) == 62, f"{len(calls)} calls, want 62 (signals and exit reports skipped)")
    check(names[0] == "execve" and names.count("exit_group") == 2, f"first/exit calls: {names[:3]}")
    wait4 = next(c for c in calls if c["name"] == "wait4")  # unfinished + resumed, merged
    check(wait4["args"] == ["95", "[{WIFEXITED(s) && WEXITSTATUS(s) == 7}]", "0", "NULL"] and wait4["ret"] == "95",
          f"wait4 merged: {wait4}")
    futex = next(c for c in calls if c["name"] == "futex")
    check(futex["args"] == ["0x404460", "FUTEX_WAIT", "96", "NULL"] and futex["ret"] == "0", f"futex: {futex}")
    miss = [c for c in calls if c["errno"]]
    check(len(miss) == 1 and miss[0]["errno"] == "ENOENT" and miss[0]["errtext"] == "No such file or directory"
          and miss[0]["ret"] == "-1", f"ENOENT call: {miss}")
    opened = next(c for c in calls if c["name"] == "openat")
    check(strace_log.split_fd(opened["args"][0]) == ("AT_FDCWD", "/") and
          strace_log.split_fd(opened["ret"]) == ("3", "/tmp/vmitrace-lab/file64.txt"), f"openat -y: {opened}")
    clone = next(c for c in calls if c["name"] == "clone")
    check(len(clone["args"]) == 4 and clone["args"][2] == "parent_tid=[96]", f"clone args: {clone['args']}")
    check(strace_log.split_args('"a,b\\"c", [1, 2], {x=1, y=2}) = 0')[0] == ['"a,b\\"c"', "[1, 2]", "{x=1, y=2}"],
          "split_args nesting/quotes")

    # Normalisations: -y paths inside compound values, structures vmitrace abbreviates.
    check(sc.same("[3<pipe:[10241]>, 4<pipe:[10241]>]", "[3, 4]"), "fds with -y paths in an array")
    stat = "{st_dev=makedev(0, 0xd), st_ino=10241, st_mode=S_IFIFO|0600, st_nlink=1, st_size=0}"
    check(sc.same(stat, "{st_mode=S_IFIFO|0600, st_size=0, ...}"), "abbreviated struct, fields agree")
    check(not sc.same(stat, "{st_mode=S_IFIFO|0644, ...}"), "abbreviated struct with a wrong field agrees")
    check(not sc.same("[3, 4]", "[3, 5]") and not sc.same("O_RDONLY", "O_WRONLY"), "plain values")

    tids = {c["tid"] for c in calls}
    events = events_from(calls)
    st = sc.compare(calls, sc.vmitrace_calls(events, tids, 94))
    for cls in ("sequence", "ret", "errno", "args", "fd_path"):
        check(st.n[cls] > 0 and st.ok[cls] == st.n[cls], f"identical input: {cls} {st.ok[cls]}/{st.n[cls]}")

    def broken(mutate):
        evs = copy.deepcopy(events)
        mutate(evs)
        return sc.compare(calls, sc.vmitrace_calls(evs, tids, 94))

    def first(evs, plugin, method):
        return next(e for e in evs if e["Plugin"] == plugin and e["Method"] == method)

    st = broken(lambda evs: first(evs, "sysret", "fork").update(Ret="0x0"))
    check(st.ok["ret"] == st.n["ret"] - 1, "a wrong return value is not reported")
    st = broken(lambda evs: next(e for e in evs if e.get("Info")).update(Info="EACCES (Permission denied)"))
    check(st.ok["errno"] == st.n["errno"] - 1, "a wrong errno text is not reported")
    st = broken(lambda evs: evs.remove(first(evs, "syscall", "mkdir")))
    check(any(d[0] == "sequence" and d[3] == "mkdir" for d in st.diffs), "a missing call is not reported")
    st = broken(lambda evs: first(evs, "syscall", "mmap").update(a2="PROT_READ"))
    check(any(d[3] == "mmap" and d[7] == "mismatch" for d in st.diffs), "a wrong argument is not reported")
    st = broken(lambda evs: first(evs, "syscall", "close").update(a0_path="/elsewhere"))
    check(st.ok["fd_path"] == st.n["fd_path"] - 1, "a wrong fd path is not reported")
    st = broken(lambda evs: first(evs, "sysret", "openat").update(Ret_path="/elsewhere"))
    check(any(d[0] == "fd_path" and d[4] == "Ret_path" for d in st.diffs), "a wrong Ret_path is not reported")
    st = broken(lambda evs: first(evs, "sysret", "openat").pop("Ret_path"))
    check(st.ok["fd_path"] == st.n["fd_path"] - 1, "a missing Ret_path is not reported")
    st = broken(lambda evs: first(evs, "syscall", "nanosleep").update(a0="0x7ffc0000"))
    check(any(d[3] == "nanosleep" and d[7] == "undecoded" for d in st.diffs), "an undecoded struct is not classed")

    for f in failures:
        print("FAIL:", f)
    print(f"{len(calls)} calls parsed, {len(failures)} failed checks")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
