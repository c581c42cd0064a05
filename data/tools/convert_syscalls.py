#!/usr/bin/env python3
"""One-off converter: reference syscall facts (JSON) -> the project's own table files.

Run by hand when the reference facts change; the build never runs it (the build
reads only data/*.tbl). Usage:
  data/tools/convert_syscalls.py /work/shared/data/linux-syscalls data/

Sources of facts:
- the JSON syscall tables (number, argument signature, kernel entry symbol);
- the user-space names of the numbers (what strace and syscall(2) call them, e.g.
  "stat" for the kernel's newstat, "mmap2" for mmap_pgoff) from the host's
  <asm/unistd_64.h> / <asm/unistd_32.h>, falling back to the JSON name for
  syscalls newer than the host headers.
Numbers the headers name but the kernel does not implement (uselib, vserver...)
are kept with no symbol and no arguments, so that a probe shows a name.
"""
import json
import re
import sys
from pathlib import Path

# Syscall-specific argument kinds (written as "{kind}" after the argument). The
# generator derives the generic kinds (strings, fds, modes, ints, pointers) itself.
OVERRIDES = {
    ("open", "flags"): "open_flags",
    ("openat", "flags"): "open_flags",
    ("open_by_handle_at", "flags"): "open_flags",
    ("mmap", "prot"): "prot",
    ("mmap", "flags"): "mmap_flags",
    ("mmap2", "prot"): "prot",
    ("mmap2", "flags"): "mmap_flags",
    ("mprotect", "prot"): "prot",
    ("pkey_mprotect", "prot"): "prot",
    ("prctl", "option"): "prctl_option",
    ("arch_prctl", "option"): "arch_prctl_code",
    ("read", "buf"): "buffer:count",
    ("write", "buf"): "buffer:count",
    ("pread64", "buf"): "buffer:count",
    ("pread64", "ubuf"): "buffer:count",
    ("pwrite64", "buf"): "buffer:count",
    ("pwrite64", "ubuf"): "buffer:count",
    ("execveat", "fd"): "dirfd",
}


def header_names(path):
    names = {}
    try:
        for line in open(path):
            m = re.match(r"#define __NR_(\w+)\s+(\d+)", line)
            if m:
                names[int(m.group(2))] = m.group(1)
    except OSError:
        pass
    return names


def load(path):
    return {s["number"]: s for s in json.load(open(path))["syscalls"]}


def arg_text(sysname, decl):
    decl = " ".join(decl.split())
    name = decl.split()[-1].lstrip("*")
    kind = OVERRIDES.get((sysname, name))
    return decl + (" {" + kind + "}" if kind else "")


def write_table(out, title, rows):
    names = set()
    with open(out, "w") as f:
        f.write(f"# {title}\n")
        f.write("# Generated once by data/tools/convert_syscalls.py, then maintained by hand.\n")
        f.write("# Columns (tab-separated): nr  name  symbol  alt_symbol  arg1 .. arg6\n")
        f.write("#   symbol: kernel entry point (\"-\" when not implemented)\n")
        f.write("#   alt_symbol: entry point on native 32-bit kernels (ia32 table), else \"-\"\n")
        f.write("#   argN: C declaration as in the kernel, optionally followed by {kind} or\n")
        f.write("#         {buffer:LENARG} to override the kind the generator derives.\n")
        for nr in sorted(rows):
            name, sym, alt, args = rows[nr]
            assert name not in names, f"duplicate name {name}"
            names.add(name)
            f.write("\t".join([str(nr), name, sym or "-", alt or "-"] + args) + "\n")


def main():
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    inc = Path("/usr/include/x86_64-linux-gnu/asm")
    h64 = header_names(inc / "unistd_64.h")
    h32 = header_names(inc / "unistd_32.h")

    # x86-64: union of 6.1 and 6.17 (the newer signature wins).
    x64 = load(src / "x86-64-x64-v6.1.json")
    x64.update(load(src / "x86-64-x64-v6.17.json"))
    rows = {}
    for nr, s in x64.items():
        name = h64.get(nr, s["name"])
        rows[nr] = (name, s["symbol"], None, [arg_text(name, a) for a in s["signature"]])
    for nr, name in h64.items():
        rows.setdefault(nr, (name, None, None, []))
    write_table(dst / "linux-x64.tbl", "Linux x86-64 system calls, 64-bit ABI (kernels 6.1 .. 6.17)", rows)

    # ia32: compat entry points (64-bit kernels) and native ones (32-bit kernels).
    compat = load(src / "x86-64-ia32-v6.17.json")
    native = load(src / "x86-32-ia32-v6.17.json")
    rows = {}
    for nr in sorted(set(compat) | set(native)):
        c, n = compat.get(nr), native.get(nr)
        s = c or n  # the compat signature: what 64-bit kernels (the usual case) run
        name = h32.get(nr, s["name"])
        rows[nr] = (name, c and c["symbol"], n and n["symbol"],
                    [arg_text(name, a) for a in s["signature"]])
    for nr, name in h32.items():
        rows.setdefault(nr, (name, None, None, []))
    write_table(dst / "linux-ia32.tbl",
                "Linux ia32 system calls (int 0x80 / sysenter / compat syscall), kernels 6.1 .. 6.17", rows)


if __name__ == "__main__":
    main()
