// The memory route without a guest: the lab kernel's vmlinux laid out in a fake guest
// memory at a KASLR slide (its allocated sections at link address + slide,
// kallsyms_relative_base relocated as the boot code does, vmcoreinfo saying
// KERNELOFFSET), then profile_from_memory compared with the file route's profile of
// the same image; and what a damaged memory gives.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>

#include "common/file.hpp"
#include "profile/bzimage.hpp"
#include "profile/elf.hpp"
#include "profile/kernel_image.hpp"
#include "profile/memory_profile.hpp"
#include "sparse_memory.hpp"
#include "synthetic_kernel.hpp"
#include "test_paths.hpp"

using namespace vmitrace;
using namespace vmitrace::profile;

namespace {

constexpr uint64_t kSlide = 0x1e000000;  // 480 MiB: a 2 MiB-aligned KASLR slide
constexpr uint64_t kVmcoreinfo = 0xffff888000010000ull;  // in the direct map, like the kernel's page

struct Lab {
  Profile file;              // the file route's profile
  test::SparseMemory memory;  // the image at kSlide, vmcoreinfo written
  uint64_t text = 0, banner = 0, start_btf = 0;  // link-time addresses
  std::vector<uint64_t> digits;  // every "0\0" .. "9\0" run (one is kallsyms_token_table's)
};

const Lab* lab(const std::string& version) {
  static std::map<std::string, std::unique_ptr<Lab>> cache;
  if (auto it = cache.find(version); it != cache.end()) return it->second.get();
  std::string img = test::lab_kernel(version);
  if (!test::exists(img)) return cache.emplace(version, nullptr).first->second.get();
  auto l = std::make_unique<Lab>();
  l->file = build_linux_profile(img);
  l->text = *l->file.symbol("_text");
  l->banner = *l->file.symbol("linux_banner");
  l->start_btf = *l->file.symbol("__start_BTF");
  std::vector<uint8_t> vmlinux = bzimage_payload(read_file(img), img);
  ElfImage elf(vmlinux.data(), vmlinux.size(), img);
  constexpr uint32_t kProgbits = 1;
  constexpr uint64_t kAlloc = 2;
  for (const auto& s : elf.sections()) {
    if (s.type != kProgbits || !(s.flags & kAlloc) || s.addr < 0xffffffff80000000ull || s.size == 0) continue;
    std::vector<uint8_t> bytes(vmlinux.begin() + long(s.offset), vmlinux.begin() + long(s.offset + s.size));
    // The boot code relocates absolute kernel addresses by the slide; of them the
    // memory route reads kallsyms_relative_base, a quad holding _text.
    for (size_t o = (8 - (s.addr & 7)) & 7; o + 8 <= bytes.size(); o += 8) {
      uint64_t v;
      std::memcpy(&v, &bytes[o], 8);
      if (v == l->text) {
        v += kSlide;
        std::memcpy(&bytes[o], &v, 8);
      }
    }
    l->memory.write(s.addr + kSlide, bytes.data(), bytes.size());
    static const char kDigits[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";
    for (auto* p = bytes.data(), *e = p + bytes.size();
         (p = static_cast<uint8_t*>(memmem(p, size_t(e - p), kDigits, sizeof kDigits))); ++p)
      l->digits.push_back(s.addr + uint64_t(p - bytes.data()));
  }
  char note[128];
  int n = std::snprintf(note, sizeof note, "OSRELEASE=x\nKERNELOFFSET=%llx\nNUMBER(phys_base)=0\n",
                        static_cast<unsigned long long>(kSlide));
  l->memory.write(kVmcoreinfo, note, size_t(n) + 1);
  uint64_t ptr = kVmcoreinfo;
  l->memory.write(*l->file.symbol("vmcoreinfo_data") + kSlide, &ptr, 8);
  return cache.emplace(version, std::move(l)).first->second.get();
}

void expect_equal_to_file_route(const std::string& version) {
  const Lab* l = lab(version);
  if (!l) GTEST_SKIP() << "lab kernel absent: " << test::lab_kernel(version) << " (guest/setup.sh)";
  MemoryProfileInfo info;
  Profile mem = profile_from_memory(l->memory.guest(), "fake", &info);
  EXPECT_EQ(info.kaslr_offset, kSlide);
  EXPECT_EQ(info.image_base, l->text + kSlide);
  EXPECT_EQ("Linux version " + info.release, l->file.metadata.banner.substr(0, 14 + info.release.size()));
  EXPECT_EQ(mem.symbols.size(), l->file.symbols.size());
  EXPECT_EQ(mem.user_types.size(), l->file.user_types.size());
  EXPECT_EQ(*mem.symbol("_text"), l->text);  // unslid
  // The only difference: where the symbols came from.
  EXPECT_EQ(mem.metadata.symbols_name, "guest memory");
  mem.metadata.symbols_name = l->file.metadata.symbols_name;
  std::string a = to_isf_json(mem), b = to_isf_json(l->file);
  if (a != b) {
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    ADD_FAILURE() << "ISF differs at byte " << i << ": memory \"" << a.substr(i > 80 ? i - 80 : 0, 160)
                  << "\" file \"" << b.substr(i > 80 ? i - 80 : 0, 160) << "\"";
  }
}

}  // namespace

TEST(MemoryProfile, EqualsFileRoute61) { expect_equal_to_file_route("6.1"); }
TEST(MemoryProfile, EqualsFileRoute612) { expect_equal_to_file_route("6.12"); }

TEST(MemoryProfile, DamagedMemoryGivesOneLineErrors) {
  const Lab* l = lab("6.1");
  if (!l) GTEST_SKIP() << "lab kernel absent: " << test::lab_kernel("6.1") << " (guest/setup.sh)";
  auto error_with = [&](const std::function<void(test::SparseMemory&)>& damage) {
    test::SparseMemory m = l->memory;
    damage(m);
    std::string e = test::error_of([&] { profile_from_memory(m.guest(), "vm"); });
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    return e;
  };
  // vmcoreinfo not set up yet (early boot), or without KERNELOFFSET: the KASLR offset cannot be known.
  EXPECT_NE(error_with([&](auto& m) { uint64_t z = 0; m.write(*l->file.symbol("vmcoreinfo_data") + kSlide, &z, 8); })
                .find("cannot tell the KASLR offset of Linux 6.1.0-"),
            std::string::npos);
  EXPECT_NE(error_with([&](auto& m) { m.write(kVmcoreinfo, "OSRELEASE=x\n", 13); }).find("no KERNELOFFSET in vmcoreinfo"),
            std::string::npos);
  // A vmcoreinfo whose offset does not fit the image.
  EXPECT_NE(error_with([&](auto& m) { m.write(kVmcoreinfo, "KERNELOFFSET=1000\n", 19); }).find("does not fit _text"),
            std::string::npos);
  // The BTF header overwritten.
  EXPECT_NE(error_with([&](auto& m) { m.write(l->start_btf + kSlide, "\0\0\0\0", 4); }).find("no valid BTF header"),
            std::string::npos);
  // The token table damaged: no kallsyms tables are found by their shape.
  {
    std::string e = error_with([&](auto& m) { for (uint64_t d : l->digits) m.write(d + kSlide, "X", 1); });
    EXPECT_NE(e.find("no kallsyms tables"), std::string::npos) << e;
  }
  // A banner with a control character: the release in messages stops there.
  {
    std::string e = error_with([&](auto& m) {
      m.write(l->banner + kSlide, "Linux version 6.6\x1b[2J\n-evil ", 27);
      uint64_t z = 0;
      m.write(*l->file.symbol("vmcoreinfo_data") + kSlide, &z, 8);
    });
    EXPECT_NE(e.find("of Linux 6.6: vmcoreinfo"), std::string::npos) << e;
  }
  // linux_banner's page unmapped.
  EXPECT_NE(error_with([&](auto& m) { m.unmap(l->banner + kSlide); }).find("is not a Linux banner"),
            std::string::npos);
  // Nothing mapped in the kernel-text window: retry later, or not Linux.
  test::SparseMemory empty;
  EXPECT_THROW(profile_from_memory(empty.guest(), "vm"), KernelNotMapped);
}

TEST(MemoryProfile, SyntheticKernel) {
  std::vector<uint8_t> img = test::synthetic_kernel(8);
  test::SparseMemory m;
  m.write(test::SyntheticKernel::kBase64, img.data(), img.size());
  MemoryProfileInfo info;
  Profile p = profile_from_memory(m.guest(), "synthetic", &info);
  EXPECT_EQ(info.release, "6.1.0-synthetic");
  EXPECT_EQ(info.kaslr_offset, test::SyntheticKernel::kSlide64);
  EXPECT_EQ(p.symbols.size(), 5u);
  EXPECT_EQ(p.symbol("_text"), 0xffffffff81000000ull);
  EXPECT_EQ(p.symbol("linux_banner"), 0xffffffff81000100ull);
  EXPECT_EQ(p.metadata.banner, test::SyntheticKernel::kBanner);
  EXPECT_TRUE(p.base_types.count("int"));
  // The same tables for an i386 kernel: found, then refused for the KASLR offset
  // (i386's vmcoreinfo has none; here the check is that the route gets that far).
  std::vector<uint8_t> img32 = test::synthetic_kernel(4);
  test::SparseMemory m32;
  m32.write(test::SyntheticKernel::kBase32, img32.data(), img32.size());
  std::string e = test::error_of([&] { profile_from_memory(m32.guest(4, test::SyntheticKernel::kBase32 + 8), "vm"); });
  EXPECT_NE(e.find("cannot tell the KASLR offset of Linux 6.1.0-synthetic"), std::string::npos) << e;
}

TEST(MemoryProfile, RepeatedLookAlikesEndInOneLineError) {
  // 16 MiB of kallsyms_token_table's digit run: every 20 bytes a candidate. The search
  // is bounded by construction (at most 4 parses per copy); no timing is asserted here
  // (speed is for benchmarks: under ASan this takes ~90 s).
  static const char kDigits[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";
  std::vector<uint8_t> junk(16u << 20);
  for (size_t i = 0; i + sizeof kDigits <= junk.size(); i += sizeof kDigits) std::memcpy(&junk[i], kDigits, sizeof kDigits);
  test::SparseMemory m;
  m.write(0xffffffff81000000ull, junk.data(), junk.size());
  std::string e = test::error_of([&] { profile_from_memory(m.guest(), "vm"); });
  EXPECT_NE(e.find("vm: "), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}
