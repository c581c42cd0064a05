#!/usr/bin/env python3
"""One-off converter: gives data/linux-ia32.tbl the rich kinds of data/linux-x64.tbl.

Run by hand after changing a kind in linux-x64.tbl (then convert_arm64.py, which reads
both); the build never runs it. Rewrites linux-ia32.tbl in place and is idempotent.
Usage (from the source root):
  data/tools/convert_ia32.py data/

Per row, by the entry point 64-bit kernels run for ia32 tasks (the symbol column):
- a native function x86-64 has too (`__ia32_sys_uname` and `__x64_sys_uname`) reads
  what it reads for 64-bit tasks: x86-64's declaration with its kinds (the generator
  caps the widths at 32 bits). The same function serves native 32-bit kernels
  (alt_symbol), where the word size is the task's as well;
- a compat function (`__ia32_compat_sys_rt_sigaction`), or a native one x86-64 lacks
  (`_llseek`), keeps its declaration and takes only x86-64's kinds that no word size
  changes (x64_kinds.COMPAT_KINDS: flags, enums, modes, sigaction, sigset, ioctl's and
  fcntl's argument...) plus the compat twins of x86-64's structures (struct
  compat_rlimit: rlimit32). On a native 32-bit kernel (alt_symbol) the native
  structure of these calls has the compat layout.
clone is a compat function (CLONE_BACKWARDS: tls_val before child_tidptr).
"""
import sys
from pathlib import Path

from x64_kinds import compat_kinds, function_of, load_table, split_row

# ia32 calls whose x86-64 counterpart has another name (and a wider argument list).
X64_NAME = {"_llseek": "lseek", "fadvise64_64": "fadvise64"}


def convert(ia32, x64):
    x64_by_fn = {function_of(c[2], "__x64_"): c for c in x64.values() if c[2] != "-"}
    x64_by_name = {c[1]: c for c in x64.values()}
    rows = {}
    for nr, cols in ia32.items():
        name, sym = cols[1], cols[2]
        args, ret = split_row(cols)
        fn = function_of(sym, "__ia32_") or function_of(cols[3], "__ia32_") or ""
        native = x64_by_fn.get(fn) if fn.startswith("sys_") else None
        if native and len(split_row(native)[0]) == len(args):
            args, ret = split_row(native)
        elif fn:
            base = fn.removeprefix("compat_").removeprefix("sys_").removeprefix("ia32_")
            args = compat_kinds(args, x64_by_fn.get("sys_" + base) or x64_by_name.get(name)
                                or x64_by_name.get(name.removesuffix("64")) or x64_by_name.get(X64_NAME.get(name)))
        rows[nr] = cols[:4] + args + ret
    return rows


def main():
    dst = Path(sys.argv[1])
    path = dst / "linux-ia32.tbl"
    header = [line for line in open(path) if line.startswith("#")]
    rows = convert(load_table(path), load_table(dst / "linux-x64.tbl"))
    with open(path, "w") as f:
        f.writelines(header)
        for nr in sorted(rows):
            f.write("\t".join(rows[nr]) + "\n")


if __name__ == "__main__":
    main()
