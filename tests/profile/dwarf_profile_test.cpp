// Profiles of kernels without BTF (issue 8): types from DWARF through pahole,
// symbols from the debug vmlinux's .symtab. The lab's i386 686-pae kernel and its
// -dbg vmlinux (guest/fetch-kernel-686.sh) for the real thing; small gcc -g objects
// for the error paths (corrupt / truncated DWARF), so those run everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <regex>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/btf_reader.hpp"
#include "profile/bzimage.hpp"
#include "profile/dwarf_btf.hpp"
#include "profile/elf.hpp"
#include "profile/kernel_image.hpp"
#include "profile/profile.hpp"
#include "global_types_check.hpp"
#include "test_paths.hpp"

using namespace vmitrace;
using namespace vmitrace::profile;
using Bytes = std::vector<uint8_t>;

using test::error_of;

namespace {

bool have(const std::string& tool) {
  int status = 0;
  test::run("command -v " + tool + " >/dev/null 2>&1", &status);
  return status == 0;
}

std::string k686(const std::string& file) { return test::repo_root() + "/.cache/guest/kernel-686/" + file; }

// The 686 profile, built once for the whole program (pahole takes seconds).
const Profile& profile_686() {
  static Profile p = [] {
    BuildOptions bo;
    bo.debug_file = k686("vmlinux-dbg");
    return build_linux_profile(k686("vmlinuz"), bo);
  }();
  return p;
}

class Kernel686 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::exists(k686("vmlinux-dbg")) || !test::exists(k686("vmlinuz")))
      GTEST_SKIP() << "32-bit lab kernel absent (run guest/fetch-kernel-686.sh)";
    if (!have("pahole")) GTEST_SKIP() << "pahole (dwarves) not installed";
  }
};

// A tiny 32-bit object with DWARF (gcc -g -m32), or "" when gcc cannot make one.
std::string small_dwarf_object(const test::TempDir& d) {
  std::string src = d.file("t.c",
                           "struct pt_regs { long bx, cx, dx; };\n"
                           "struct task_struct { int pid; int tgid; char comm[16]; struct pt_regs *regs; };\n"
                           "struct task_struct current_task;\n");
  int status = 0;
  test::run("gcc -g -m32 -c '" + src + "' -o '" + d.path() + "/t.o' 2>&1", &status);
  return status == 0 ? d.path() + "/t.o" : "";
}

}  // namespace

TEST_F(Kernel686, TypesFromDwarfAndSymbolsFromTheDebugSymtab) {
  const Profile& p = profile_686();
  EXPECT_EQ(p.metadata.pointer_size, 4u);
  EXPECT_EQ(p.base_types.at("pointer").size, 4u);
  EXPECT_EQ(p.metadata.types_kind, "dwarf");
  EXPECT_EQ(p.metadata.types_name, "vmlinux-dbg");
  EXPECT_EQ(p.metadata.symbols_kind, "symtab");
  EXPECT_EQ(p.metadata.symbols_name, "vmlinux-dbg");
  EXPECT_EQ(p.metadata.banner.rfind("Linux version 6.1.0-", 0), 0u) << p.metadata.banner;
  // i386 pt_regs: the user ABI layout (bx cx dx si di bp ax ... orig_ax ip cs flags sp ss).
  EXPECT_EQ(p.field_offset("pt_regs", "bx"), 0u);
  EXPECT_EQ(p.field_offset("pt_regs", "ax"), 24u);
  EXPECT_EQ(p.field_offset("pt_regs", "orig_ax"), 44u);
  EXPECT_EQ(p.field_offset("pt_regs", "sp"), 60u);
  // Data symbols that the image's kallsyms lacks (no CONFIG_KALLSYMS_ALL).
  for (const char* s : {"current_task", "linux_banner", "ia32_sys_call", "syscall_exit_to_user_mode", "_text"})
    EXPECT_TRUE(p.symbol(s)) << s;
  EXPECT_EQ(p.symbol("_text"), 0xc1000000u);
  // i386 per-CPU symbols are kernel addresses, not zero-based offsets.
  EXPECT_GE(*p.symbol("current_task"), 0xc0000000u);
  ASSERT_TRUE(p.symbols.at("linux_banner").constant_data);
}

