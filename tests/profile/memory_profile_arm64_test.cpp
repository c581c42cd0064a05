// The memory route on arm64 without a guest: a lab kernel's Image laid out in a fake
// guest memory at a KASLR offset that is 64 KiB- but not 2 MiB-aligned, its
// R_AARCH64_RELATIVE targets filled in as the boot code does, then profile_from_memory
// compared with the file route's profile of the same vmlinuz; the Image header
// unmapped (the kernel's final page tables), the relocation table gone (init memory
// freed: vmcoreinfo then, when the kernel's kallsyms name it), damaged memory.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "common/file.hpp"
#include "profile/arm64_image.hpp"
#include "profile/arm64_relocations.hpp"
#include "profile/guest_btf.hpp"
#include "profile/kernel_image.hpp"
#include "profile/memory_profile.hpp"
#include "sparse_memory.hpp"
#include "test_paths.hpp"

using namespace vmitrace;
using namespace vmitrace::profile;

namespace {

constexpr uint64_t kOffset = 0x3c0f70000ull;
constexpr uint64_t kVmcoreinfo = 0xffff000040123000ull;  // in the linear map, like the kernel's page

struct Lab {
  Profile file;
  test::SparseMemory memory;
  uint64_t text = 0;               // link-time _text
  uint64_t rela = 0, rela_len = 0;  // the relocation table: offset in the Image, bytes
  uint64_t btf = 0;                // offset of .BTF in the Image
  uint64_t image_file_size = 0;    // the Image's bytes (.bss follows, mapped in memory)
};

const Lab* lab(const std::string& series) {
  static std::map<std::string, std::unique_ptr<Lab>> cache;
  if (auto it = cache.find(series); it != cache.end()) return it->second.get();
  const std::string path = test::lab_kernel(series);
  if (!test::exists(path)) return cache.emplace(series, nullptr).first->second.get();
  auto l = std::make_unique<Lab>();
  l->file = build_linux_profile(path);
  l->text = *l->file.symbol("_text");
  Arm64Image img = read_arm64_image(read_file(path), path);
  std::vector<uint8_t> bytes = img.bytes;
  for (auto [off, value] : img.relocated)
    if (off + 8 <= bytes.size()) {
      value += kOffset;
      std::memcpy(&bytes[off], &value, 8);
    }
  l->memory.write(l->text + kOffset, bytes.data(), bytes.size());
  const RelativeRun run = longest_relative_run(img.bytes.data(), img.bytes.size());
  l->rela = run.at, l->rela_len = run.count * kRelaEntry;
  l->btf = find_btf_blob(img.bytes.data(), img.bytes.size()).value().offset;
  l->image_file_size = img.bytes.size();
  return cache.emplace(series, std::move(l)).first->second.get();
}

GuestMemory arm64_guest(const Lab& l, const test::SparseMemory& m) {
  GuestMemory g = m.guest(8, l.text + kOffset + 0x10000 + 0x4242);  // a pc in the text
  g.arm64 = true;
  return g;
}

void expect_equal_to_file_route(const Lab& l, const test::SparseMemory& m) {
  MemoryProfileInfo info;
  Profile mem = profile_from_memory(arm64_guest(l, m), "fake", &info);
  EXPECT_EQ(info.kaslr_offset, kOffset);
  EXPECT_EQ(mem.metadata.architecture, "arm64");
  EXPECT_EQ(*mem.symbol("_text"), l.text);
  mem.metadata.symbols_name = l.file.metadata.symbols_name;
  std::string a = to_isf_json(mem), b = to_isf_json(l.file);
  if (a != b) {
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    ADD_FAILURE() << "ISF differs at byte " << i << ": memory \"" << a.substr(i > 80 ? i - 80 : 0, 160)
                  << "\" file \"" << b.substr(i > 80 ? i - 80 : 0, 160) << "\"";
  }
}

// A table of `n` entries at 0x2000 whose targets (at 0x1000) hold addend + offset.
std::vector<uint8_t> relocated_copy(size_t n, uint64_t link, uint64_t offset) {
  std::vector<uint8_t> m(0x2000 + n * kRelaEntry + 0x100, 0);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t entry[3] = {link + 0x1000 + 8 * i, 1027, link + 16 * i + 8};
    std::memcpy(&m[0x2000 + kRelaEntry * i], entry, sizeof entry);
    const uint64_t value = entry[2] + offset;
    std::memcpy(&m[0x1000 + 8 * i], &value, 8);
  }
  return m;
}

