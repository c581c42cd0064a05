// `vmitrace profile IMAGE --output FILE.json [--system-map FILE] [--debug-file VMLINUX]`:
// builds a Volatility3 ISF profile of a Linux kernel from its vmlinuz/vmlinux (types
// from .BTF, or from the DWARF of the -dbg package's vmlinux for kernels without BTF).
// `vmitrace profile --info FILE.json`: summary of an existing ISF (any producer).
#include <fmt/core.h>

#include <chrono>
#include <memory>
#include <string>

#include "app/commands.hpp"
#ifdef VMITRACE_PLUGIN_SYSCALLS
#include "app/profile_from_vm.hpp"
#endif
#include "common/error.hpp"
#include "common/write_file.hpp"
#include "profile/kernel_image.hpp"
#include "profile/profile.hpp"

namespace vmitrace::app {

namespace {

struct ProfileOptions {
  std::string image, output, system_map, debug_file, info;
#ifdef VMITRACE_PLUGIN_SYSCALLS
  FromVmOptions vm;  // --from-vm: endpoint set
#endif
};

void print_info(const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  profile::Profile p = profile::Profile::load(path);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& m = p.metadata;
  fmt::print("file:       {}\n", path);
  fmt::print("format:     {} (producer {} {})\n", m.format, m.producer_name.empty() ? "?" : m.producer_name,
             m.producer_version);
  fmt::print("os:         {}\n", m.os.empty() ? "unknown" : m.os);
  if (m.os == "linux") fmt::print("arch:       {}\n", m.architecture.empty() ? "unknown" : m.architecture);
  if (!m.banner.empty()) {
    std::string b = m.banner;
    while (!b.empty() && (b.back() == '\n' || b.back() == '\0')) b.pop_back();
    fmt::print("banner:     {}\n", b);
  }
  if (!m.pdb_guid.empty()) fmt::print("pdb:        {} GUID {} age {}\n", m.pdb_name, m.pdb_guid, m.pdb_age);
  fmt::print("pointer:    {} bytes\n", m.pointer_size);
  fmt::print("symbols:    {}\n", p.symbols.size());
  fmt::print("user types: {}\n", p.user_types.size());
  fmt::print("base types: {}\n", p.base_types.size());
  fmt::print("enums:      {}\n", p.enums.size());
  fmt::print("load time:  {:.3f} s\n", secs);
}

void build(const ProfileOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  refuse_input_as_output(o.output, {{"the kernel image", o.image}, {"the --system-map file", o.system_map}, {"the --debug-file", o.debug_file}});
  profile::BuildOptions bo;
  bo.system_map = o.system_map;
  bo.debug_file = o.debug_file;
  profile::Profile p = profile::build_linux_profile(o.image, bo);
  write_file(o.output, profile::to_isf_json(p));  // never through a link it did not create
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(stderr, "vmitrace: {}: {} symbols ({}), {} types ({}), {} enums from {} in {:.2f} s\n", o.output,
             p.symbols.size(), !o.system_map.empty() ? "System.map" : !o.debug_file.empty() ? "debug .symtab" : "kallsyms", p.user_types.size(),
             p.metadata.types_kind == "dwarf" ? "DWARF via pahole" : "BTF", p.enums.size(), o.image, secs);
}

}  // namespace

void add_profile_command(CLI::App& app) {
  auto opt = std::make_shared<ProfileOptions>();
  CLI::App* cmd = app.add_subcommand(
      "profile",
      "Build a Volatility3 ISF profile (JSON) of a Linux kernel from its vmlinuz or vmlinux: "
      "types from the .BTF section (or, for kernels without BTF, from the DWARF of the matching "
      "-dbg package's vmlinux, converted by pahole), symbols from the kallsyms tables in the image.");
  cmd->add_option("IMAGE", opt->image, "Kernel image: bzImage/vmlinuz (xz, gzip, zstd, lz4, lzma) or vmlinux ELF");
  auto* out = cmd->add_option("-o,--output", opt->output, "ISF JSON file to write");
  cmd->add_option("--system-map", opt->system_map, "System.map whose symbols replace the kallsyms ones");
  cmd->add_option("--debug-file", opt->debug_file,
                  "vmlinux with DWARF of the same kernel (linux-image-*-dbg: usr/lib/debug/boot/vmlinux-*): "
                  "types from its DWARF, for images without .BTF (needs pahole, Debian's dwarves)");
  auto* info = cmd->add_option("--info", opt->info, "Print a summary of an existing ISF file (plain, .xz, .gz) and exit");
  info->excludes(out);
#ifdef VMITRACE_PLUGIN_SYSCALLS
  cmd->add_option("--from-vm", opt->vm.endpoint,
                  "Build it from the memory of a running guest instead of an image: QEMU's gdbstub, "
                  "unix:PATH or tcp:HOST:PORT (the guest runs on afterwards)");
  cmd->add_option("--guest-ram", opt->vm.guest_ram,
                  "With --from-vm: QEMU's RAM file (memory-backend-file, share=on), faster than the stub");
#endif
  cmd->footer(
      "Examples:\n"
      "  vmitrace profile /boot/vmlinuz-6.1.0-56-cloud-amd64 --output kernel.json\n"
      "  vmitrace profile vmlinuz --system-map System.map -o kernel.json\n"
      "  vmitrace profile vmlinuz-6.1.0-50-686-pae --debug-file vmlinux-6.1.0-50-686-pae -o k.json\n"
      "  vmitrace profile --from-vm unix:/tmp/gdb.sock -o k.json\n"
      "  vmitrace profile --info linux_deb_5.10.0-8-amd64.json.xz");
  cmd->callback([opt] {
    if (!opt->info.empty()) {
      if (!opt->image.empty()) throw Error("profile", "--info takes the ISF file; give no IMAGE with it");
      print_info(opt->info);
      return;
    }
    // One-line errors, like every other bad option (CLI11's own add a second line).
#ifdef VMITRACE_PLUGIN_SYSCALLS
    if (!opt->vm.endpoint.empty()) {
      if (!opt->image.empty() || !opt->system_map.empty() || !opt->debug_file.empty())
        throw Error("profile", "--from-vm reads the kernel from the guest; give no IMAGE, --system-map or --debug-file");
      if (opt->output.empty()) throw Error("profile", "--output FILE.json is required; see --help");
      write_file(opt->output, profile::to_isf_json(profile_from_vm(opt->vm)));  // never through a link it did not create
      return;
    }
    if (!opt->vm.guest_ram.empty()) throw Error("profile", "--guest-ram goes with --from-vm");
#endif
    if (opt->image.empty()) throw Error("profile", "IMAGE is required (or --info FILE.json); see --help");
    if (opt->output.empty()) throw Error("profile", "--output FILE.json is required; see --help");
    build(*opt);
  });
}

}  // namespace vmitrace::app
