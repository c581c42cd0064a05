#!/usr/bin/env python3
"""One-off converter: arm64 and arm (AArch32 compat) syscall numbering -> the project's
table files data/linux-arm64.tbl and data/linux-arm32.tbl.

Run by hand when the facts change; the build never runs it (it reads only data/*.tbl).
Usage (from the source root):
  data/tools/convert_arm64.py data/

Sources of facts:
- numbers and kernel functions of arm64 (asm-generic numbering): the uapi headers of
  Debian's linux-libc-dev-arm64-cross, expanded by aarch64-linux-gnu-cpp with a
  __SYSCALL(nr, function) macro of our own, and the names from `cpp -dM`;
- numbers of arm EABI (what an AArch32 task calls on an arm64 kernel): the uapi
  headers of linux-libc-dev-armhf-cross (`arm-linux-gnueabihf-cpp -dM`);
- argument declarations and kinds: the project's own x86 tables, by kernel function
  (x64 for arm64, ia32 for the compat table), else by user-space name. Numbers from
  424 on are the same on every architecture: those newer than the headers come from
  linux-x64.tbl.
arm64 and arm are CLONE_BACKWARDS like i386 (clone's tls before child_tidptr): clone
takes the ia32 argument list in both tables.
"""
import re
import subprocess
import sys
from pathlib import Path

# AArch32 entry points arm64 implements itself (arch/arm64/kernel/sys32.c and
# signal32.c): arm's 64-bit arguments come in aligned register pairs.
AARCH32 = {
    "statfs64": ("compat_sys_aarch32_statfs64", None),
    "fstatfs64": ("compat_sys_aarch32_fstatfs64", None),
    "mmap2": ("compat_sys_aarch32_mmap2", None),
    "pread64": ("compat_sys_aarch32_pread64",
                ["unsigned int fd", "char *buf {out_buffer:count}", "u32 count", "u32 __pad",
                 "u32 poslo", "u32 poshi"]),
    "pwrite64": ("compat_sys_aarch32_pwrite64",
                 ["unsigned int fd", "const char *buf {buffer:count}", "u32 count", "u32 __pad",
                  "u32 poslo", "u32 poshi"]),
    "truncate64": ("compat_sys_aarch32_truncate64",
                   ["const char *pathname", "u32 __pad", "u32 lenlo", "u32 lenhi"]),
    "ftruncate64": ("compat_sys_aarch32_ftruncate64",
                    ["unsigned int fd", "u32 __pad", "u32 lenlo", "u32 lenhi"]),
    "readahead": ("compat_sys_aarch32_readahead",
                  ["int fd", "u32 __pad", "u32 offlo", "u32 offhi", "u32 count"]),
    "arm_fadvise64_64": ("compat_sys_aarch32_fadvise64_64",
                         ["int fd", "int advice", "u32 offlo", "u32 offhi", "u32 lenlo", "u32 lenhi"]),
    "arm_sync_file_range": ("compat_sys_aarch32_sync_file_range2",
                            ["int fd", "u32 flags", "u32 offlo", "u32 offhi", "u32 nblo", "u32 nbhi"]),
    "fallocate": ("compat_sys_aarch32_fallocate",
                  ["int fd", "int mode", "u32 offlo", "u32 offhi", "u32 lenlo", "u32 lenhi"]),
    "sigreturn": ("compat_sys_sigreturn", []),
    "rt_sigreturn": ("compat_sys_rt_sigreturn", []),
    "clone": ("sys_clone", None),
    # arm's struct stat64 is the generic one arm64 compat kernels serve directly.
    "stat64": ("sys_stat64", None),
    "lstat64": ("sys_lstat64", None),
    "fstat64": ("sys_fstat64", None),
    "fstatat64": ("sys_fstatat64", None),
    "send": ("sys_send", ["int fd", "void *buff {buffer:len}", "size_t len", "unsigned int flags"]),
    "recv": ("compat_sys_recv", ["int fd", "void *ubuf {out_buffer:size}", "compat_size_t size",
                                 "unsigned int flags"]),
}


# ARM's private calls (__ARM_NR_BASE + n, 0x0f0000 up) that arm64's compat_arm_syscall
# serves (arch/arm64/kernel/sys_compat.c): no entry point of their own ("-"), traced
# through the dispatcher only.
ARM_PRIVATE = {"cacheflush": ["unsigned long start {ptr}", "unsigned long end {ptr}", "int flags"],
               "set_tls": ["unsigned long tls"]}

