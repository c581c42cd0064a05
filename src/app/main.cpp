// vmitrace: trace the system calls of a virtual machine from outside it.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>
#include <exception>

#include "app/commands.hpp"
#include "app/config_file.hpp"
#include "common/error.hpp"
#include "output/escape.hpp"

namespace {

// Error messages name files and echo option values: a file name may hold a newline,
// control bytes or bytes that are not UTF-8. Print it as one readable line: control
// bytes as \n, \t, \xNN; bytes that are not valid UTF-8 as \xNN. A message that
// echoes a huge value (CLI11 repeats a bad argument whole) is cut.
std::string one_line(const std::string& message) {
  constexpr size_t kMaxMessage = 1024;  // room for two long paths
  const std::string s = vmitrace::excerpt(message, kMaxMessage);
  std::string out;
  vmitrace::output::append_escaped_with(out, s, [](std::string& o, unsigned char c) {
    static const char* hex = "0123456789abcdef";
    if (c == '"' || c == '\\') o += static_cast<char>(c);  // printable: as it is
    else if (c == '\n') o += "\\n";
    else if (c == '\t') o += "\\t";
    else if (c == '\r') o += "\\r";
    else o += std::string("\\x") + hex[c >> 4] + hex[c & 15];
  });
  return out;
}

}  // namespace

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
    // CLI11 would only say "a subcommand is required": name the word it did not know.
    if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
        known = known || sub->check_name(args[0]);
      if (!known) throw vmitrace::Error(args[0], "unknown subcommand (see vmitrace --help)");
    }
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
    std::fprintf(stderr, "vmitrace: %s (see vmitrace --help)\n", one_line(e.what()).c_str());
    return e.get_exit_code() ? e.get_exit_code() : 1;
  } catch (const vmitrace::Error& e) {
    std::fprintf(stderr, "vmitrace: %s\n", one_line(e.what()).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmitrace: internal error: %s\n", one_line(e.what()).c_str());
    return 2;
  }
  return vmitrace::app::exit_status;
}
