// arm64 kernel images (issue 18): the Image header, EFI zboot and compressed
// wrappers, truncated and bad images (one-line errors naming the file), and the
// profiles of the arm64 lab kernels: architecture, the symbols and types the
// tracer reads, kallsyms through the boot-time relocations, BTF offsets equal
// pahole's.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <map>
#include <regex>
#include <sstream>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/arm64_image.hpp"
#include "profile/guest_btf.hpp"
#include "profile/kernel_image.hpp"
#include "profile/profile.hpp"
#include "test_paths.hpp"

using namespace vmitrace;
using namespace vmitrace::profile;
using Bytes = std::vector<uint8_t>;
using test::error_of;

namespace {

void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}
void put64(Bytes& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

// An Image header (booting.rst) over `size` bytes: flags 0xa = little-endian, 4K
// pages, anywhere in memory (what Debian's kernels say). With `pe`, the EFI stub's
// PE header: one .text section at 0x10000 whose raw data runs to the end of `size`.
Bytes make_image(size_t size, uint64_t flags = 0xa, bool pe = true) {
  Bytes b(size, 0);
  put64(b, 0x10, size + 0x1000);  // image_size: with .bss, more than the file
  put64(b, 0x18, flags);
  std::memcpy(&b[0x38], "ARM\x64", 4);
  if (pe) {
    b[0] = 'M', b[1] = 'Z';
    put32(b, 0x3c, 0x40);
    std::memcpy(&b[0x40], "PE\0\0", 4);
    b[0x46] = 1;     // NumberOfSections
    b[0x54] = 0xa0;  // SizeOfOptionalHeader
    size_t s = 0x40 + 24 + 0xa0;
    std::memcpy(&b[s], ".text\0\0\0", 8);
    put32(b, s + 12, 0x10000);                   // VirtualAddress
    put32(b, s + 16, uint32_t(size - 0x10000));  // SizeOfRawData
    put32(b, s + 20, 0x10000);                   // PointerToRawData
  }
  return b;
}

Bytes gzip(const Bytes& in, int level = 1) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&z, in.size()));
  z.next_in = const_cast<uint8_t*>(in.data());
  z.avail_in = uInt(in.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// An EFI zboot PE (drivers/firmware/efi/libstub/zboot-header.S): "zimg" at 4,
// payload offset and size at 8 and 12, the compression's name at 0x18.
Bytes make_zboot(const Bytes& payload, const char* type = "gzip") {
  Bytes b(0x200, 0);
  b[0] = 'M', b[1] = 'Z';
  std::memcpy(&b[4], "zimg", 4);
  put32(b, 8, 0x200);
  put32(b, 12, uint32_t(payload.size()));
  std::strncpy(reinterpret_cast<char*>(&b[0x18]), type, 31);
  b.resize(0x200 + payload.size() + 4, 0);  // the build appends the decompressed size
  if (!payload.empty()) std::memcpy(&b[0x200], payload.data(), payload.size());
  return b;
}

}  // namespace

TEST(Arm64Image, HeaderFacts) {
  Arm64Image img = read_arm64_image(make_image(0x20000), "img");
  EXPECT_EQ(img.page_size, 4096u);
  EXPECT_EQ(img.stext_offset, 0x10000u);
  EXPECT_TRUE(img.relocated.empty());
  EXPECT_EQ(read_arm64_image(make_image(0x20000, 0x6), "img").page_size, 65536u);
  // Without the EFI stub the header alone: no PE facts, no size check.
  EXPECT_FALSE(read_arm64_image(make_image(0x20000, 0xa, false), "img").stext_offset);
}

TEST(Arm64Image, BadHeadersAreOneLineErrors) {
  EXPECT_EQ(error_of([] { read_arm64_image(make_image(0x20000, 0xb), "img"); }),
            "img: big-endian arm64 Image: only little-endian kernels are supported");
  Bytes cut = make_image(0x20000);
  cut.resize(0x18000);
  EXPECT_EQ(error_of([&] { read_arm64_image(cut, "img"); }),
            "img: truncated arm64 Image (its PE header describes 131072 bytes, the file has 98304)");
  Bytes head = make_image(0x20000);
  head.resize(0x48);
  EXPECT_EQ(error_of([&] { read_arm64_image(head, "img"); }),
            "img: truncated or damaged arm64 Image (no PE header at 0x40 for its EFI stub)");
  Bytes table = make_image(0x20000);
  table.resize(0x100);
  EXPECT_EQ(error_of([&] { read_arm64_image(table, "img"); }), "img: truncated arm64 Image (PE section table cut short)");
}