class Arm64Memory : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    l_ = lab(GetParam());
    if (!l_) GTEST_SKIP() << "arm64 lab kernel absent (run guest/setup.sh): " << test::lab_kernel(GetParam());
  }
  std::string error_with(const std::function<void(test::SparseMemory&)>& damage) {
    test::SparseMemory m = l_->memory;
    damage(m);
    std::string e = test::error_of([&] { profile_from_memory(arm64_guest(*l_, m), "vm"); });
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    return e;
  }
  void wipe_relocations(test::SparseMemory& m) {
    std::vector<uint8_t> zeros(l_->rela_len);
    m.write(l_->text + kOffset + l_->rela, zeros.data(), zeros.size());
  }
  const Lab* l_ = nullptr;
};

}  // namespace

static std::optional<uint64_t> offset_of(const std::vector<uint8_t>& m, size_t n, uint64_t base) {
  return kaslr_offset_from_relocations(m.data(), n, base, longest_relative_run(m.data(), n));
}

TEST(Arm64Relocations, OffsetFromRelocatedTargets) {
  constexpr uint64_t kLink = 0xffff800080000000ull, kRunning = 0xffff8000c0e70000ull;
  std::vector<uint8_t> m = relocated_copy(100, kLink, kRunning - kLink);
  EXPECT_EQ(offset_of(m, m.size(), kRunning), kRunning - kLink);
  // Offset 0 (no KASLR) too.
  m = relocated_copy(100, kLink, 0);
  EXPECT_EQ(offset_of(m, m.size(), kLink), 0u);
  // Too short a table is no table; targets that disagree give no offset.
  m = relocated_copy(kMinRelativeRun - 1, kLink, kRunning - kLink);
  EXPECT_FALSE(offset_of(m, m.size(), kRunning));
  m = relocated_copy(100, kLink, kRunning - kLink);
  for (size_t i = 0; i < 100; i += 2) m[0x1000 + 8 * i] ^= 1;
  EXPECT_FALSE(offset_of(m, m.size(), kRunning));
  // Targets outside the copy (a copy that ends before them): none.
  m = relocated_copy(100, kLink, kRunning - kLink);
  EXPECT_FALSE(offset_of(m, m.size(), kRunning + 0x100000));
  EXPECT_FALSE(offset_of(m, 0, kRunning));
}

TEST_P(Arm64Memory, EqualsFileRoute) { expect_equal_to_file_route(*l_, l_->memory); }

// On the kernel's final page tables the head (Image header, 64 KiB) is unmapped: the
// copy starts at _stext.
TEST_P(Arm64Memory, HeadUnmapped) {
  test::SparseMemory m = l_->memory;
  for (uint64_t va = l_->text + kOffset; va < l_->text + kOffset + 0x10000; va += 4096) m.unmap(va);
  expect_equal_to_file_route(*l_, m);
}

// A kernel that has printed its banner holds it in .bss (inside the copy) too: in its
// log buffer as a record without the newline, in the console's line buffer with it
// (and the rest of a longer line): the profile's banner stays linux_banner's.
TEST_P(Arm64Memory, BannerAlsoInTheLogBuffer) {
  test::SparseMemory m = l_->memory;
  std::string record = l_->file.metadata.banner;
  ASSERT_EQ(record.back(), '\n');
  record.back() = '\x2a';  // the next record's header follows the text
  const uint64_t bss = l_->text + kOffset + l_->image_file_size + 0x2000;
  m.write(bss, record.data(), record.size());
  std::string line = l_->file.metadata.banner;
  line.insert(line.size() - 1, "2)");
  m.write(bss + 0x1000, line.c_str(), line.size() + 1);
  expect_equal_to_file_route(*l_, m);
}

