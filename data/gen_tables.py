#!/usr/bin/env python3
"""Build-time generator: data/*.tbl -> C++ arrays (one .cpp, compiled into
syscalls_tables_lib). Usage:
  gen_tables.py OUT.cpp --syscalls linux_x64=FILE linux_ia32=FILE linux_arm64=FILE
      linux_arm32=FILE --consts FILE...

Syscall tables: see the header of data/linux-x64.tbl. Each argument's kind is the
{override} written in the file, else derived from its C type and name (rules below);
{flags:SET} / {enum:SET} name the constant set the argument is decoded with, the
decoded kinds get theirs from KIND_SETS, and each ArgInfo points at its set.
Constant sets (data/const/ID.tbl): "value<TAB>NAME[<TAB>text]" lines; "#!kind: enum"
(exact match) or "#!kind: flags" (bit set), "#!zero: NAME" names the value 0.
Any malformed line stops the build with FILE:LINE: problem.
"""
import argparse
import re
import sys

KINDS = {"int_", "uint_", "ptr", "string", "string_array", "fd", "dirfd", "mode",
         "open_flags", "prot", "mmap_flags", "prctl_option", "arch_prctl_code",
         "signal", "buffer", "out_ptr", "flags", "enum_", "clone_flags", "socket_type",
         "ioctl_cmd", "hex", "sockaddr", "sockaddr_out", "len_out", "timespec",
         "timespec32", "iovec", "stat_out", "stat32_out", "stat64_out", "stat_arm_out", "statx_out",
         "fd_pair_out", "out_buffer", "msghdr", "futex_op", "futex_timeout",
         "futex_timeout32", "prctl_arg", "wait_status_out", "siginfo_out",
         "clone_ptid_out", "msghdr_out", "mmsghdr", "mmsghdr_out", "socket_protocol",
         "fcntl_arg", "statx_flags", "futex_val3", "sigset", "sigaction", "rlimit", "rlimit32",
         "sigset_out", "sigaction_out", "rlimit_out", "rlimit32_out", "timespec_out", "utsname_out",
         "sysinfo_out", "statfs_out", "dirent64_out", "out_string", "random_out",
         "ioctl_arg", "iovec_data", "gid_list_out", "cpu_mask_out", "sockopt_name",
         "timespec_pair", "timespec32_pair", "sockopt_val"}
# Kinds whose parameter names another argument of the syscall (ArgInfo::len_arg):
# a length, or the argument their meaning depends on.
LEN_KINDS = {"buffer", "out_buffer", "sockaddr", "sockaddr_out", "iovec", "futex_timeout",
             "futex_timeout32", "prctl_arg", "clone_ptid_out", "mmsghdr", "socket_protocol",
             "fcntl_arg", "futex_val3", "ioctl_arg", "iovec_data", "sockopt_name",
             "sockopt_val"}
# What a successful return value is: the optional last column "->KIND" (RetKind).
RET_KINDS = {"fd", "dupfd"}
# Structures the kernel writes at return, by the pointer's C type.
OUT_STRUCTS = {"struct stat *": "stat_out", "struct compat_stat *": "stat32_out",
               "struct stat64 *": "stat64_out", "struct statx *": "statx_out"}
# The constant set (data/const/SET.tbl) each decoded kind uses. The generic kinds
# {flags:SET} and {enum:SET} name theirs in the table.
KIND_SETS = {"open_flags": "open_flags", "prot": "prot", "mmap_flags": "mmap_flags",
             "prctl_option": "prctl_option", "arch_prctl_code": "arch_prctl_code",
             "signal": "signals", "clone_flags": "clone_flags",
             "socket_type": "socket_type", "ioctl_cmd": "ioctl_cmd", "futex_op": "futex_cmd",
             "fcntl_arg": "open_flags"}
# Decoded kinds whose set an architecture may replace: {open_flags:open_flags_arm};
# for a kind that also names an argument, after it: {fcntl_arg:cmd:open_flags_arm}.
SET_KINDS = {"open_flags", "fcntl_arg"}
# Integer arguments that hold user addresses (shown in hex like pointers).
ADDR_NAMES = {"addr", "start", "brk", "new_addr", "newsp", "tls", "tls_val", "entry"}

# Arguments that are NUL-terminated strings when their type is a char pointer.
STRING_NAMES = {"filename", "pathname", "path", "name", "oldname", "newname",
                "from_pathname", "to_pathname", "new_root", "put_old", "special",
                "specialfile", "u_name", "uname", "name_user", "_fs_name", "_key",
                "_type", "_description", "_callout_info", "uargs", "cmdline_ptr",
                "dev_name", "dir_name", "type"}
