// vmitrace: trace the system calls of a virtual machine from outside it.
#include <cstdio>
#include <exception>

#include "app/commands.hpp"
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
      "  vmitrace run -o json --output events.jsonl -- qemu-system-x86_64 -kernel vmlinuz ...\n"
      "Run 'vmitrace SUBCOMMAND --help' for the options of each subcommand.");
  vmitrace::app::add_profile_command(app);
#ifdef VMITRACE_PLUGIN_SYSCALLS
  vmitrace::app::add_run_command(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const vmitrace::Error& e) {
    std::fprintf(stderr, "vmitrace: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmitrace: internal error: %s\n", e.what());
    return 2;
  }
  return vmitrace::app::exit_status;
}
