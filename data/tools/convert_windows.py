#!/usr/bin/env python3
"""One-off converter: public Windows headers -> the project's own Windows tables.

Run by hand when the reference facts change; the build never runs it (the build
reads only data/windows/*.tbl). Usage:
  data/tools/convert_windows.py ntstatus OUTDIR NTSTATUS_H...
      -> OUTDIR/ntstatus.tbl (every STATUS_*/DBG_*/RPC_NT_* code, one name per
         value) and OUTDIR/ntstatus_facility.tbl (FACILITY_* of NTSTATUS codes)
  data/tools/convert_windows.py defines OUT.tbl enum|flags HEADERS -- NAME...
      -> a constant set (data/const format) of the #defines named (NAME, or
         PREFIX* for every define starting with PREFIX), in the order given
  data/tools/convert_windows.py enum OUT.tbl HEADER TYPE
      -> the constants of `typedef enum _TYPE {...}` as an enum set
  data/tools/convert_windows.py win32k OUT.tbl WIN32K_NAMES.json HEADER...
      -> the win32k services whose prototype the headers give (NtUser*, NtGdi*,
         and NtGdiDdDDI* from the D3DKMT* thunks), limited to the names the
         per-build syscall list knows; the first header that declares a routine
         wins, and routines of win32k-reactos.tbl are left to that table.
  data/tools/convert_windows.py win32k-sal OUT.tbl WIN32K_NAMES.json HEADER...
      -> the same for SAL-annotated headers (_In_/_Out_/_Inout_[_opt_] give the
         direction), limited to the routines no other table (nt, win32k,
         win32k-reactos) has: data/windows/win32k-sal.tbl.

Sources used for the checked-in files: the ntstatus.h of mingw-w64 10 and of
Wine 8 (Debian packages mingw-w64-common, libwine-dev; union, mingw first), and
Wine 8's ntuser.h, ntgdi.h and ddk/d3dkmthk.h for win32k, then mingw-w64 10's
ntgdi.h (the NtGdi services Wine lacks: DirectDraw, Eng*, fonts, OPM...), then a
scratch header restating (name, types, argument names) the NtUser services and
D3DKMT thunks that Wine 10's include/ntuser.h and include/ddk/d3dkmthk.h declare and
Wine 8 lacks (Wine 10 is no bookworm package). Names and types only;
those headers carry no in/out annotations, so a pointer to const is "i" and any
other pointer "io". The flag and enum sets of data/windows/const come from Wine 8's
winnt.h and winternl.h (the commands are in data/README.md). nt.tbl was written from the SAL-annotated prototypes of phnt's
ntzwapi.h and is not produced here. win32k-sal.tbl: the win32k-sal command over two
scratch headers (the SDK/WDK D3DKMT* declarations as the windows-sys crate's
Wdk::Graphics::Direct3D bindings and the WDK reference pages give them; phnt's
ntuser.h prototypes of the services the other tables lack), then mingw-w64 10's
ntgdi.h and one declaration restated from Wine's dlls/win32u/pointer.c: see
data/README.md.
"""
import json
import re
import sys
from pathlib import Path

# win32k arguments the kernel only reads although Wine's prototype is not const
# (ReactOS's win32k headers and the services' semantics say so): strings and object
# attributes that the capture side may decode.
WIN32K_IN = {("NtUserSetWindowsHookEx", "module"), ("NtUserSetWinEventHook", "module"),
             ("NtUserFindWindowEx", "class"), ("NtUserFindWindowEx", "title"),
             ("NtUserUnregisterClass", "name"), ("NtUserOpenDesktop", "attr"),
             ("NtUserOpenWindowStation", "attr"), ("NtUserCreateWindowStation", "attr"),
             ("NtUserCreateDesktopEx", "attr")}
# HANDLE arguments of win32k services that are no kernel object handle (GDI/USER
# values, memory handles, raw input devices): shown as plain values.
WIN32K_VALUE = {("NtGdiAlphaBlend", "xform"), ("NtGdiCreateDIBitmapInternal", "xform"),
                ("NtGdiSetDIBitsToDeviceInternal", "xform"),
                ("NtGdiStretchDIBitsInternal", "xform"), ("NtGdiOpenDCW", "hspool"),
                ("NtGdiRemoveFontMemResourceEx", "handle"),
                ("NtUserGetRawInputDeviceInfo", "handle"), ("NtUserSetClipboardData", "handle"),
                ("NtUserSetProp", "handle"), ("NtUserGetSendMessageReceiver", "ThreadId")}
