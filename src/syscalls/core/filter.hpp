// syscalls_filter_file: one syscall name per line; blank lines and `#` comments
// allowed; surrounding whitespace ignored. Used by the CLI (to warn early) and by
// the plugin (to choose hooks and drop other events).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "event/record.hpp"

namespace vmitrace::syscalls {

// The names in file order, duplicates removed. Throws vmitrace::Error("PATH: problem")
// when the file is missing, a directory or unreadable.
std::vector<std::string> read_filter_file(const std::string& path);
// Same, from text already in memory (`what` names it in errors).
std::vector<std::string> parse_filter(std::string_view text);

struct LinuxFilter {
  std::vector<std::string> names;    // known in the x64 or the ia32 table
  std::vector<std::string> unknown;  // in neither
};
// Splits names into known / unknown by the Linux syscall tables.
LinuxFilter check_linux_filter(const std::vector<std::string>& names);
// "vmitrace: warning: PATH: unknown syscall names ignored: a, b" ("" when none).
std::string unknown_names_warning(const std::string& path, const LinuxFilter& f);

// read + check; prints the warning line (once) on stderr when warn is set; throws
// Error("PATH: no known syscall names") when nothing valid remains.
LinuxFilter load_linux_filter(const std::string& path, bool warn = true);

// The names of f that are syscalls of none of `abis` (the guest's own ABIs: `open` is
// known to the tables but arm64 has no such call). When no name remains, throws
// Error("PATH: none of its syscalls exists on GUEST guests (...)"); otherwise, when warn is
// set, prints "vmitrace: warning: PATH: not syscalls of GUEST guests, ignored: a, b".
std::vector<std::string> check_filter_for_guest(const std::string& path, const LinuxFilter& f,
                                                const std::vector<event::Abi>& abis,
                                                const std::string& guest, bool warn);

}  // namespace vmitrace::syscalls
