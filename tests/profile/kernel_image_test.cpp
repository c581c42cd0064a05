// Profiles built from the lab kernels (bzImage alone): structure offsets equal
// pahole's on the same vmlinux, kallsyms is consistent, per-CPU symbols are
// absolute; and every kind of bad image gives a one-line error naming the file.
#include <gtest/gtest.h>
#include <lzma.h>

#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <regex>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/bzimage.hpp"
#include "profile/kernel_image.hpp"
#include "profile/profile.hpp"
#include "global_types_check.hpp"
#include "test_paths.hpp"

using namespace vmitrace;
using namespace vmitrace::profile;
using Bytes = std::vector<uint8_t>;

using test::error_of;

namespace {

// One build per kernel for the whole test program (each takes about a second).
struct Built {
  Profile profile;
  std::string vmlinux_path;  // the decompressed payload, for pahole
};
const Built& built(const std::string& version) {
  static std::map<std::string, Built> cache;
  static test::TempDir dir;
  auto it = cache.find(version);
  if (it != cache.end()) return it->second;
  std::string img = test::lab_kernel(version);
  Built b;
  b.profile = build_linux_profile(img);
  b.vmlinux_path = dir.file("vmlinux-" + version, bzimage_payload(read_file(img), img));
  return cache.emplace(version, std::move(b)).first->second;
}

// Top-level members of `type` as pahole prints them: "name" -> offset.
std::map<std::string, uint64_t> pahole_offsets(const std::string& vmlinux, const std::string& type) {
  int status = 0;
  std::string out = test::run("pahole -F btf -C " + type + " '" + vmlinux + "' 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  std::map<std::string, uint64_t> r;
  // "\t<type> <name>[<dims>];   /* <offset> <size> */" at one tab of indentation.
  static const std::regex line(R"(^\t[^\t{}].*?[ *]([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])*;\s*/\*\s*(\d+)\s+\d+\s*\*/)");
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) r.emplace(m[1], std::stoull(m[3]));
  }
  return r;
}

class LabKernel : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (!test::exists(test::lab_kernel(GetParam())))
      GTEST_SKIP() << "lab kernel absent (run guest/setup.sh): " << test::lab_kernel(GetParam());
  }
};

}  // namespace

TEST_P(LabKernel, StructOffsetsEqualPahole) {
  int status = 0;
  test::run("pahole --version >/dev/null 2>&1", &status);
  if (status != 0) GTEST_SKIP() << "pahole (dwarves) not installed";
  const Built& b = built(GetParam());
  struct Want {
    const char* type;
    std::vector<const char*> fields;  // empty: every top-level member pahole prints
  } wants[] = {{"task_struct", {"pid", "tgid", "comm", "real_parent", "cred", "group_leader", "mm"}},
               {"cred", {"uid", "euid", "gid"}},
               {"pt_regs", {}}};
  for (const auto& w : wants) {
    auto ref = pahole_offsets(b.vmlinux_path, w.type);
    ASSERT_FALSE(ref.empty()) << w.type;
    std::vector<std::string> names(w.fields.begin(), w.fields.end());
    if (names.empty())
      for (const auto& [n, off] : ref) names.push_back(n);
    for (const auto& f : names) {
      ASSERT_TRUE(ref.count(f)) << w.type << "." << f << " not in pahole output";
      EXPECT_EQ(b.profile.field_offset(w.type, f), ref[f]) << w.type << "." << f;
    }
  }
  EXPECT_EQ(b.profile.struct_size("pt_regs"), 168u);
}

