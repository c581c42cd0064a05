"""Parser for strace's text output as the lab's `strace` workload writes it
(`strace -f -v -y -s 256 -o FILE`, each line printed on the console as `ST <line>`).

Line shapes handled (strace 6.1, -f to one file, so every line starts with the TID):
    TID  name(args) = ret [ERRNO (text)]
    TID  name(args <unfinished ...>          ... later ...   TID  <... name resumed>args) = ret
    TID  name(args) = ?                      (exit, exit_group)
    TID  --- SIGCHLD {...} ---               (signal: skipped)
    TID  +++ exited with N +++               (exit report: skipped)
A call is a dict: tid, name, args (list of top-level argument texts), ret (text or None
for "?"), errno ("ENOENT") and errtext ("No such file or directory") or None.
"""
import re

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CALL_RE = re.compile(r"^([a-z_0-9]+)\(")
_RESUMED_RE = re.compile(r"^<\.\.\. ([a-z_0-9]+) resumed>")
_UNFINISHED = " <unfinished ...>"
_RET_RE = re.compile(r"^\s*=\s*(\S+)(?:\s+([A-Z][A-Z0-9_]*)\s+\((.*)\))?(?:\s+\(.*\))?\s*$")


def skip_string(s, i):
    """s[i] is '"': the index after the closing quote (and strace's `...` marker)."""
    i += 1
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == '"':
            i += 1
            if s.startswith("...", i):
                i += 3
            return i
        i += 1
    return i


def split_args(s):
    """Splits an argument list at top-level commas; returns (args, index of the ')' that
    closes the list, or len(s) when it is missing). Quotes, (), [], {} and the <...> that
    -y appends to descriptors are nested."""
    args, depth, start, i = [], [], 0, 0
    while i < len(s):
        c = s[i]
        if c == '"':
            i = skip_string(s, i)
            continue
        if c in _OPEN:
            depth.append(_OPEN[c])
        elif c == "<" and i > 0 and (s[i - 1].isalnum() or s[i - 1] == "_"):
            # fd<path>: the path may hold any character except '>' at its end.
            j = s.find(">", i)
            if j < 0:
                break
            i = j + 1
            continue
        elif depth and c == depth[-1]:
            depth.pop()
        elif c == ")" and not depth:
            if s[start:i].strip():
                args.append(s[start:i].strip())
            return args, i
        elif c == "," and not depth:
            args.append(s[start:i].strip())
            start = i + 1
        i += 1
    if s[start:].strip():
        args.append(s[start:].strip())
    return args, len(s)


def parse_call(tid, text):
    """`name(args) = ret ...` -> call dict, or None when the text is not a call."""
    m = _CALL_RE.match(text)
    if not m:
        return None
    args, close = split_args(text[m.end():])
    rest = text[m.end() + close + 1:]
    call = {"tid": tid, "name": m.group(1), "args": args, "ret": None, "errno": None, "errtext": None,
            "line": text}
    r = _RET_RE.match(rest)
    if r:
        call["ret"] = None if r.group(1) == "?" else r.group(1)
        call["errno"], call["errtext"] = r.group(2), r.group(3)
    return call


def parse(lines):
    """strace lines (without the `ST ` prefix) -> list of calls, in completion order per TID."""
    calls, pending = [], {}
    for raw in lines:
        line = raw.rstrip("\r\n")
        tid_s, _, text = line.strip().partition(" ")
        if not tid_s.isdigit():
            continue
        tid, text = int(tid_s), text.strip()
        if text.startswith(("---", "+++", "[")):
            continue
        if text.endswith(_UNFINISHED):
            pending[tid] = text[: -len(_UNFINISHED)]
            continue
        r = _RESUMED_RE.match(text)
        if r:
            head = pending.pop(tid, r.group(1) + "(")
            text = head + text[r.end():]
        call = parse_call(tid, text)
        if call:
            calls.append(call)
    # A call still unfinished at the end (the tracee died inside it) has no result.
    for tid, head in pending.items():
        call = parse_call(tid, head)
        if call:
            calls.append(call)
    return calls


def from_console(console):
    """The `ST ` lines of a lab console log -> strace lines."""
    out = []
    for line in console.splitlines():
        line = line.rstrip("\r")
        if line.startswith("ST "):
            out.append(line[3:])
    return out


def split_fd(text):
    """`3</tmp/x>` -> ("3", "/tmp/x"); `AT_FDCWD</>` -> ("AT_FDCWD", "/"); else (text, None)."""
    m = re.fullmatch(r"(-?\w+)<(.*)>", text, re.S)
    return (m.group(1), m.group(2)) if m else (text, None)