# Kinds a compat function's argument can take from x86-64's declaration of the same
# call: values whose meaning no word size changes (flags, enums, modes, hex) and
# structures read with the task's pointer size (sigaction) or of one size (sigset).
COMPAT_KINDS = re.compile(r"\{(flags|enum|hex|mode|sigaction|sigaction_out|sigset|sigset_out|fcntl_arg|"
                          r"socket_protocol|futex_val3|ioctl_arg|rlimit|rlimit_out)(:[\w:]+)?\}$")
# ... where x86-64's structure has a compat twin of its own kind.
COMPAT_STRUCTS = {("struct compat_rlimit *", "{rlimit}"): "{rlimit32}",
                  ("struct compat_rlimit *", "{rlimit_out}"): "{rlimit32_out}"}

# Numbers arm's table reserves that arm64 kernels leave to sys_ni_syscall.
NOT_IMPLEMENTED = {"uselib", "bdflush", "_sysctl", "nfsservctl", "lookup_dcookie",
                   "pciconfig_iobase", "pciconfig_read", "pciconfig_write", "vserver"}


def arm_arg(decl):
    """An x86 declaration as arm (both ABIs) needs it: arm's O_* bits differ from
    x86's (O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE: open's, pipe2's and dup3's
    flags, fcntl's F_SETFL argument); arm64's struct stat
    (asm-generic) and arm's struct stat64 (EABI-aligned st_size) are not x86's: both
    are {stat_arm_out} (arm's compat_stat is i386's struct stat, byte for byte)."""
    for x86, arm in (("{open_flags}", "{open_flags:open_flags_arm}"), ("{flags:open_flags}", "{flags:open_flags_arm}"),
                     ("{fcntl_arg:cmd}", "{fcntl_arg:cmd:open_flags_arm}")):
        decl = decl.replace(x86, arm)
    base = re.sub(r"\s*\{.*\}$", "", decl)
    if re.match(r"(const )?struct (stat|stat64) \*", base):
        return base + " {stat_arm_out}"
    return decl


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
        if k in ("{rlimit}", "{rlimit_out}"):  # x86-64's struct rlimit: only as a compat twin
            k = COMPAT_STRUCTS.get((ctype, k))
        out.append(decl + " " + k if k else a)
    return out


def cpp_defines(cpp, header):
    out = subprocess.run([cpp, "-dM", "-P", "-"], input=f"#include <{header}>\n",
                         capture_output=True, text=True, check=True).stdout
    defs = {}
    for line in out.splitlines():
        m = re.match(r"#define (__NR\w+) (.+)$", line)
        if m:
            defs[m.group(1)] = m.group(2).strip()
    return defs


def resolve_numbers(defs, base=0):
    """__NR_name -> number, following aliases (__NR_fcntl -> __NR3264_fcntl)."""
    out = {}
    for name in defs:
        v, seen = defs[name], 0
        while v in defs and seen < 8:
            v, seen = defs[v], seen + 1
        m = re.fullmatch(r"\(?\s*(?:__NR_SYSCALL_BASE\s*\+\s*)?(\d+)\s*\)?", v)
        if m:
            out[name] = int(m.group(1)) + base
    return out


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


def write_table(out, title, rows):
    with open(out, "w") as f:
        f.write(f"# {title}\n")
        f.write("# Generated once by data/tools/convert_arm64.py, then maintained by hand.\n")
        f.write("# Columns (tab-separated): nr  name  symbol  alt_symbol  arg1 .. arg6 (see linux-x64.tbl)\n")
        for nr in sorted(rows):
            f.write("\t".join(str(c) for c in [nr] + rows[nr]) + "\n")