TEST(Arm64Image, EfiZbootAndCompressedImages) {
  const Bytes image = make_image(0x20000);
  Arm64Image z = read_arm64_image(make_zboot(gzip(image)), "zb");
  EXPECT_EQ(z.bytes, image);
  EXPECT_EQ(z.stext_offset, 0x10000u);

  Bytes trunc = make_zboot(gzip(image));
  trunc.resize(0x210);
  EXPECT_EQ(error_of([&] { read_arm64_image(trunc, "zb"); }).rfind("zb: truncated EFI zboot image (payload at 512+", 0),
            0u);
  EXPECT_EQ(error_of([&] { read_arm64_image(make_zboot(Bytes(64, 0x42), "zstd"), "zb"); }),
            "zb: EFI zboot payload: unknown compression (header says \"zstd\")");
  EXPECT_EQ(error_of([&] { read_arm64_image(make_zboot(Bytes{}), "zb"); }), "zb: EFI zboot image with an empty payload");
  EXPECT_EQ(error_of([&] { read_arm64_image(make_zboot(gzip(Bytes(4096, 7))), "zb"); }),
            "zb (EFI zboot payload): not an arm64 Image (no \"ARM\\x64\" magic at 0x38)");
  Bytes corrupt = gzip(Bytes(100000, 7));
  for (size_t i = corrupt.size() / 2; i < corrupt.size() / 2 + 16; ++i) corrupt[i] ^= 0xFF;
  EXPECT_EQ(error_of([&] { read_arm64_image(make_zboot(corrupt), "zb"); }).rfind("zb (EFI zboot payload): ", 0), 0u);

  // Through the profile builder: zboot, gzip'd Image (Image.gz), plain; none has BTF here.
  test::TempDir d;
  const std::string want = ": no BTF in the arm64 Image (kernel built without CONFIG_DEBUG_INFO_BTF): give its DWARF "
                           "with --debug-file (the vmlinux of the linux-image-*-dbg package)";
  for (const auto& [name, bytes] : std::map<std::string, Bytes>{
           {"Image", image}, {"Image.gz", gzip(image)}, {"vmlinuz.efi", make_zboot(gzip(image))}}) {
    std::string path = d.file(name, bytes);
    EXPECT_EQ(error_of([&] { build_linux_profile(path); }), path + want) << name;
  }
  std::string be = d.file("be.gz", gzip(make_image(0x20000, 0xb)));
  EXPECT_EQ(error_of([&] { build_linux_profile(be); }),
            be + " (decompressed): big-endian arm64 Image: only little-endian kernels are supported");
}

TEST(Arm64Image, ArchitectureInIsfAndMismatch) {
  Profile p;
  p.metadata.os = "linux";
  p.metadata.architecture = "arm64";
  p.base_types["pointer"] = BaseType{"int", 8, false, "little"};
  Profile back = Profile::parse(to_isf_json(p), "mem");
  EXPECT_EQ(back.metadata.architecture, "arm64");
  EXPECT_EQ(architecture_mismatch(back, "x86"), "the profile is for an arm64 kernel, the guest runs an x86 kernel");
  EXPECT_EQ(architecture_mismatch(back, "arm64"), std::nullopt);
  p.metadata.architecture = "x86_64";
  EXPECT_EQ(architecture_mismatch(p, "x86"), std::nullopt);
  EXPECT_EQ(architecture_mismatch(p, "arm64"), "the profile is for an x86_64 kernel, the guest runs an arm64 kernel");
  p.metadata.architecture = "i386";
  EXPECT_EQ(architecture_mismatch(p, "x86"), std::nullopt);

  // Without the key (dwarf2json's profiles): from struct pt_regs.
  auto with_pt_regs = [](std::vector<std::string> fields, uint32_t ptr) {
    Profile q;
    q.metadata.os = "linux";
    q.base_types["pointer"] = BaseType{"int", ptr, false, "little"};
    q.base_types["long unsigned int"] = BaseType{"int", ptr, false, "little"};
    UserType t{"struct", 64, {}};
    uint64_t off = 0;
    for (const auto& f : fields) t.fields[f] = Field{off += 8, TypeRef{"base", "long unsigned int"}, false};
    q.user_types["pt_regs"] = t;
    return Profile::parse(to_isf_json(q), "mem").metadata.architecture;
  };
  EXPECT_EQ(with_pt_regs({"orig_ax", "ip"}, 8), "x86_64");
  EXPECT_EQ(with_pt_regs({"orig_ax", "ip"}, 4), "i386");
  EXPECT_EQ(with_pt_regs({"syscallno", "pstate", "orig_x0"}, 8), "arm64");
  EXPECT_EQ(with_pt_regs({"gpr", "nip"}, 8), "");

  std::string json = to_isf_json(p);
  json.replace(json.find("\"i386\""), 6, "\"mips\"");
  EXPECT_EQ(error_of([&] { Profile::parse(json, "m.json"); }).rfind("m.json: bad ISF at ", 0), 0u);
  EXPECT_NE(error_of([&] { Profile::parse(json, "m.json"); }).find("\"mips\" is none of x86_64, i386, arm64"),
            std::string::npos);
}