# GDI services take GDI/DirectDraw handles (surfaces, video ports, color transforms):
# plain values, unless the name says it is a kernel object.
KERNEL_OBJECT_ARG = re.compile(r"section|process|event|thread", re.I)
# mingw-w64's spellings of the Windows types.
TYPE_ALIASES = {"WINBOOL": "BOOL", "unsigned": "UINT", "unsigned_int": "UINT"}
TYPEDEF_OF = {"UNICODE_STRING*": "PUNICODE_STRING", "OBJECT_ATTRIBUTES*": "POBJECT_ATTRIBUTES",
              "PCOBJECT_ATTRIBUTES": "POBJECT_ATTRIBUTES"}

# Preferred name when several share a value (else the first one seen wins).
PREFERRED = {0x0: "STATUS_SUCCESS", 0x80: "STATUS_ABANDONED_WAIT_0",
             0xC0: "STATUS_USER_APC"}


def strip_c(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"^\s*#[^\n]*(?:\\\n[^\n]*)*", "", text, flags=re.M)


def ntstatus(outdir, headers):
    names, facilities = {}, {}
    for h in headers:
        for m in re.finditer(r"#define\s+((?:STATUS|DBG|RPC_NT)_\w+)\s+\(\(NTSTATUS\)\s*(0x[0-9A-Fa-f]+)L?\)",
                             Path(h).read_text(errors="replace")):
            name, v = m.group(1), int(m.group(2), 16)
            if name.startswith("STATUS_SEVERITY_"):
                continue
            names.setdefault(v, []).append(name)
        for m in re.finditer(r"#define\s+FACILITY_(\w+)\s+(0x[0-9A-Fa-f]+|\d+)\b",
                             Path(h).read_text(errors="replace")):
            facilities.setdefault(int(m.group(2), 0), m.group(1))
    out = ["# NTSTATUS names (sysret Info): value<TAB>NAME, one name per value.",
           "# Generated by data/tools/convert_windows.py from public ntstatus.h headers.",
           "#!kind: enum"]
    for v in sorted(names):
        pick = PREFERRED.get(v)
        if pick not in names[v]:
            pick = names[v][0]
        out.append(f"{v:#010x}\t{pick}")
    Path(outdir, "ntstatus.tbl").write_text("\n".join(out) + "\n")
    fac = ["# Facility field (bits 16..27) of an NTSTATUS code, for unnamed codes:",
           "# rendered SEVERITY:C:FACILITY:0xCODE. From public ntstatus.h headers.",
           "#!kind: enum", "0x0\tNONE"]
    fac += [f"{v:#x}\t{n}" for v, n in sorted(facilities.items()) if v != 0]
    Path(outdir, "ntstatus_facility.tbl").write_text("\n".join(fac) + "\n")
    print(f"{len(names)} status codes, {len(facilities)} facilities")


def read_defines(headers):
    vals = {}
    for h in headers:
        for m in re.finditer(r"^\s*#\s*define\s+(\w+)\s+([^\n]*?)\s*(?:/\*.*)?$",
                             Path(h).read_text(errors="replace"), flags=re.M):
            name, expr = m.group(1), m.group(2)
            if name in vals:
                continue
            expr = re.sub(r"\((?:DWORD|ULONG|LONG|NTSTATUS)\)", "", expr)
            expr = re.sub(r"\b(0x[0-9A-Fa-f]+|\d+)[uUlL]+\b", r"\1", expr)
            expr = re.sub(r"\b[A-Za-z_]\w*\b", lambda w: str(vals.get(w.group(0), "X")), expr)
            if re.fullmatch(r"[0-9a-fA-Fx\s|&~()<>+]*", expr) and expr.strip():
                try:
                    vals[name] = eval(expr, {"__builtins__": {}}) & 0xFFFFFFFF
                except SyntaxError:
                    pass
    return vals


