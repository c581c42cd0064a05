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

// --rate-limit N, the same for run and attach (see syscalls/plugin/rate_limit.hpp).
inline void add_rate_limit_option(CLI::App& cmd, uint32_t& value) {
  cmd.add_option("--rate-limit,--rate_limit", value,
                 "At most N syscalls per second per guest process (burst N); the rest are "
                 "dropped with their returns and counted per process (0 = no limit)")
      ->check(CLI::Range(0u, 10000000u));
}
// --start-timeout S, the same for run and attach (app/start_watch.hpp).
inline void add_start_timeout_option(CLI::App& cmd, uint32_t& value) {
  cmd.add_option("--start-timeout,--start_timeout", value,
                 "Fail (QEMU stopped / detached, exit 1) if the guest kernel is not found within S "
                 "seconds; while waiting, what is missing is said every 10 s (0 = wait for ever)")
      ->check(CLI::Range(0u, 86400u));
}
#ifdef VMITRACE_PLUGIN_SYSCALLS
void add_run_command(CLI::App& app);
void add_attach_command(CLI::App& app);  // gdbstub backend (cmd_attach.cpp)
#endif

}  // namespace vmitrace::app
