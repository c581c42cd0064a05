// Options from a config file, with the same names as on the command line:
//   # comment
//   syscalls_filter_file = /path/to/filter.txt   # a trailing comment after a space
//   output = "/path/with #hash.jsonl"            # quoted: a '#' inside stays
//   disable_sysret = true
// `--config FILE` in a subcommand's arguments is replaced by the options the file
// holds; the subcommand keeps `--config=FILE` when it declares --config (so that it
// knows the file). An option also given on the command line: the command line wins.
// Unknown keys, a key given twice (in one file or across files), bad lines, bad
// values (type, range, choice) and unreadable files are errors naming the file and
// line; echoed values are cut (common/error.hpp: excerpt).
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace vmitrace::app {

// Rewrites args (argv without argv[0]) in place; throws vmitrace::Error.
void expand_config_files(CLI::App& app, std::vector<std::string>& args);

}  // namespace vmitrace::app