TEST_P(LabKernel, KallsymsIsConsistent) {
  const Profile& p = built(GetParam()).profile;
  auto text = p.symbol("_text");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, 0xffffffff81000000ull);  // x86-64 link address (KASLR moves it at boot)
  EXPECT_GE(p.symbol("_stext").value_or(0), *text);
  for (const char* s : {"x64_sys_call", "ia32_sys_call", "do_syscall_64", "int80_emulation", "linux_banner",
                        "__x64_sys_openat", "init_task"}) {
    auto a = p.symbol(s);
    ASSERT_TRUE(a) << s;
    EXPECT_GT(*a, *text) << s;
    EXPECT_LT(*a - *text, 64u << 20) << s;
  }
  EXPECT_GT(p.symbols.size(), 50000u);
  // Per-CPU symbols are absolute offsets into the per-CPU area (small values).
  const char* percpu = std::string(GetParam()) == "6.1" ? "current_task" : "pcpu_hot";
  auto pc = p.symbol(percpu);
  ASSERT_TRUE(pc) << percpu;
  EXPECT_LT(*pc, 0x100000u) << percpu;
  EXPECT_GT(*pc, 0u) << percpu;
  // BTF gives the per-CPU variable its type.
  ASSERT_TRUE(p.symbols.at(percpu).type);
}

// Issue 17: the globals Volatility3's Linux plugins read carry their types (BTF has
// VARs only for per-CPU variables), silently (no note), named as dwarf2json names them.
TEST_P(LabKernel, GlobalsVolatility3ReadsAreTyped) {
  const Profile& p = built(GetParam()).profile;
  test::expect_globals_typed(p, {"init_task", "modules", "prb", "log_buf", "cap_last_cap", "socket_file_ops",
                                 "sockfs_dentry_operations", "net_namespace_list", "tty_drivers", "idt_table",
                                 "module_kset", "prog_idr", "vmemmap_base", "page_offset_base", "init_top_pgt",
                                 "sys_call_table", "mem_section", "init_pid_ns", "iomem_resource"});
  EXPECT_EQ(p.symbols.at("init_task").type->name, "task_struct");
  const TypeRef& idt = *p.symbols.at("idt_table").type;
  EXPECT_EQ(idt.kind, "array");
  EXPECT_EQ(idt.count, 256u);
  EXPECT_EQ(idt.subtype->name, "gate_desc");
  EXPECT_EQ(p.symbols.at("prb").type->subtype->name, "printk_ringbuffer");
  // A per-CPU variable keeps the type of its BTF VAR.
  const char* percpu = p.symbols.count("pcpu_hot") ? "pcpu_hot" : "current_task";
  ASSERT_TRUE(p.symbols.at(percpu).type.has_value()) << percpu;

  std::vector<std::string> notes;
  BuildOptions o;
  o.note = [&](const std::string& n) { notes.push_back(n); };
  build_linux_profile(test::lab_kernel(GetParam()), o);
  EXPECT_TRUE(notes.empty()) << notes.front();
}

TEST_P(LabKernel, BannerAndMetadata) {
  const Profile& p = built(GetParam()).profile;
  std::string want = std::string("Linux version ") + GetParam() + ".";
  EXPECT_EQ(p.metadata.banner.rfind(want, 0), 0u) << p.metadata.banner;
  ASSERT_TRUE(p.symbols.at("linux_banner").constant_data);
  EXPECT_EQ(*p.symbols.at("linux_banner").constant_data, p.metadata.banner + '\0');
  EXPECT_EQ(p.metadata.os, "linux");
  EXPECT_EQ(p.metadata.architecture, "x86_64");
  EXPECT_EQ(p.metadata.pointer_size, 8u);
  EXPECT_EQ(p.base_types.at("pointer").size, 8u);
  EXPECT_TRUE(p.enum_value("pid_type", "PIDTYPE_TGID"));
}

TEST_P(LabKernel, ReadKernelImageMatchesTheBuilder) {
  KernelImage img = read_kernel_image(test::lab_kernel(GetParam()));
  EXPECT_TRUE(img.is_64bit);
  EXPECT_EQ(img.banner, built(GetParam()).profile.metadata.banner);
  ASSERT_FALSE(img.symbols.empty());
  for (const auto& s : img.symbols)
    if (s.name == "x64_sys_call") {
      EXPECT_EQ(s.address, built(GetParam()).profile.symbol("x64_sys_call"));
      EXPECT_EQ(std::toupper(s.type), 'T');
    }
}