// --- the arm64 lab kernels (guest/fetch-kernels.sh arm64-6.1 arm64-6.12) ---

namespace {

const Profile& built(const std::string& series) {
  static std::map<std::string, Profile> cache;
  auto it = cache.find(series);
  if (it == cache.end()) it = cache.emplace(series, build_linux_profile(test::lab_kernel(series))).first;
  return it->second;
}

class Arm64LabKernel : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (!test::exists(test::lab_kernel(GetParam())))
      GTEST_SKIP() << "arm64 lab kernel absent (run guest/setup.sh): " << test::lab_kernel(GetParam());
  }
};

}  // namespace

TEST_P(Arm64LabKernel, RealHeader) {
  Arm64Image img = read_arm64_image(read_file(test::lab_kernel(GetParam())), "img");
  EXPECT_EQ(img.page_size, 4096u);
  EXPECT_EQ(img.stext_offset, 0x10000u);
  // Debian links with --no-apply-dynamic-relocs: the RELATIVE table is there, its
  // targets are zero in the file.
  ASSERT_GT(img.relocated.size(), 10000u);
  for (size_t i = 0; i < img.relocated.size(); i += 997) {
    auto [off, value] = img.relocated[i];
    if (off + 8 > img.bytes.size()) continue;
    uint64_t in_file = 0;
    std::memcpy(&in_file, &img.bytes[off], 8);
    EXPECT_EQ(in_file, 0u) << std::hex << off;
    EXPECT_GE(value, 0xffff800000000000ull) << std::hex << off;
  }
}

TEST_P(Arm64LabKernel, SymbolsTheTracerNeeds) {
  const Profile& p = built(GetParam());
  EXPECT_EQ(p.metadata.architecture, "arm64");
  EXPECT_EQ(p.metadata.pointer_size, 8u);
  auto text = p.symbol("_text");
  ASSERT_TRUE(text);
  EXPECT_GE(*text, 0xffff800000000000ull);
  EXPECT_EQ(*text % 0x10000, 0u);
  EXPECT_EQ(p.symbol("_stext"), *text + 0x10000);
  for (const char* s : {"invoke_syscall", "do_el0_svc", "do_el0_svc_compat", "el0_svc", "el0_svc_compat",
                        "__arm64_sys_openat", "__arm64_compat_sys_openat", "__arm64_sys_read", "syscall_trace_exit",
                        "vectors", "linux_banner"}) {
    auto a = p.symbol(s);
    ASSERT_TRUE(a) << s;
    EXPECT_GT(*a, *text) << s;
    EXPECT_LT(*a - *text, 64u << 20) << s;
  }
  EXPECT_GT(p.symbols.size(), 40000u);
  std::string want = std::string("Linux version ") + (GetParam() + 6) + ".";
  EXPECT_EQ(p.metadata.banner.rfind(want, 0), 0u) << p.metadata.banner;
  ASSERT_TRUE(p.symbols.at("linux_banner").constant_data);
  EXPECT_EQ(*p.symbols.at("linux_banner").constant_data, p.metadata.banner + '\0');
}