def main():
    dst = Path(sys.argv[1])
    x64 = load_table(dst / "linux-x64.tbl")
    ia32 = load_table(dst / "linux-ia32.tbl")
    x64_by_fn = {function_of(c[2], "__x64_"): c for c in x64.values() if c[2] != "-"}
    x64_by_name = {c[1]: c for c in x64.values()}
    ia32_by_name = {c[1]: c for c in ia32.values()}
    # kernel/fork.c's CLONE_BACKWARDS declaration names it tls (ia32's compat one tls_val).
    clone_args = [a.replace(" tls_val", " tls") for a in split_row(ia32_by_name["clone"])[0]]

    # arm64: number -> kernel function from the generic header, names from -dM.
    expanded = subprocess.run(
        ["aarch64-linux-gnu-cpp", "-P", "-"],
        input="#define __SYSCALL(nr, f) VMITRACE_SYSCALL nr f\n#include <asm/unistd.h>\n",
        capture_output=True, text=True, check=True).stdout
    fns = {int(m.group(1)): m.group(2)
           for m in re.finditer(r"VMITRACE_SYSCALL (\d+) (\w+)", expanded)}
    nums = resolve_numbers(cpp_defines("aarch64-linux-gnu-cpp", "asm/unistd.h"))
    names = {}
    for n, nr in sorted(nums.items()):
        if n.startswith("__NR3264_") or n in ("__NR_syscalls", "__NR_arch_specific_syscall"):
            continue
        names.setdefault(nr, n[len("__NR_"):])
    rows, missing = {}, []
    for nr, fn in sorted(fns.items()):
        name = names.get(nr) or fn.removeprefix("sys_")
        if fn == "sys_ni_syscall":
            rows[nr] = [name, "-", "-"]
            continue
        src = x64_by_fn.get(fn) or x64_by_name.get(name)
        args, ret = split_row(src) if src else ([], [])
        if name == "clone":
            args = clone_args
        if not src:
            missing.append(name)
        rows[nr] = [name, "__arm64_" + fn, "-"] + [arm_arg(a) for a in args] + ret
    # Numbers from 424 on are shared by every architecture: newer ones from x64.
    for nr, c in x64.items():
        if nr >= 424 and nr not in rows and c[2] != "-":
            args, ret = split_row(c)
            rows[nr] = [c[1], "__arm64_" + function_of(c[2], "__x64_"), "-"] + [arm_arg(a) for a in args] + ret
    write_table(dst / "linux-arm64.tbl", "Linux arm64 system calls (asm-generic numbering), kernels 6.1 .. 6.17", rows)
    if missing:
        print("arm64: no argument list for", ", ".join(missing), file=sys.stderr)

    # arm EABI on an arm64 kernel (AArch32 compat tasks).
    nums = resolve_numbers(cpp_defines("arm-linux-gnueabihf-cpp", "asm/unistd.h"))
    rows, missing = {}, []
    for n, nr in sorted(nums.items(), key=lambda x: x[1]):
        if not n.startswith("__NR_") or nr >= 4096 or n == "__NR_syscalls":
            continue
        name = n[len("__NR_"):]
        if nr in rows:
            continue
        ret = []
        if name in AARCH32:
            fn, args = AARCH32[name]
            src = ia32_by_name.get(name)
            if args is None:
                args, ret = split_row(src) if src else ([], [])
        else:
            src = ia32_by_name.get(name)
            if not src and name.endswith("_time64"):
                src = ia32_by_name.get(name)
            if name in NOT_IMPLEMENTED:
                rows[nr] = [name, "-", "-"]
                continue
            if not src or src[2] == "-":
                # Not an x86 compat call (accept, send, recv...): the native
                # function with x86-64's declaration (the generator caps the widths).
                fn, src = "sys_" + name, x64_by_name.get(name)
                args, ret = split_row(src) if src else ([], [])
                if not src:
                    missing.append(name)
            else:
                fn = function_of(src[2], "__ia32_")
                args, ret = split_row(src)
                if "ia32_" in fn:  # an x86 wrapper: arm64 has its own or none
                    missing.append(name)
                # A native function serving compat tasks too reads what it reads for
                # 64-bit ones: x86-64's declaration, with its kinds (widths capped).
                native = x64_by_fn.get(fn)
                if fn.startswith("sys_") and native and len(split_row(native)[0]) == len(args):
                    args, ret = split_row(native)
                elif fn.startswith("compat_sys_"):
                    args = compat_kinds(args, x64_by_fn.get("sys_" + fn[len("compat_sys_"):])
                                        or x64_by_name.get(name) or x64_by_name.get(name.removesuffix("64")))
        if name == "clone":
            args = clone_args
        rows[nr] = [name, "__arm64_" + fn, "-"] + [arm_arg(a) for a in args] + ret
    for m in re.finditer(r"#define __ARM_NR_(\w+) \(__ARM_NR_BASE\+(\d+)\)",
                         subprocess.run(["arm-linux-gnueabihf-cpp", "-dM", "-P", "-"], input="#include <asm/unistd.h>\n",
                                        capture_output=True, text=True, check=True).stdout):
        if m.group(1) in ARM_PRIVATE:
            rows[0x0f0000 + int(m.group(2))] = [m.group(1), "-", "-"] + ARM_PRIVATE[m.group(1)]
    write_table(dst / "linux-arm32.tbl",
                "Linux arm EABI system calls of AArch32 tasks on arm64 kernels (compat), kernels 6.1 .. 6.17", rows)
    if missing:
        print("arm32: check by hand:", ", ".join(missing), file=sys.stderr)


if __name__ == "__main__":
    main()