TEST_P(LabKernel, SystemMapTakesPrecedence) {
  test::TempDir d;
  std::string map = d.file("System.map",
                           "ffffffff81000000 T _text\nffffffff81000000 T _stext\nffffffff81234560 T only_in_map\n");
  BuildOptions o;
  o.system_map = map;
  Profile p = build_linux_profile(test::lab_kernel(GetParam()), o);
  EXPECT_EQ(p.symbol("only_in_map"), 0xffffffff81234560ull);
  EXPECT_FALSE(p.symbol("x64_sys_call"));  // kallsyms not used
  EXPECT_EQ(p.metadata.symbols_kind, "system-map");
  EXPECT_TRUE(p.field_offset("task_struct", "pid"));  // types still from BTF
}

TEST_P(LabKernel, ImageWithoutBtf) {
  int status = 0;
  test::run("objcopy --version >/dev/null 2>&1", &status);
  if (status != 0) GTEST_SKIP() << "objcopy (binutils) not installed";
  test::TempDir d;
  std::string stripped = d.path() + "/vmlinux-nobtf";
  test::run("objcopy --remove-section .BTF '" + built(GetParam()).vmlinux_path + "' '" + stripped + "' 2>&1", &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(error_of([&] { build_linux_profile(stripped); }),
            stripped + ": no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF): give its DWARF with "
                       "--debug-file (the vmlinux of the linux-image-*-dbg package)");
}

TEST_P(LabKernel, TruncatedAndCorruptImages) {
  Bytes img = read_file(test::lab_kernel(GetParam()));
  test::TempDir d;
  std::string trunc = d.file("trunc", Bytes(img.begin(), img.begin() + img.size() / 2));
  EXPECT_EQ(error_of([&] { build_linux_profile(trunc); }).rfind(trunc + ": truncated bzImage (payload at ", 0), 0u);
  std::string hdr = d.file("hdr", Bytes(img.begin(), img.begin() + 0x220));
  EXPECT_EQ(error_of([&] { build_linux_profile(hdr); }), hdr + ": truncated bzImage (setup header cut short)");
  // Damage the ELF header inside the payload's data: whatever the compression,
  // the result is an error, never a crash.
  Bytes bad = img;
  size_t setup = (size_t(bad[0x1F1]) + 1) * 512;
  size_t off = setup + (bad[0x248] | bad[0x249] << 8 | bad[0x24A] << 16 | size_t(bad[0x24B]) << 24);
  for (size_t i = off + 16; i < off + 4096; ++i) bad[i] ^= 0x5A;
  std::string corrupt = d.file("corrupt", bad);
  EXPECT_EQ(error_of([&] { build_linux_profile(corrupt); }).rfind(corrupt + " (bzImage payload): ", 0), 0u);
}

TEST_P(LabKernel, KallsymsWithoutTablesIsAnError) {
  Bytes v = read_file(built(GetParam()).vmlinux_path);
  // Destroy the digits run that identifies kallsyms_token_table.
  static const char kDigits[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";
  for (size_t i = 0; i + 20 <= v.size(); ++i)
    if (std::memcmp(&v[i], kDigits, 20) == 0) v[i + 2] = '#';
  EXPECT_EQ(error_of([&] { extract_kallsyms(v, "img"); }).rfind("img: kallsyms not found", 0), 0u);
}

TEST_P(LabKernel, HostileMutationsGiveResultsOrErrors) {
  // Random damage to the kallsyms tables and to .BTF: every outcome must be a
  // result or a vmitrace::Error, never a crash (run under ASan/UBSan too).
  const Bytes orig = read_file(built(GetParam()).vmlinux_path);
  static const char kDigits[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";
  size_t tokens = 0;
  for (size_t i = 0; i + 20 <= orig.size() && !tokens; ++i)
    if (std::memcmp(&orig[i], kDigits, 20) == 0 && i > (4u << 20)) tokens = i;
  ASSERT_GT(tokens, 0u);
  std::mt19937_64 rng(7);
  Bytes v = orig;
  std::vector<std::pair<size_t, uint8_t>> undo;
  auto poke = [&](size_t at) {
    undo.emplace_back(at, v[at]);
    v[at] = uint8_t(rng());
  };
  const int kIters = 12;
  int results = 0, errors = 0;
  for (int iter = 0; iter < kIters; ++iter) {
    // Names/markers lie up to a few MiB before the token table, offsets up to ~1 MiB after.
    for (int k = 0; k < 64; ++k) poke(tokens - (3u << 20) + rng() % (4u << 20));
    if (iter % 3 == 0)  // also hit the token table itself
      for (int k = 0; k < 8; ++k) poke(tokens - 64 + rng() % 600);
    try {
      auto syms = extract_kallsyms(v, "mutant");
      EXPECT_FALSE(syms.empty());
      ++results;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("mutant: ", 0), 0u) << e.what();
      ++errors;
    }
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) v[it->first] = it->second;
    undo.clear();
  }
  EXPECT_EQ(results + errors, kIters);
  // Corrupt the BTF type area (the section starts with magic 0xEB9F, version 1).
  size_t btf = 0;
  for (size_t i = 0; i + 2 < v.size() && !btf; ++i)
    if (v[i] == 0x9F && v[i + 1] == 0xEB && v[i + 2] == 1) btf = i;
  ASSERT_GT(btf, 0u);
  test::TempDir d;
  for (int iter = 0; iter < 3; ++iter) {
    std::string path = d.path() + "/m";
    for (int k = 0; k < 32; ++k) poke(btf + rng() % 4096);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size()));
    try {
      build_linux_profile(path);
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Both, LabKernel, ::testing::Values("6.1", "6.12"),
                         [](const auto& info) { return std::string(info.param) == "6.1" ? "v6_1" : "v6_12"; });

// --- synthetic images (no lab needed) ---

namespace {

// A minimal bzImage: setup header with HdrS, boot protocol 2.15, one setup sector.
Bytes make_bzimage(const Bytes& payload) {
  Bytes img(1024, 0);
  img[0x1F1] = 1;
  std::memcpy(&img[0x202], "HdrS", 4);
  img[0x206] = 0x0F;
  img[0x207] = 0x02;
  uint32_t len = uint32_t(payload.size());
  for (int i = 0; i < 4; ++i) img[0x24C + i] = uint8_t(len >> (8 * i));
  img.resize(1024 + payload.size());
  if (!payload.empty()) std::memcpy(img.data() + 1024, payload.data(), payload.size());
  return img;
}

// xz with the x86 BCJ filter in front of LZMA2, as the kernel's xz payloads use.
Bytes xz_bcj(const Bytes& in) {
  lzma_options_lzma opt;
  lzma_lzma_preset(&opt, 6);
  lzma_filter filters[] = {{LZMA_FILTER_X86, nullptr}, {LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
  Bytes out(lzma_stream_buffer_bound(in.size()));
  size_t pos = 0;
  EXPECT_EQ(lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(), &pos,
                                      out.size()),
            LZMA_OK);
  out.resize(pos);
  return out;
}

}  // namespace

TEST(BadImage, FileErrors) {
  test::TempDir d;
  std::string missing = d.path() + "/vmlinuz";
  EXPECT_EQ(error_of([&] { build_linux_profile(missing); }), missing + ": No such file or directory");
  EXPECT_EQ(error_of([&] { build_linux_profile(d.path()); }), d.path() + ": is a directory");
  std::string empty = d.file("empty", Bytes{});
  EXPECT_EQ(error_of([&] { build_linux_profile(empty); }), empty + ": empty file (not a kernel image)");
  std::string text = d.file("text", std::string("just some text, not a kernel\n"));
  EXPECT_EQ(error_of([&] { build_linux_profile(text); }),
            text + ": not a Linux kernel image (neither a bzImage, an arm64 Image nor an ELF vmlinux)");
}

// An ELF program is not a kernel built without BTF: the message says what it is.
TEST(BadImage, ElfThatIsNoKernel) {
  EXPECT_EQ(error_of([&] { build_linux_profile("/bin/ls"); }),
            "/bin/ls: not a Linux kernel image (an ELF file without the kernel's \"Linux version\" banner)");
}

TEST(BadImage, XzBcjPayloadIsDecodedThenNeedsElf) {
  test::TempDir d;
  // The payload decompresses fine (xz + BCJ) but is not an ELF.
  Bytes junk(100000, 0x90);
  std::string img = d.file("notelf", make_bzimage(xz_bcj(junk)));
  EXPECT_EQ(error_of([&] { build_linux_profile(img); }), img + ": decompressed payload is not an ELF vmlinux");
  // A real ELF (this test binary's own file) without .BTF: with DWARF (-g builds) it
  // would be its own debug file, but it is no kernel.
  Bytes self = read_file("/proc/self/exe");
  std::string elfimg = d.file("elf", make_bzimage(xz_bcj(self)));
  std::string e = error_of([&] { build_linux_profile(elfimg); });
  EXPECT_TRUE(e.rfind(elfimg + ": no .BTF section", 0) == 0 ||
              e == elfimg + ": not a Linux kernel: no _text/_stext symbol in its symbol table")
      << e;
}

TEST(BadImage, CorruptXzPayload) {
  test::TempDir d;
  Bytes payload = xz_bcj(Bytes(100000, 0x90));
  for (size_t i = payload.size() / 2; i < payload.size() / 2 + 16; ++i) payload[i] ^= 0xFF;
  std::string img = d.file("corrupt", make_bzimage(payload));
  std::string e = error_of([&] { build_linux_profile(img); });
  EXPECT_EQ(e.rfind(img + " (bzImage payload): corrupt xz data", 0), 0u) << e;
}

TEST(BadImage, UnknownAndUnsupportedCompression) {
  test::TempDir d;
  std::string img = d.file("unknown", make_bzimage(Bytes{0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4}));
  EXPECT_EQ(error_of([&] { build_linux_profile(img); }),
            img + ": unknown bzImage payload compression (magic de ad be ef)");
  std::string bz = d.file("bzip2", make_bzimage(Bytes{'B', 'Z', 'h', '9', 1, 2, 3}));
  EXPECT_EQ(error_of([&] { build_linux_profile(bz); }).rfind(bz + " (bzImage payload): unsupported compression: bzip2", 0),
            0u);
}

TEST(BadImage, OldBootProtocolAndZeroPayload) {
  test::TempDir d;
  Bytes img = make_bzimage(Bytes{1, 2, 3});
  img[0x206] = 0x04;  // 2.04: no payload fields
  std::string old = d.file("old", img);
  EXPECT_EQ(error_of([&] { build_linux_profile(old); }),
            old + ": bzImage boot protocol 2.4 has no payload fields (need >= 2.08)");
  std::string zero = d.file("zero", make_bzimage(Bytes{}));
  EXPECT_EQ(error_of([&] { build_linux_profile(zero); }), zero + ": bzImage payload_length is 0");
}

TEST(BadImage, SystemMapErrors) {
  test::TempDir d;
  std::string stub = d.file("System.map", std::string("ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"));
  EXPECT_EQ(error_of([&] { read_system_map(stub); }).rfind(stub + ": System.map has no _text/_stext symbol", 0), 0u);
  std::string junk = d.file("junk.map", std::string("hello world\n"));
  EXPECT_EQ(error_of([&] { read_system_map(junk); }), junk + ": line 1: not a System.map line (\"ADDRESS TYPE NAME\")");
  std::string ok = d.file("ok.map", std::string("ffffffff81000000 T _text\nffffffff81000010 t helper\n"));
  auto syms = read_system_map(ok);
  ASSERT_EQ(syms.size(), 2u);
  EXPECT_EQ(syms[1].name, "helper");
  EXPECT_EQ(syms[1].type, 't');
  EXPECT_EQ(syms[1].address, 0xffffffff81000010ull);
}