FD_NAMES = {"fd", "ufd", "pidfd", "epfd", "oldfd", "newfd", "fd_in", "fd_out",
            "in_fd", "out_fd", "fdin", "fdout", "fildes", "ruleset_fd", "group_fd",
            "fs_fd", "fanotify_fd", "kernel_fd", "initrd_fd"}
DIRFD_NAMES = {"dfd", "dirfd", "olddfd", "newdfd", "from_dfd", "to_dfd", "mountdirfd"}
SIGNAL_NAMES = {"sig"}
# Typedefs that are pointers although no '*' is written.
POINTER_TYPEDEFS = {"cap_user_header_t", "cap_user_data_t", "__sighandler_t", "compat_uptr_t"}
SIGNED_TYPES = {"int", "long", "pid_t", "__s32", "compat_long_t", "compat_pid_t",
                "compat_off_t", "compat_ssize_t", "key_serial_t", "key_t", "clockid_t",
                "timer_t", "mqd_t", "off_t", "loff_t", "rwf_t"}
# Width of the value the kernel uses (x86-64); everything else is 64 bits.
BITS16 = {"umode_t", "compat_mode_t", "old_uid_t", "old_gid_t"}
BITS32 = {"int", "unsigned int", "unsigned", "u32", "__u32", "__s32", "pid_t", "uid_t",
          "gid_t", "clockid_t", "timer_t", "mqd_t", "key_t", "key_serial_t", "qid_t",
          "rwf_t"}


class DataError(Exception):
    pass


def base_type(ctype):
    t = ctype.replace("const ", "").strip()
    return t


def is_pointer(ctype):
    return "*" in ctype or base_type(ctype) in POINTER_TYPEDEFS


def type_bits(ctype):
    if is_pointer(ctype):
        return 64
    t = base_type(ctype)
    if t in BITS16:
        return 16
    if t in BITS32 or t.startswith("compat_") or t.startswith("enum "):
        return 32
    return 64


def derive_kind(ctype, name):
    ptr = is_pointer(ctype)
    t = base_type(ctype)
    if ptr and name in ("argv", "envp"):
        return "string_array"
    if ptr and re.fullmatch(r"char\s*\*", t) and name in STRING_NAMES:
        return "string"
    if ptr or name in ADDR_NAMES:
        return "ptr"
    if name in DIRFD_NAMES:
        return "dirfd"
    if name in FD_NAMES:
        return "fd"
    if t in ("umode_t", "compat_mode_t"):
        return "mode"
    if name in SIGNAL_NAMES:
        return "signal"
    return "int_" if t in SIGNED_TYPES else "uint_"


def parse_arg(text, where):
    m = re.fullmatch(r"(.*?)\s*(?:\{(\w+)(?::(\w+))?(?::(\w+))?\})?", text.strip())
    decl, kind, param, param2 = m.group(1), m.group(2), m.group(3), m.group(4)
    if kind == "enum":
        kind = "enum_"
    nm = re.search(r"(\w+)$", decl)
    if not nm or not decl[: nm.start()].strip():
        raise DataError(f"{where}: argument '{text}' is not 'TYPE NAME'")
    name = nm.group(1)
    ctype = " ".join(decl[: nm.start()].split())
    if kind is not None and kind not in KINDS:
        raise DataError(f"{where}: unknown kind '{kind}'")
    if param is not None and kind not in LEN_KINDS | {"flags", "enum_"} | SET_KINDS:
        raise DataError(f"{where}: only {{buffer:LEN}}-like kinds, {{flags:SET}}, {{enum:SET}} and "
                        f"{{open_flags:SET}} take a parameter")
    if param2 is not None and not (kind in LEN_KINDS and kind in SET_KINDS):
        raise DataError(f"{where}: only {{fcntl_arg:ARG:SET}} takes a second parameter")
    if param is None and kind in ("flags", "enum_"):
        raise DataError(f"{where}: {{{kind}}} needs a constant set: {{{kind}:SET}}")
    explicit = kind is not None
    kind = kind or derive_kind(ctype, name)
    lenarg = param if kind in LEN_KINDS else None
    if kind in LEN_KINDS:
        cset = param2 or KIND_SETS.get(kind)
    else:
        cset = param if kind in ("flags", "enum_") or (param and kind in SET_KINDS) else KIND_SETS.get(kind)
    return {"name": name, "ctype": ctype, "kind": kind, "lenarg": lenarg, "set": cset,
            "where": where, "explicit": explicit}