def defines(out_path, kind, headers, names):
    vals = read_defines(headers)
    rows, seen = [], set()
    for pat in names:
        hits = [n for n in vals if n.startswith(pat[:-1])] if pat.endswith("*") else [pat]
        for n in hits:
            if n not in vals:
                sys.exit(f"{pat}: no #define {n} in the headers")
            if n in seen or (kind == "enum" and vals[n] in {v for _, v in rows}):
                continue
            seen.add(n)
            rows.append((n, vals[n]))
    out = [f"# Generated by data/tools/convert_windows.py from public Windows headers.",
           f"#!kind: {kind}"]
    out += [f"{v:#x}\t{n}" for n, v in rows]
    Path(out_path).write_text("\n".join(out) + "\n")


def enum(out_path, header, tname):
    text = strip_c(Path(header).read_text(errors="replace"))
    m = re.search(r"typedef\s+enum\s+_" + tname + r"\s*\{(.*?)\}", text, flags=re.S)
    if not m:
        sys.exit(f"{header}: no enum _{tname}")
    v, rows, used = -1, [], set()
    for item in m.group(1).split(","):
        item = item.strip()
        if not item:
            continue
        nm = re.fullmatch(r"(\w+)\s*(?:=\s*(\w+))?", item)
        if not nm:
            sys.exit(f"{header}: cannot read enumerator '{item}'")
        v = int(nm.group(2), 0) if nm.group(2) else v + 1
        if v not in used and not re.search(r"Max|MAX|Last", nm.group(1)):
            used.add(v)
            rows.append((v, nm.group(1)))
    out = [f"# {tname}: generated by data/tools/convert_windows.py from a public header.",
           "#!kind: enum"] + [f"{v:#x}\t{n}" for v, n in sorted(rows)]
    Path(out_path).write_text("\n".join(out) + "\n")


def split_params(s):
    depth, cur, out = 0, "", []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return [p.strip() for p in out]


# SAL annotation leading a parameter (_In_, _Out_opt_, _In_reads_bytes_(n)...): the
# direction and optionality the header states.
SAL = re.compile(r"^(_(?:In|Out|Inout)\w*?_)(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?\s+")


def sal_dir(ann):
    d = "io" if ann.startswith("_Inout") else "o" if ann.startswith("_Out") else "i"
    return d + ("?" if "_opt_" in ann else "")


def param(p, idx):
    p = " ".join(p.split())
    if p in ("void", "VOID", ""):
        return None
    sal = SAL.match(p)
    if sal:
        p = p[sal.end():]
    arr = p.endswith("]")
    p = re.sub(r"\s*\[[^\]]*\]$", "", p)
    m = re.fullmatch(r"(.*?[\s*])(\w+)", p)
    if not m or not m.group(1).strip():
        ctype, name = p, f"Arg{idx}"
    else:
        ctype, name = m.group(1).strip(), m.group(2)
    is_const = bool(re.search(r"\bconst\b", ctype))
    ctype = re.sub(r"\bconst\b|\bstruct\b|\bvolatile\b", "", ctype)
    ctype = re.sub(r"\s*\*", "*", " ".join(ctype.split())).strip() + ("*" if arr else "")
    ctype = ctype.replace(" ", "_") if ctype.count(" ") else ctype
    ctype = TYPE_ALIASES.get(ctype, re.sub(r"\bWINBOOL\b", "BOOL", ctype))
    if sal:
        ctype = TYPEDEF_OF.get(ctype, ctype)
        d = sal_dir(sal.group(1))
    elif "*" in ctype or re.fullmatch(r"L?P[A-Z_0-9]+", ctype):
        d = "i" if is_const else "io"
    else:
        d = "i"
    return f"{d} {ctype} {name}"


def table_names(*files):
    """Routine names of existing tables (data/windows/NAME)."""
    d = Path(__file__).parent.parent / "windows"
    return {ln.split("\t")[0] for f in files for ln in (d / f).read_text().splitlines()
            if ln and not ln.startswith("#")}


