#!/usr/bin/env python3
"""Compares a vmitrace ISF with a dwarf2json ISF of the same kernel.

usage: isf_compare.py OURS THEIRS [--symbols NAME,...] [--max N]

Reports, for the symbols named (default: those of data/linux-isf-globals.tsv that
both files type), every difference in the symbol's type and in every type reachable
from it through fields, pointers and arrays (sizes, field offsets, field types,
bitfield positions, base types' size/sign/kind, enum constants). Anonymous types have
no common name (dwarf2json hashes them, BTF numbers them): they are compared by
content. Exit status 0 = no difference, 1 = differences (listed), 2 = bad input.
"""
import json
import lzma
import gzip
import os
import sys


def load(path):
    with open(path, "rb") as f:
        head = f.read(6)
    opener = lzma.open if head.startswith(b"\xfd7zXZ") else gzip.open if head.startswith(b"\x1f\x8b") else open
    try:
        with opener(path, "rt") as f:
            return json.load(f)
    except (OSError, ValueError, EOFError) as e:
        sys.exit(f"{path}: not a readable ISF ({e})")


def table_symbols(root):
    names = []
    with open(os.path.join(root, "data", "linux-isf-globals.tsv")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line.split("\t")[0].strip())
    return names


class Compare:
    def __init__(self, ours, theirs, limit):
        self.a, self.b = ours, theirs
        self.diffs = []
        self.limit = limit
        self.seen = set()  # (our name, their name) pairs of user types already compared
        self.types_compared = 0

    def diff(self, where, what):
        self.diffs.append(f"{where}: {what}")

    @staticmethod
    def anon(name):
        return name.startswith("unnamed_")

    def ref(self, where, x, y):
        """Compares two type descriptors; recurses into named user types and enums."""
        if x.get("kind") != y.get("kind"):
            self.diff(where, f"kind {json.dumps(x)} != {json.dumps(y)}")
            return
        kind = x["kind"]
        if kind in ("pointer", "array"):
            if kind == "array" and x.get("count") != y.get("count"):
                self.diff(where, f"array count {x.get('count')} != {y.get('count')}")
            self.ref(where + "[]" if kind == "array" else where + "*", x.get("subtype", {}), y.get("subtype", {}))
        elif kind == "bitfield":
            for k in ("bit_position", "bit_length"):
                if x.get(k) != y.get(k):
                    self.diff(where, f"{k} {x.get(k)} != {y.get(k)}")
            self.ref(where + ":bits", x.get("type", {}), y.get("type", {}))
        elif kind == "base":
            self.base(where, x.get("name"), y.get("name"))
        elif kind == "enum":
            self.enum(where, x.get("name"), y.get("name"))
        elif kind in ("struct", "union", "class"):
            nx, ny = x.get("name", ""), y.get("name", "")
            if not (self.anon(nx) and self.anon(ny)) and nx != ny:
                self.diff(where, f"type name {nx!r} != {ny!r}")
            self.user(nx, ny)

    def base(self, where, nx, ny):
        if nx != ny:
            self.diff(where, f"base type {nx!r} != {ny!r}")
            return
        bx, by = self.a["base_types"].get(nx), self.b["base_types"].get(ny)
        if bx is None:
            self.diff(where, f"base type {nx!r} missing")
        elif by is not None:
            for k in ("kind", "size", "signed"):
                if bx.get(k) != by.get(k):
                    self.diff(f"base type {nx}", f"{k} {bx.get(k)} != {by.get(k)}")

    def enum(self, where, nx, ny):
        if not (self.anon(nx) and self.anon(ny)) and nx != ny:
            self.diff(where, f"enum name {nx!r} != {ny!r}")
        if (("enum", nx, ny)) in self.seen:
            return
        self.seen.add(("enum", nx, ny))
        ex, ey = self.a["enums"].get(nx), self.b["enums"].get(ny)
        if ex is None:
            self.diff(where, f"enum {nx!r} missing")
            return
        if ey is None:
            return
        for k in ("size", "base", "constants"):
            if ex.get(k) != ey.get(k):
                self.diff(f"enum {nx}", f"{k} differs: {json.dumps(ex.get(k))[:120]} != {json.dumps(ey.get(k))[:120]}")

    def user(self, nx, ny):
        if (nx, ny) in self.seen:
            return
        self.seen.add((nx, ny))
        ux, uy = self.a["user_types"].get(nx), self.b["user_types"].get(ny)
        if ux is None:
            self.diff(f"type {nx}", "missing")
            return
        if uy is None:
            return  # a dangling name in theirs: nothing to compare with
        self.types_compared += 1
        where = f"type {nx}" if nx == ny else f"type {nx} (theirs {ny})"
        if ux.get("size") != uy.get("size"):
            # A forward declaration (size 0, no fields) in one: nothing more to compare.
            if ux.get("size") and uy.get("size"):
                self.diff(where, f"size {ux.get('size')} != {uy.get('size')}")
            return
        fx, fy = ux.get("fields", {}), uy.get("fields", {})
        # Anonymous members are matched by offset (their names are positional in both).
        def keyed(fields):
            out = {}
            for name, f in fields.items():
                out[("@anon", f.get("offset")) if f.get("anonymous") else name] = (name, f)
            return out
        kx, ky = keyed(fx), keyed(fy)
        for k in sorted(set(kx) | set(ky), key=str):
            if k not in kx:
                self.diff(where, f"field {ky[k][0]} missing")
                continue
            if k not in ky:
                self.diff(where, f"extra field {kx[k][0]}")
                continue
            (name, a), (_, b) = kx[k], ky[k]
            if a.get("offset") != b.get("offset"):
                self.diff(where, f"field {name} offset {a.get('offset')} != {b.get('offset')}")
            if bool(a.get("anonymous")) != bool(b.get("anonymous")):
                self.diff(where, f"field {name} anonymous flag differs")
            self.ref(f"{nx}.{name}", a.get("type", {}), b.get("type", {}))

    def symbol(self, name):
        sx, sy = self.a["symbols"].get(name), self.b["symbols"].get(name)
        if sx is None or sy is None:
            self.diff(f"symbol {name}", "missing in ours" if sx is None else "missing in theirs")
            return
        if sx.get("address") != sy.get("address"):
            self.diff(f"symbol {name}", f"address {sx.get('address')} != {sy.get('address')}")
        tx, ty = sx.get("type"), sy.get("type")
        if ty is None:
            return
        if tx is None:
            self.diff(f"symbol {name}", f"untyped (theirs: {json.dumps(ty)})")
            return
        # Unsized arrays (extern T x[]) are typed by size in BTF and as [0] by DWARF.
        if tx.get("kind") == "array" and ty.get("kind") == "array" and ty.get("count") == 0:
            tx = dict(tx, count=0)
        self.ref(f"symbol {name}", tx, ty)


def main(argv):
    args = argv[1:]
    limit = 200
    names = None
    while args and args[-2:-1] and args[-2] in ("--symbols", "--max"):
        opt, val = args[-2], args[-1]
        args = args[:-2]
        if opt == "--symbols":
            names = [n for n in val.split(",") if n]
        else:
            limit = int(val)
    if len(args) != 2:
        sys.exit(__doc__)
    ours, theirs = load(args[0]), load(args[1])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if names is None:
        names = [n for n in table_symbols(root)
                 if n in ours["symbols"] and n in theirs["symbols"] and "type" in theirs["symbols"][n]]
    c = Compare(ours, theirs, limit)
    for n in names:
        c.symbol(n)
    print(f"compared {len(names)} symbols, {c.types_compared} types reachable from them: "
          f"{len(c.diffs)} differences")
    for d in c.diffs[:limit]:
        print("  " + d)
    if len(c.diffs) > limit:
        print(f"  ... {len(c.diffs) - limit} more")
    return 1 if c.diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
