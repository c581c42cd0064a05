// The memory route without a guest: the lab kernel's vmlinux laid out in a fake guest
// memory at a KASLR slide (its allocated sections at link address + slide,
// kallsyms_relative_base relocated as the boot code does, vmcoreinfo saying
// KERNELOFFSET), then profile_from_memory compared with the file route's profile of
// the same image; and what a damaged memory gives.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <cstring>
#include <map>

#include "common/file.hpp"
#include "profile/bzimage.hpp"
#include "profile/elf.hpp"
#include "profile/kernel_image.hpp"
#include "os/linux/profile_probe.hpp"
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
  EXPECT_EQ(p.symbols.size(), 6u);
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

// ---- oslinux::ProfileProbe: the memory route as backends run it ----------------

namespace {

// A vCPU in kernel mode over a test's memory (paging on unless told otherwise).
class MemoryVcpu : public vmi::Vcpu {
 public:
  explicit MemoryVcpu(const test::SparseMemory& m) : m_(m) {}
  unsigned index() const override { return 0; }
  bool read_reg(vmi::Reg r, uint64_t& out) override {
    out = r == vmi::Reg::cr0 ? cr0 : r == vmi::Reg::rip ? 0xffffffff81000000ull : 0;
    return true;
  }
  size_t read_virt(uint64_t va, void* buf, size_t len) override {
    ++reads;
    return m_.read(va, buf, len);
  }
  uint64_t timestamp_ns() override { return 0; }
  unsigned pointer_size() const override { return 8; }
  uint64_t cr0 = 0x80050033;
  uint64_t reads = 0;

 private:
  const test::SparseMemory& m_;
};

using Step = oslinux::ProfileProbe::Step;

// Offers until the probe is done or failed, at least 2 ms apart (it looks at
// vmcoreinfo at most once a millisecond), at most n times.
Step offer_until_settled(oslinux::ProfileProbe& probe, vmi::Vcpu& cpu, int n = 5) {
  Step s = Step::retry;
  for (int i = 0; i < n && s == Step::retry; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    s = probe.offer(cpu);
  }
  return s;
}

}  // namespace

