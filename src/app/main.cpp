// vmitrace: trace the system calls of a virtual machine from outside it.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>
#include <exception>

#include "app/commands.hpp"
#include "app/config_file.hpp"
#include "common/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "vmitrace: trace the system calls of a virtual machine from outside it "
      "(no agent in the guest).",
      "vmitrace"};
  app.set_version_flag("--version", "vmitrace 0.1.0");
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  vmitrace profile /boot/vmlinuz-6.1.0-56-cloud-amd64 --output kernel.json\n"
#ifdef VMITRACE_PLUGIN_SYSCALLS
      "  vmitrace run -o json --output events.jsonl -- qemu-system-x86_64 -kernel vmlinuz ...\n"
#endif
      "Run 'vmitrace SUBCOMMAND --help' for the options of each subcommand.");
  vmitrace::app::add_profile_command(app);
#ifdef VMITRACE_PLUGIN_SYSCALLS
  vmitrace::app::add_run_command(app);
  vmitrace::app::add_attach_command(app);
#endif
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    vmitrace::app::expand_config_files(app, args);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, as for every other user error.
    std::fprintf(stderr, "vmitrace: %s (see vmitrace --help)\n", e.what());
    return e.get_exit_code() ? e.get_exit_code() : 1;
  } catch (const vmitrace::Error& e) {
    std::fprintf(stderr, "vmitrace: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmitrace: internal error: %s\n", e.what());
    return 2;
  }
  return vmitrace::app::exit_status;
}