TEST_F(Kernel686, TaskStructOffsetsEqualPaholeOnTheDwarf) {
  const Profile& p = profile_686();
  int status = 0;
  std::string out = test::run("pahole -F dwarf -C task_struct '" + k686("vmlinux-dbg") + "' 2>&1", &status);
  ASSERT_EQ(status, 0) << out.substr(0, 500);
  for (const char* f : {"pid", "tgid", "real_parent", "group_leader", "cred", "comm", "mm"}) {
    std::smatch m;
    std::regex re(std::string(R"(\t[^\t].*[ *])") + f + R"((\[[^\]]*\])*;\s*/\*\s*(\d+)\s)");
    ASSERT_TRUE(std::regex_search(out, m, re)) << f;
    EXPECT_EQ(p.field_offset("task_struct", f), std::stoull(m[2])) << f;
  }
}

// Issue 17: the DWARF profile types the globals Volatility3 reads too (pahole 1.24
// encodes VARs for per-CPU variables only), 32-bit sizes.
TEST_F(Kernel686, GlobalsVolatility3ReadsAreTyped) {
  const Profile& p = profile_686();
  test::expect_globals_typed(p, {"init_task", "modules", "prb", "log_buf", "cap_last_cap", "socket_file_ops",
                                 "sockfs_dentry_operations", "net_namespace_list", "tty_drivers", "idt_table",
                                 "module_kset", "prog_idr", "swapper_pg_dir", "mem_map", "sys_call_table"});
  EXPECT_EQ(type_size(p, *p.symbols.at("module_kset").type), 4u);
  EXPECT_EQ(type_size(p, *p.symbols.at("idt_table").type), 256u * 8);
}

TEST_F(Kernel686, KallsymsOfThe32BitImage) {
  // Without the debug file, the image's own kallsyms (32-bit layout) still parse.
  Bytes v = bzimage_payload(read_file(k686("vmlinuz")), "vmlinuz");
  std::vector<KernelSymbol> syms = extract_kallsyms(v, "vmlinuz");
  std::map<std::string, uint64_t> by_name;
  for (const auto& s : syms) by_name.emplace(s.name, s.address);
  EXPECT_GT(syms.size(), 30000u);
  EXPECT_EQ(by_name["_text"], 0xc1000000u);
  ASSERT_TRUE(by_name.count("ia32_sys_call"));
  EXPECT_EQ(by_name["ia32_sys_call"], *profile_686().symbol("ia32_sys_call"));
}

TEST_F(Kernel686, ImageWithoutBtfAsksForTheDebugFile) {
  EXPECT_EQ(error_of([] { build_linux_profile(k686("vmlinuz")); }),
            k686("vmlinuz") + ": no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF): give its DWARF "
                              "with --debug-file (the vmlinux of the linux-image-*-dbg package)");
}