// Early boot as the QEMU module meets it: the image is there, vmcoreinfo not yet, then
// being written (no KERNELOFFSET line yet), then whole: the probe waits through both
// and gives the file route's profile, saved in the cache; a second probe of the same
// kernel takes it from the cache without waiting for vmcoreinfo at all.
TEST(ProfileProbe, WaitsForVmcoreinfoThenCaches) {
  const Lab* l = lab("6.1");
  if (!l) GTEST_SKIP() << "lab kernel absent: " << test::lab_kernel("6.1") << " (guest/setup.sh)";
  test::TempDir cache;
  test::SparseMemory m = l->memory;
  const uint64_t slot = *l->file.symbol("vmcoreinfo_data") + kSlide;
  uint64_t zero = 0, note = kVmcoreinfo;
  m.write(slot, &zero, 8);
  MemoryVcpu cpu(m);
  oslinux::ProfileProbe probe({"vm", true, cache.path(), ""});
  cpu.cr0 = 0x10;  // paging off: firmware, nothing read
  EXPECT_EQ(probe.offer(cpu), Step::retry);
  EXPECT_EQ(cpu.reads, 0u);
  cpu.cr0 = 0x80050033;
  EXPECT_EQ(offer_until_settled(probe, cpu, 3), Step::retry);  // no vmcoreinfo yet
  m.write(kVmcoreinfo, "OSRELEASE=6.1\n\0", 15);  // being written: no KERNELOFFSET line yet
  m.write(slot, &note, 8);
  EXPECT_EQ(offer_until_settled(probe, cpu, 3), Step::retry);
  // A previous boot's note (another slide): its SYMBOL(_stext) is not the running one.
  m.write(kVmcoreinfo, "SYMBOL(_stext)=ffffffff81000000\nKERNELOFFSET=0\n\0", 47);
  EXPECT_EQ(offer_until_settled(probe, cpu, 3), Step::retry);
  char text[160];
  int n = std::snprintf(text, sizeof text, "OSRELEASE=x\nSYMBOL(_stext)=%llx\nKERNELOFFSET=%llx\n",
                        static_cast<unsigned long long>(*l->file.symbol("_stext") + kSlide),
                        static_cast<unsigned long long>(kSlide));
  m.write(kVmcoreinfo, text, size_t(n) + 1);
  ASSERT_EQ(offer_until_settled(probe, cpu), Step::done) << probe.error();
  EXPECT_FALSE(probe.from_cache());
  EXPECT_NE(probe.summary().find("profile from guest memory: Linux 6.1.0-"), std::string::npos) << probe.summary();
  EXPECT_NE(probe.summary().find("saved as " + probe.cache_path()), std::string::npos) << probe.summary();
  Profile built = probe.take();
  EXPECT_EQ(built.symbols.size(), l->file.symbols.size());
  EXPECT_EQ(*built.symbol("_text"), l->text);
  ASSERT_TRUE(std::filesystem::exists(probe.cache_path()));
  EXPECT_EQ(std::filesystem::path(probe.cache_path()).filename().string().rfind("linux-6.1.0-", 0), 0u);

  // The next boot of the same kernel (vmcoreinfo not set up): the cached profile.
  test::SparseMemory early = l->memory;
  early.write(slot, &zero, 8);
  MemoryVcpu cpu2(early);
  oslinux::ProfileProbe again({"vm", true, cache.path(), ""});
  ASSERT_EQ(again.offer(cpu2), Step::done) << again.error();
  EXPECT_TRUE(again.from_cache());
  EXPECT_EQ(again.cache_path(), probe.cache_path());
  EXPECT_NE(again.summary().find("(cached, Linux 6.1.0-"), std::string::npos) << again.summary();
  Profile cached = again.take();
  built.metadata.symbols_name = cached.metadata.symbols_name;
  EXPECT_EQ(to_isf_json(cached), to_isf_json(built));

  // A damaged cache file: built again (vmcoreinfo needed again) and replaced.
  cache.file(std::filesystem::path(probe.cache_path()).filename().string(), std::string("{not json"));
  oslinux::ProfileProbe third({"vm", true, cache.path(), ""});
  ASSERT_EQ(offer_until_settled(third, cpu), Step::done) << third.error();
  EXPECT_FALSE(third.from_cache());
  EXPECT_NE(third.summary().find("the cached one was unreadable"), std::string::npos) << third.summary();
  EXPECT_NO_THROW(Profile::load(third.cache_path()));
}

// The gdbstub route (no waiting): vmcoreinfo not set up is a one-line error (a note
// without KERNELOFFSET is one too: MemoryProfile.DamagedMemoryGivesOneLineErrors).
TEST(ProfileProbe, NoKaslrOffsetIsAnError) {
  const Lab* l = lab("6.1");
  if (!l) GTEST_SKIP() << "lab kernel absent: " << test::lab_kernel("6.1") << " (guest/setup.sh)";
  test::SparseMemory m = l->memory;
  uint64_t zero = 0;
  m.write(*l->file.symbol("vmcoreinfo_data") + kSlide, &zero, 8);
  MemoryVcpu cpu(m);
  oslinux::ProfileProbe probe({"vm", false, "", "through the stub"});
  ASSERT_EQ(probe.offer(cpu), Step::failed);
  EXPECT_NE(probe.error().find("vmcoreinfo is not set up yet"), std::string::npos) << probe.error();
  EXPECT_EQ(probe.error().find('\n'), std::string::npos);
}

// Nothing mapped where a Linux kernel must be: retried (KPTI user page tables), then
// "not a Linux guest?" after a bounded number of offers.
TEST(ProfileProbe, NotLinuxAfterBoundedOffers) {
  test::SparseMemory empty;
  MemoryVcpu cpu(empty);
  oslinux::ProfileProbe probe({"vm", true, "", ""});
  int offers = 0;
  Step s = Step::retry;
  while (s == Step::retry && offers < 1000) s = probe.offer(cpu), ++offers;
  EXPECT_EQ(s, Step::failed);
  EXPECT_LE(offers, 50);
  EXPECT_NE(probe.error().find("not a Linux guest?"), std::string::npos) << probe.error();
}
