// Each subcommand of the vmitrace CLI lives in its own cmd_*.cpp and registers
// itself here. Errors a user can cause are thrown as vmitrace::Error; main()
// prints them as one line and exits non-zero.
#pragma once
#include <CLI/CLI.hpp>

namespace vmitrace::app {

// A subcommand's callback (run during parse) sets the process exit status here,
// e.g. `vmitrace run` exits with QEMU's status.
inline int exit_status = 0;

void add_profile_command(CLI::App& app);

#ifdef VMITRACE_PLUGIN_SYSCALLS
void add_run_command(CLI::App& app);
void add_attach_command(CLI::App& app);  // gdbstub backend (cmd_attach.cpp)
#endif

}  // namespace vmitrace::app
