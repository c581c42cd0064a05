// Options from a config file, with the same names as on the command line:
//   # comment
//   syscalls_filter_file = /path/to/filter.txt
//   disable_sysret = true
// `--config FILE` in a subcommand's arguments is replaced by the options the file
// holds (before the others, so the command line wins). Unknown keys, bad lines and
// unreadable files are errors naming the file and line.
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace vmitrace::app {

// Rewrites args (argv without argv[0]) in place; throws vmitrace::Error.
void expand_config_files(CLI::App& app, std::vector<std::string>& args);

}  // namespace vmitrace::app