def parse_protos(headers, known, skip):
    """{routine: (ret, args)} of the win32k services the headers declare; the first
    header that declares a routine wins, names in skip are left out."""
    protos = {}
    # The return type may be glued to the calling convention: "CLIPOBJ *WINAPI".
    pat = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*(?:\s*\*+\s*|\s+))(?:WINAPI|APIENTRY|NTAPI)\s+"
                     r"((?:NtUser|NtGdi|NtDComposition|NtBind|NtCreateComposition|NtOpenComposition|D3DKMT)\w*)"
                     r"\s*\(([^;{}]*?)\)\s*;")
    for h in headers:
        text = strip_c(Path(h).read_text(errors="replace"))
        for m in pat.finditer(text):
            ret, fn, params = m.group(1).replace(" ", ""), m.group(2), m.group(3)
            ret = TYPE_ALIASES.get(ret, ret)
            if fn.startswith("D3DKMT"):
                fn = "NtGdiDdDDI" + fn[len("D3DKMT"):]
            if fn not in known or fn in protos or fn in skip:
                continue
            args = [param(p, i) for i, p in enumerate(split_params(params))]
            args = [a for a in args if a]
            for i, a in enumerate(args):
                d, t, n = a.split(" ")
                if (fn, n) in WIN32K_IN:
                    args[i] = f"i {TYPEDEF_OF.get(t, t)} {n}"
                if (fn, n) in WIN32K_VALUE or (fn.startswith("NtGdi") and t == "HANDLE"
                                               and not KERNEL_OBJECT_ARG.search(n)):
                    args[i] = f"{a} {{value}}"
            protos[fn] = (ret, args)
    return protos


def write_protos(out_path, header, protos):
    out = header + ["\t".join([fn, protos[fn][0]] + protos[fn][1]) for fn in sorted(protos)]
    Path(out_path).write_text("\n".join(out) + "\n")


def win32k(out_path, names_json, headers):
    known = set(json.loads(Path(names_json).read_text()))
    # Names hand-written from ReactOS (win32k-reactos.tbl) keep that entry.
    protos = parse_protos(headers, known, table_names("win32k-reactos.tbl"))
    write_protos(out_path, [
        "# win32k services (shadow SSDT): same layout as nt.tbl (see data/README.md).",
        "# Generated by data/tools/convert_windows.py from Wine 8's ntuser.h, ntgdi.h and",
        "# ddk/d3dkmthk.h, then mingw-w64 10's ntgdi.h, then the NtUser and D3DKMT declarations",
        "# Wine 10 adds: names and types only, so pointers to const are 'i' and the other",
        "# pointers 'io' (except WIN32K_IN of the converter). USER/GDI/DirectDraw handles",
        "# (HWND, HDC, surfaces...) are plain values."], protos)
    print(f"{len(protos)} win32k prototypes of {len(known)} known names")


def win32k_sal(out_path, names_json, headers):
    known = set(json.loads(Path(names_json).read_text()))
    protos = parse_protos(headers, known,
                          table_names("nt.tbl", "win32k.tbl", "win32k-reactos.tbl"))
    write_protos(out_path, [
        "# win32k services the other win32k tables lack, with the in/out direction the",
        "# sources' SAL annotations give (same layout as nt.tbl; see data/README.md).",
        "# Generated by data/tools/convert_windows.py win32k-sal from scratch headers",
        "# restating: the D3DKMT* thunks of the Windows SDK/WDK d3dkmthk.h (-> NtGdiDdDDI*;",
        "# const argument -> 'i', other pointer -> 'io'; as the win32metadata bindings of",
        "# the windows-sys crate and the WDK reference pages state them) and the NtUser services",
        "# of System Informer's phnt/include/ntuser.h; then mingw-w64 10's ntgdi.h (the",
        "# NtGdi services whose pointer return type the win32k command once missed) and",
        "# the NtUserGetPointerType that Wine's win32u implements: no annotations there,",
        "# so a pointer to const is 'i', any other pointer 'io'."], protos)
    print(f"{len(protos)} more win32k prototypes of {len(known)} known names")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if sys.argv[1] == "ntstatus":
        ntstatus(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "defines":
        sep = sys.argv.index("--")
        defines(sys.argv[2], sys.argv[3], sys.argv[4:sep], sys.argv[sep + 1:])
    elif sys.argv[1] == "enum":
        enum(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "win32k":
        win32k(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1] == "win32k-sal":
        win32k_sal(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