def derive_structs(args):
    """Structure kinds that depend on the argument's neighbours: a sockaddr with its
    length (a value: read at entry; an int *: written at return), iovec arrays with
    their count, timespec requests, stat buffers and pipe fds written at return."""
    for i, a in enumerate(args):
        if a["explicit"]:
            continue
        t = a["ctype"].replace("const ", "")
        nxt = args[i + 1] if i + 1 < len(args) else None
        if t == "struct sockaddr *" and nxt is not None:
            a["lenarg"] = nxt["name"]
            if is_pointer(nxt["ctype"]):
                a["kind"] = "sockaddr_out"
                if not nxt["explicit"]:
                    nxt["kind"] = "len_out"
            else:
                a["kind"] = "sockaddr"
        elif t == "struct iovec *" and any(b["name"] == "vlen" for b in args):
            a["kind"], a["lenarg"] = "iovec", "vlen"
        elif a["name"] == "rqtp" and t == "struct __kernel_timespec *":
            a["kind"] = "timespec"
        elif a["name"] == "rqtp" and t == "struct old_timespec32 *":
            a["kind"] = "timespec32"
        elif t in OUT_STRUCTS:
            a["kind"] = OUT_STRUCTS[t]
        elif t == "int *" and a["name"] == "fildes":
            a["kind"] = "fd_pair_out"
        elif t in ("struct user_msghdr *", "struct compat_msghdr *"):
            a["kind"] = "msghdr"
        elif t in ("struct mmsghdr *", "struct compat_mmsghdr *") and nxt is not None:
            a["kind"], a["lenarg"] = "mmsghdr", nxt["name"]


def table_lines(path):
    """(FILE:LINE, tab-separated columns) of each line of a data table, blank lines
    and # comments skipped. Shared with gen_windows.py."""
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                yield f"{path}:{ln}", line.split("\t")


def const_ident(path):
    """data/const/ID.tbl -> ID (the C++ name of the set)."""
    return re.sub(r"\.tbl$", "", path.rsplit("/", 1)[-1])


def check_set_ref(where, cset, kind, set_kinds, what):
    """An argument decoded with constant set `cset`: the set must exist (`what` names
    it in the message) and, for the generic kinds (flags, enum_, Windows access
    masks), be of that kind."""
    if cset not in set_kinds:
        raise DataError(f"{where}: no constant set {what}")
    want = {"flags": "flags", "enum_": "enum", "access_mask": "flags"}.get(kind)
    if want is not None and set_kinds[cset] != want:
        raise DataError(f"{where}: {cset} is not {'an enum' if want == 'enum' else 'a flag'} set")


def read_syscalls(path):
    rows, names = [], set()
    for where, cols in table_lines(path):
        if len(cols) < 4:
            raise DataError(f"{where}: expected at least 4 tab-separated columns")
        try:
            nr = int(cols[0])
        except ValueError:
            raise DataError(f"{where}: bad number '{cols[0]}'")
        if not (0 <= nr < 4096 or 0x0f0000 <= nr < 0x0f0100):  # ARM's private calls up there
            raise DataError(f"{where}: number {nr} out of range")
        name = cols[1]
        if not re.fullmatch(r"\w+", name) or name in names:
            raise DataError(f"{where}: bad or duplicate name '{name}'")
        names.add(name)
        ret = "value"
        if len(cols) > 4 and cols[-1].startswith("->"):
            ret = cols.pop()[2:]
            if ret not in RET_KINDS:
                raise DataError(f"{where}: unknown return kind '{ret}'")
        if len(cols) > 10:
            raise DataError(f"{where}: more than 6 arguments")
        args = [parse_arg(a, where) for a in cols[4:]]
        derive_structs(args)
        for a in args:
            if a["lenarg"]:
                idx = [i for i, b in enumerate(args) if b["name"] == a["lenarg"]]
                if not idx:
                    raise DataError(f"{where}: length argument '{a['lenarg']}' not found")
                a["lenidx"] = idx[0]
        rows.append({"nr": nr, "name": name, "symbol": "" if cols[2] == "-" else cols[2],
                     "alt": "" if cols[3] == "-" else cols[3], "args": args, "ret": ret})
    if len({r["nr"] for r in rows}) != len(rows):
        raise DataError(f"{path}: duplicate syscall numbers")
    return sorted(rows, key=lambda r: r["nr"])


