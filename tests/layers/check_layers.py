#!/usr/bin/env python3
"""Checks the layering of src/ against its table (src/layers.txt).

Every `#include "..."` of a file under src/ must name a file under src/, in the
including file's own folder or in a folder the table allows for it; every folder
holding sources must have a line in the table, and the table must have no cycle.
Each src/**/meson.build may compile only its own folder's files (no '../').

  check_layers.py SRC_DIR             check the tree (exit 1 with one line per fault)
  check_layers.py --selftest          check that the checker catches each fault
"""
import os
import re
import sys
import tempfile

SOURCE_EXT = (".cpp", ".hpp", ".h", ".c", ".S")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_table(path):
    """{folder: set of folders it may include}; faults for malformed lines."""
    table, faults = {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            folder, sep, deps = line.partition(":")
            folder = folder.strip()
            if not sep or not folder:
                faults.append(f"{path}:{n}: expected 'FOLDER: FOLDER...'")
            elif folder in table:
                faults.append(f"{path}:{n}: {folder} listed twice")
            else:
                table[folder] = set(deps.split())
    return table, faults


def find_cycle(table):
    """One cycle of the table as a list of folders, or None."""
    state = {}  # folder -> 1 while on the path, 2 when done

    def visit(node, path):
        state[node] = 1
        for dep in sorted(table.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep] if dep in path else [node, dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(table):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def check(src, table_path):
    table, faults = read_table(table_path)
    for folder, deps in sorted(table.items()):
        for dep in sorted(deps | {folder}):
            if not os.path.isdir(os.path.join(src, dep)):
                faults.append(f"{table_path}: {folder}: no folder src/{dep}")
    cycle = find_cycle(table)
    if cycle:
        faults.append(f"{table_path}: cycle: {' -> '.join(cycle)}")

    for root, _dirs, files in os.walk(src):
        folder = os.path.relpath(root, src).replace(os.sep, "/")
        sources = sorted(f for f in files if f.endswith(SOURCE_EXT))
        if sources and folder not in table:
            faults.append(f"src/{folder}: not in {os.path.basename(table_path)}")
            continue
        for name in sources:
            path = os.path.join(root, name)
            rel = f"src/{folder}/{name}" if folder != "." else f"src/{name}"
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                line = text.count("\n", 0, m.start()) + 1
                if "/" not in inc:
                    if not os.path.isfile(os.path.join(root, inc)):
                        faults.append(f"{rel}:{line}: \"{inc}\" is not in src/{folder}")
                    continue
                if not os.path.isfile(os.path.join(src, inc)):
                    faults.append(f"{rel}:{line}: \"{inc}\" is not a file under src/")
                    continue
                target = os.path.dirname(inc)
                if target != folder and target not in table.get(folder, ()):
                    faults.append(f"{rel}:{line}: {folder} may not include {target} (\"{inc}\")")
        if "meson.build" in files:
            with open(os.path.join(root, "meson.build"), encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if re.search(r"""['"]\.\./""", line.split("#", 1)[0]):
                        faults.append(f"src/{folder}/meson.build:{n}: compiles a file outside its folder")
    return faults


def selftest():
    """Each fault the checker knows, planted in a small tree, must be reported."""
    def tree(files, table):
        d = tempfile.mkdtemp(prefix="layers-")
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, path)), exist_ok=True)
            with open(os.path.join(d, path), "w") as f:
                f.write(text)
        with open(os.path.join(d, "layers.txt"), "w") as f:
            f.write(table)
        return d

    good = {"low/a.hpp": "#pragma once\n", "high/b.cpp": '#include "low/a.hpp"\n#include "b.hpp"\n',
            "high/b.hpp": "#pragma once\n#include <vector>\n"}
    table = "low:\nhigh: low\n"
    cases = [
        ("clean tree", good, table, None),
        ("include against the table", dict(good, **{"low/c.cpp": '#include "high/b.hpp"\n'}), table,
         "low may not include high"),
        ("folder not in the table", dict(good, **{"other/d.cpp": "\n"}), table, "src/other: not in"),
        ("cycle", good, "low: high\nhigh: low\n", "cycle:"),
        ("missing file", dict(good, **{"high/e.cpp": '#include "low/none.hpp"\n'}), table,
         "is not a file under src/"),
        ("local include of another folder's file", dict(good, **{"high/f.cpp": '#include "a.hpp"\n'}),
         table, "is not in src/high"),
        ("meson.build reaching out", dict(good, **{"high/meson.build": "x = files('../low/a.cpp')\n"}),
         table, "compiles a file outside its folder"),
        ("table names a folder that does not exist", good, table + "gone: low\n", "no folder src/gone"),
    ]
    ok = True
    for name, files, tab, want in cases:
        d = tree(files, tab)
        faults = check(d, os.path.join(d, "layers.txt"))
        if want is None and faults:
            print(f"selftest {name}: unexpected faults: {faults}")
            ok = False
        elif want is not None and not any(want in f for f in faults):
            print(f"selftest {name}: no fault containing '{want}' in {faults}")
            ok = False
    print("selftest: " + ("every planted fault reported" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if argv[1:] == ["--selftest"]:
        return selftest()
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    src = argv[1]
    faults = check(src, os.path.join(src, "layers.txt"))
    for f in faults:
        print(f)
    if not faults:
        print(f"layers: every include under {src} follows layers.txt")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
