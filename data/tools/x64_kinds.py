"""What the 32-bit tables (linux-ia32.tbl, linux-arm32.tbl) take from linux-x64.tbl:
shared by the one-off converters convert_ia32.py and convert_arm64.py (never run by the
build)."""
import re


# Kinds a compat function's argument can take from x86-64's declaration of the same
# call: values whose meaning no word size changes (flags, enums, modes, hex) and
# structures read with the task's pointer size (sigaction, iovec) or of one size
# (sigset; a CPU mask, bytes on little-endian machines whatever the word).
COMPAT_KINDS = re.compile(r"\{(flags|enum|hex|mode|sigaction|sigaction_out|sigset|sigset_out|fcntl_arg|"
                          r"socket_protocol|futex_val3|ioctl_arg|rlimit|rlimit_out|iovec_data|"
                          r"cpu_mask_out|sysinfo_out|statfs_out)(:[\w:]+)?\}$")
# ... where x86-64's structure has a compat twin of its own kind.
COMPAT_STRUCTS = {("struct compat_rlimit *", "{rlimit}"): "{rlimit32}",
                  ("struct compat_rlimit *", "{rlimit_out}"): "{rlimit32_out}",
                  ("struct compat_sysinfo *", "{sysinfo_out}"): "{sysinfo32_out}",
                  ("struct compat_statfs *", "{statfs_out}"): "{statfs32_out}",
                  ("struct compat_statfs64 *", "{statfs_out}"): "{statfs64_out}"}


def load_table(path):
    rows = {}
    for line in open(path):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.rstrip("\n").split("\t")
        rows[int(cols[0])] = cols
    return rows


def split_row(cols):
    args, ret = cols[4:], []
    if args and args[-1].startswith("->"):
        ret = [args.pop()]
    return args, ret


def function_of(symbol, prefix):
    """'__x64_sys_newstat' -> 'sys_newstat'; '__ia32_compat_sys_open' -> 'compat_sys_open'."""
    return symbol[len(prefix):] if symbol.startswith(prefix) else None


def compat_kinds(args, x64_row):
    """A compat function's declaration with the kinds x86-64's declaration of the same
    call gives its arguments of the same name, where COMPAT_KINDS allows them."""
    if not x64_row:
        return args
    theirs = {re.sub(r"\s*\{.*\}$", "", a).split()[-1].lstrip("*"): a for a in split_row(x64_row)[0]}
    out = []
    for a in args:
        decl = re.sub(r"\s*\{.*\}$", "", a)
        name = decl.split()[-1].lstrip("*")
        kind = COMPAT_KINDS.search(theirs.get(name, ""))
        if ("{" in a and not a.endswith(" {ptr}")) or not kind:  # {ptr}: ia32's "not decoded"
            out.append(a)
            continue
        ctype = " ".join(decl.split()[:-1]).replace("const ", "") + (" *" if "*" in decl.split()[-1] else "")
        k = kind.group(0)
        if k in ("{rlimit}", "{rlimit_out}", "{sysinfo_out}", "{statfs_out}"):  # x86-64's layouts: only as compat twins
            k = COMPAT_STRUCTS.get((ctype, k))
        out.append(decl + " " + k if k else a)
    return out