def read_consts(path):
    kind, zero, vals = None, None, []
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = f"{path}:{ln}"
            m = re.match(r"#!(\w+):\s*(\S+)", line)
            if m:
                if m.group(1) == "kind":
                    kind = m.group(2)
                elif m.group(1) == "zero":
                    zero = m.group(2)
                continue
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 2:
                raise DataError(f"{where}: expected 'value<TAB>NAME'")
            try:
                v = int(cols[0], 0)
            except ValueError:
                raise DataError(f"{where}: bad value '{cols[0]}'")
            vals.append((v, cols[1], cols[2] if len(cols) > 2 else ""))
    if kind not in ("enum", "flags"):
        raise DataError(f"{path}: missing '#!kind: enum|flags'")
    if kind == "enum":
        vals.sort()
        if len({v for v, _, _ in vals}) != len(vals):
            raise DataError(f"{path}: duplicate values")
    return kind, zero, vals


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_table(out, ident, abi, rows, set_kinds):
    is32 = abi in ("linux_ia32", "linux_arm32")
    out.append(f"const SyscallInfo k{ident}Entries[] = {{")
    for r in rows:
        args = []
        for a in r["args"]:
            bits = type_bits(a["ctype"])
            if is32:
                bits = min(bits, 32)
            cset = a["set"]
            if cset is not None:
                check_set_ref(a["where"], cset, a["kind"], set_kinds, f"data/const/{cset}.tbl")
            ref = f"&consts::{cset}" if cset else "nullptr"
            args.append(f"{{{cstr(a['name'])}, {cstr(a['ctype'])}, ArgKind::{a['kind']}, "
                        f"{bits}, {a.get('lenidx', -1)}, {ref}}}")
        out.append(f"  {{{r['nr']}, {cstr(r['name'])}, {cstr(r['symbol'])}, {len(r['args'])}, "
                   f"{{{', '.join(args)}}}, {cstr(r['alt'])}, RetKind::{r['ret']}}},")
    out.append("};")
    # Numbers from 0x10000 on (ARM's private calls at 0x0f0000) are too sparse for
    # the dense index: lookup() searches the number-sorted entries for them.
    dense = [r for r in rows if r["nr"] < 0x10000]
    limit = dense[-1]["nr"] + 1 if dense else 0
    by_nr = [-1] * limit
    for i, r in enumerate(dense):
        by_nr[r["nr"]] = i
    out.append(f"const int16_t k{ident}ByNr[] = {{{', '.join(map(str, by_nr)) or '-1'}}};")
    order = sorted(range(len(rows)), key=lambda i: rows[i]["name"])
    out.append(f"const uint16_t k{ident}ByName[] = {{{', '.join(map(str, order)) or '0'}}};")
    out.append(f"extern const TableData k{ident};")
    out.append(f"const TableData k{ident}{{k{ident}Entries, {len(rows)}, k{ident}ByNr, {limit}, "
               f"k{ident}ByName}};")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--syscalls", nargs="+", default=[])
    ap.add_argument("--consts", nargs="+", default=[])
    a = ap.parse_args()
    out = ["// Generated by data/gen_tables.py from data/*.tbl: do not edit.",
           '#include "syscalls/tables/linux_data.hpp"', "",
           "namespace vmitrace::syscalls::data {", ""]
    try:
        consts = []
        for path in a.consts:
            consts.append((const_ident(path),) + read_consts(path))
        set_kinds = {c[0]: c[1] for c in consts}
        # Declared first: the argument tables point at them.
        out.insert(2, "namespace vmitrace::syscalls::consts {\n" +
                   "".join(f"extern const ConstSet {c[0]};\n" for c in consts) +
                   "}  // namespace vmitrace::syscalls::consts\n")
        for spec in a.syscalls:
            abi, path = spec.split("=", 1)
            ident = "".join(p.capitalize() for p in abi.split("_"))
            emit_table(out, ident, abi, read_syscalls(path), set_kinds)
            out.append("")
        sets = []
        for ident, kind, zero, vals in consts:
            out.append(f"const NamedValue k_{ident}[] = {{")
            for v, n, t in vals:
                out.append(f"  {{{v:#x}ull, {cstr(n)}, {cstr(t)}}},")
            out.append("};")
            sets.append(f"const ConstSet {ident}{{{cstr(ident)}, {'true' if kind == 'flags' else 'false'}, "
                        f"{cstr(zero) if zero else 'nullptr'}, {{data::k_{ident}, {len(vals)}}}}};")
    except DataError as e:
        sys.exit(f"gen_tables.py: {e}")
    out.append("}  // namespace vmitrace::syscalls::data")
    out += ["", "namespace vmitrace::syscalls::consts {"] + sets + ["}  // namespace vmitrace::syscalls::consts"]
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