// _text and linux_banner come from kallsyms where the kernel lists them (6.12) and
// from the Image where it does not (6.1, no CONFIG_KALLSYMS_ALL): the Image's rules
// must give kallsyms' own values.
TEST_P(Arm64LabKernel, ImageRulesAgreeWithKallsyms) {
  KernelImage k = read_kernel_image(test::lab_kernel(GetParam()));
  EXPECT_EQ(k.architecture, "arm64");
  std::map<std::string, uint64_t> sym;
  for (const auto& s : k.symbols) sym.emplace(s.name, s.address);
  ASSERT_TRUE(sym.count("_text") && sym.count("_stext") && sym.count("linux_banner"));
  EXPECT_EQ(sym["_stext"] - sym["_text"], 0x10000u);  // the PE header's .text
  // The last of the banner texts (the first is init/version.c's weak copy).
  const uint8_t* last = nullptr;
  for (const uint8_t* p = k.vmlinux.data(); (p = static_cast<const uint8_t*>(memmem(
           p, k.vmlinux.size() - size_t(p - k.vmlinux.data()), "Linux version ", 14)));
       ++p)
    if (std::isdigit(p[14])) last = p;
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(sym["linux_banner"] - sym["_text"], uint64_t(last - k.vmlinux.data()));
}

TEST_P(Arm64LabKernel, TypesEqualPahole) {
  const Profile& p = built(GetParam());
  for (const char* f : {"pid", "tgid", "comm", "real_parent", "cred", "group_leader", "mm", "stack"})
    EXPECT_TRUE(p.field_offset("task_struct", f)) << f;
  for (const char* f : {"uid", "euid", "gid"}) EXPECT_TRUE(p.field_offset("cred", f)) << f;
  // struct pt_regs: regs[31], sp, pc, pstate inside an anonymous union with user_pt_regs.
  EXPECT_EQ(p.field_offset("pt_regs", "regs"), 0u);
  EXPECT_EQ(p.field_offset("pt_regs", "sp"), 248u);
  EXPECT_EQ(p.field_offset("pt_regs", "pc"), 256u);
  EXPECT_EQ(p.field_offset("pt_regs", "pstate"), 264u);
  EXPECT_EQ(p.field_offset("pt_regs", "orig_x0"), 272u);
  EXPECT_EQ(p.field_offset("pt_regs", "syscallno"), 280u);

  int status = 0;
  test::run("pahole --version >/dev/null 2>&1", &status);
  if (status != 0) GTEST_SKIP() << "pahole (dwarves) not installed";
  Arm64Image img = read_arm64_image(read_file(test::lab_kernel(GetParam())), "img");
  auto blob = find_btf_blob(img.bytes.data(), img.bytes.size());
  ASSERT_TRUE(blob);
  test::TempDir d;
  std::string btf = d.file("btf", Bytes(img.bytes.begin() + blob->offset, img.bytes.begin() + blob->offset + blob->size));
  for (const char* type : {"task_struct", "cred", "pt_regs"}) {
    std::string out = test::run(std::string("pahole -F btf -C ") + type + " '" + btf + "' 2>&1", &status);
    ASSERT_EQ(status, 0) << out;
    static const std::regex line(R"(^\t[^\t{}].*?[ *]([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])*;\s*/\*\s*(\d+)\s+\d+\s*\*/)");
    std::istringstream in(out);
    int seen = 0;
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      if (!std::regex_search(l, m, line)) continue;
      EXPECT_EQ(p.field_offset(type, m[1].str()), std::stoull(m[3])) << type << "." << m[1];
      ++seen;
    }
    EXPECT_GT(seen, 2) << type << ": " << out.substr(0, 200);
  }
}

TEST_P(Arm64LabKernel, TruncatedAndWrappedImages) {
  const Bytes img = read_file(test::lab_kernel(GetParam()));
  test::TempDir d;
  std::string half = d.file("half", Bytes(img.begin(), img.begin() + img.size() / 2));
  EXPECT_EQ(error_of([&] { build_linux_profile(half); }).rfind(half + ": truncated arm64 Image (its PE header describes ", 0),
            0u);
  // The same kernel as Image.gz and inside an EFI zboot PE gives the same profile.
  const Profile& plain = built(GetParam());
  for (const auto& [name, bytes] : std::map<std::string, Bytes>{{"Image.gz", gzip(img)}, {"zboot", make_zboot(gzip(img))}}) {
    Profile p = build_linux_profile(d.file(name, bytes));
    EXPECT_EQ(p.symbols.size(), plain.symbols.size()) << name;
    EXPECT_EQ(p.symbol("invoke_syscall"), plain.symbol("invoke_syscall")) << name;
    EXPECT_EQ(p.metadata.banner, plain.metadata.banner) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Both, Arm64LabKernel, ::testing::Values("arm64-6.1", "arm64-6.12"),
                         [](const auto& info) { return std::string(info.param) == "arm64-6.1" ? "v6_1" : "v6_12"; });