// Init memory freed (a booted kernel): the relocation table is gone; a kernel whose
// kallsyms name vmcoreinfo_data (6.12) is read through vmcoreinfo's KERNELOFFSET, one
// without them (bookworm's 6.1) is refused in one line.
TEST_P(Arm64Memory, NoRelocationTable) {
  if (!l_->file.symbol("vmcoreinfo_data")) {
    std::string e = error_with([&](auto& m) { wipe_relocations(m); });
    EXPECT_NE(e.find("cannot tell the KASLR offset of Linux 6.1.0-"), std::string::npos) << e;
    EXPECT_NE(e.find("no relocation table"), std::string::npos) << e;
    EXPECT_NE(e.find("vmitrace profile IMAGE"), std::string::npos) << e;
    return;
  }
  test::SparseMemory m = l_->memory;
  wipe_relocations(m);
  char note[128];
  int n = std::snprintf(note, sizeof note, "OSRELEASE=x\nNUMBER(VA_BITS)=48\nKERNELOFFSET=%llx\n",
                        static_cast<unsigned long long>(kOffset));
  m.write(kVmcoreinfo, note, size_t(n) + 1);
  uint64_t ptr = kVmcoreinfo;
  m.write(*l_->file.symbol("vmcoreinfo_data") + kOffset, &ptr, 8);
  expect_equal_to_file_route(*l_, m);
  // A KERNELOFFSET that does not fit: refused.
  m.write(kVmcoreinfo, "KERNELOFFSET=1234\n", 19);
  std::string e = test::error_of([&] { profile_from_memory(arm64_guest(*l_, m), "vm"); });
  EXPECT_NE(e.find("does not fit _text"), std::string::npos) << e;
}

TEST_P(Arm64Memory, DamagedMemoryGivesOneLineErrors) {
  // The .BTF header overwritten: found by neither symbol nor shape.
  std::string e = error_with([&](auto& m) {
    m.write(l_->text + kOffset + l_->btf, "\0\0\0\0", 4);
  });
  EXPECT_TRUE(e.find("has no BTF in guest memory") != std::string::npos ||
              e.find("no valid BTF header at __start_BTF") != std::string::npos)
      << e;
  // Relocated targets that disagree with the table: no offset fits, as if it were gone.
  if (!l_->file.symbol("vmcoreinfo_data")) {
    e = error_with([&](auto& m) {
      for (uint64_t off = 0; off < l_->rela; off += 8) {
        uint64_t v = 0;
        if (m.read(l_->text + kOffset + off, &v, 8) == 8 && v >> 48 == 0xffff) {
          v ^= 0x10000;
          m.write(l_->text + kOffset + off, &v, 8);
        }
      }
    });
    EXPECT_NE(e.find("cannot tell the KASLR offset"), std::string::npos) << e;
  }
  // A pc below the kernel half, or nothing mapped there: retry later, or not Linux.
  test::SparseMemory empty;
  GuestMemory g = empty.guest(8, l_->text + kOffset);
  g.arm64 = true;
  EXPECT_THROW(profile_from_memory(g, "vm"), KernelNotMapped);
  g = l_->memory.guest(8, 0x40080000);
  g.arm64 = true;
  EXPECT_THROW(profile_from_memory(g, "vm"), KernelNotMapped);
}

INSTANTIATE_TEST_SUITE_P(Lab, Arm64Memory, ::testing::Values("arm64-6.1", "arm64-6.12"),
                         [](const auto& info) { return std::string(info.param == std::string("arm64-6.1") ? "k61" : "k612"); });