TEST_F(Kernel686, DebugFileOfAnotherKernelIsRefused) {
  // A 64-bit image with the 32-bit debug file: refused before pahole runs.
  std::string img64 = test::lab_kernel("6.1");
  if (!test::exists(img64)) GTEST_SKIP() << "6.1 lab kernel absent";
  BuildOptions bo;
  bo.debug_file = k686("vmlinux-dbg");
  EXPECT_EQ(error_of([&] { build_linux_profile(img64, bo); }),
            k686("vmlinux-dbg") + ": does not match " + img64 + ": a 32-bit ELF for a 64-bit kernel image");
  // The same kernel with a different build id (one byte of the image's note changed).
  Bytes v = bzimage_payload(read_file(k686("vmlinuz")), "vmlinuz");
  ElfImage elf(v.data(), v.size(), "payload");
  auto id = elf_build_id(v.data(), elf);
  ASSERT_TRUE(id);
  const ElfSection* notes = elf.section(".notes");
  ASSERT_NE(notes, nullptr);
  Bytes raw_id;
  for (size_t i = 0; i < id->size(); i += 2) raw_id.push_back(uint8_t(std::stoi(id->substr(i, 2), nullptr, 16)));
  auto at = std::search(v.begin() + long(notes->offset), v.begin() + long(notes->offset + notes->size), raw_id.begin(),
                        raw_id.end());
  ASSERT_NE(at, v.begin() + long(notes->offset + notes->size));
  *at ^= 0xFF;
  test::TempDir d;
  std::string other = d.file("vmlinux-other-build", v);
  std::string err = error_of([&] { build_linux_profile(other, bo); });
  EXPECT_EQ(err.rfind(k686("vmlinux-dbg") + ": does not match " + other + ": build id " + *id + ", the image's is ", 0),
            0u)
      << err;
}

TEST(DwarfToBtf, SmallObjectConvertsAndCorruptDwarfIsAnError) {
  if (!have("pahole")) GTEST_SKIP() << "pahole (dwarves) not installed";
  test::TempDir d;
  std::string obj = small_dwarf_object(d);
  if (obj.empty()) GTEST_SKIP() << "gcc -m32 -g cannot build a test object";
  Bytes o = read_file(obj);
  {
    ElfImage elf(o.data(), o.size(), obj);
    Bytes btf = btf_from_dwarf(obj, elf);
    Profile p;
    load_btf_types(btf.data(), btf.size(), "btf", p);
    EXPECT_EQ(p.field_offset("task_struct", "comm"), 8u);
    EXPECT_EQ(p.struct_size("pt_regs"), 12u);
  }
  // .debug_info overwritten: pahole writes nothing (and may still exit 0).
  ElfImage elf(o.data(), o.size(), obj);
  const ElfSection* info = elf.section(".debug_info");
  ASSERT_NE(info, nullptr);
  Bytes bad = o;
  for (uint64_t i = 11; i < info->size; ++i) bad[info->offset + i] = 0xFF;
  std::string bad_path = d.file("bad.o", bad);
  ElfImage bad_elf(bad.data(), bad.size(), bad_path);
  std::string err = error_of([&] { btf_from_dwarf(bad_path, bad_elf); });
  EXPECT_EQ(err.rfind(bad_path + ": pahole could not convert its DWARF to BTF", 0), 0u) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

TEST(DwarfToBtf, TruncatedOrMissingDwarfIsAnError) {
  test::TempDir d;
  std::string obj = small_dwarf_object(d);
  if (obj.empty()) GTEST_SKIP() << "gcc -m32 -g cannot build a test object";
  Bytes o = read_file(obj);
  // Cut inside the sections: the ELF reader refuses it (sections past the end).
  std::string cut = d.file("cut.o", Bytes(o.begin(), o.begin() + long(o.size() * 3 / 4)));
  std::string err = error_of([&] {
    MappedFile m(cut);
    ElfImage e(m.data(), m.size(), cut);
  });
  EXPECT_EQ(err.rfind(cut + ": truncated ELF", 0), 0u) << err;
  // An ELF without DWARF (stripped of its debug sections).
  int status = 0;
  std::string stripped = d.path() + "/stripped.o";
  test::run("objcopy --strip-debug '" + obj + "' '" + stripped + "' 2>&1", &status);
  if (status != 0) GTEST_SKIP() << "objcopy failed";
  Bytes s = read_file(stripped);
  ElfImage se(s.data(), s.size(), stripped);
  EXPECT_EQ(error_of([&] { btf_from_dwarf(stripped, se); }),
            stripped + ": no .debug_info section: not a kernel with DWARF debug information (the vmlinux of the "
                       "linux-image-*-dbg package)");
}
