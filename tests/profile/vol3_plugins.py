#!/usr/bin/env python3
"""Runs several Volatility3 Linux plugins on one memory dump in one process.

usage: vol3_plugins.py VOLATILITY3_DIR DUMP SYMBOL_DIR OUT_DIR PLUGIN...
(PLUGIN as vol.py names it: linux.pslist.PsList.) For each plugin writes
OUT_DIR/PLUGIN.json: {"rows": [{column: value}...], "seconds": s} or {"error": text}.

Does what `vol.py -f DUMP -s SYMBOL_DIR PLUGIN` does (same automagics: layer stacking,
banner search, symbol table from SYMBOL_DIR), but the first plugin's kernel (layers and
symbol table) is handed to the next ones: one ISF load and one banner scan instead of
one per plugin (each vol.py run takes minutes on a loaded 2-core machine).
"""
import datetime
import json
import os
import sys
import time
import traceback


def value(v, absent):
    """A cell as JSON: format hints (Hex, ...) are ints, absent values None."""
    if v is None or isinstance(v, absent):
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    return str(v)


def main(argv):
    if len(argv) < 6:
        sys.exit(__doc__)
    voldir, dump, symdir, outdir = argv[1:5]
    names = argv[5:]
    sys.path.insert(0, voldir)
    import volatility3.plugins
    import volatility3.symbols
    from volatility3 import framework
    from volatility3.framework import automagic, constants, contexts, interfaces, plugins
    from volatility3.framework.automagic import stacker
    from volatility3.framework.configuration import requirements

    framework.require_interface_version(2, 0, 0)
    # Volatility3's caches (identifiers of the ISFs seen) go with the results, not to ~/.cache.
    constants.CACHE_PATH = os.path.join(os.path.abspath(outdir), "volatility3-cache")
    os.makedirs(constants.CACHE_PATH, exist_ok=True)
    volatility3.symbols.__path__ = [os.path.abspath(symdir)] + list(volatility3.symbols.__path__)
    framework.import_files(volatility3.plugins, True)
    available = framework.list_plugins()
    ctx = contexts.Context()
    ctx.config["automagic.LayerStacker.single_location"] = requirements.URIRequirement.location_from_file(dump)

    class Files(interfaces.plugins.FileHandlerInterface):
        """Plugins that dump files (none of those run here with --dump) write nothing."""

        def __init__(self, filename):
            super().__init__(filename)

        def write(self, data):
            return len(data)

        def close(self):
            pass

    def progress(*_args):
        pass

    kernel_from = None  # config path of the first plugin whose kernel was built
    for name in names:
        out = os.path.join(outdir, name + ".json")
        start = time.monotonic()
        try:
            plugin = available.get(name)
            if plugin is None:
                raise RuntimeError(f"no plugin {name} in this Volatility3")
            path = interfaces.configuration.path_join("plugins", plugin.__name__)
            if kernel_from is not None:
                ctx.config.splice(interfaces.configuration.path_join(path, "kernel"),
                                  ctx.config.branch(interfaces.configuration.path_join(kernel_from, "kernel")))
                ctx.config[interfaces.configuration.path_join(path, "kernel")] = \
                    ctx.config[interfaces.configuration.path_join(kernel_from, "kernel")]
            magics = automagic.choose_automagic(automagic.available(ctx), plugin)
            if ctx.config.get("automagic.LayerStacker.stackers", None) is None:
                ctx.config["automagic.LayerStacker.stackers"] = stacker.choose_os_stackers(plugin)
            constructed = plugins.construct_plugin(ctx, magics, plugin, "plugins", progress, Files)
            if kernel_from is None:
                kernel_from = path
            grid = constructed.run()
            columns = [c.name for c in grid.columns]
            rows = []

            def visit(node, acc):
                acc.append({c: value(v, interfaces.renderers.BaseAbsentValue) for c, v in zip(columns, node.values)})
                return acc

            grid.populate(visit, rows)
            result = {"rows": rows, "seconds": round(time.monotonic() - start, 1)}
        except Exception as e:  # any failure of a plugin is that plugin's result
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            result = {"error": last, "trace": traceback.format_exc()[-3000:],
                      "seconds": round(time.monotonic() - start, 1)}
        with open(out, "w") as f:
            json.dump(result, f)
        print(f"{name}: {'error: ' + result['error'] if 'error' in result else str(len(result['rows'])) + ' rows'}"
              f" ({result['seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
