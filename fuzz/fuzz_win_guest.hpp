// Windows guests for the fuzz targets: the tests' synthetic guest (WinGuest through
// BasicScenario, tests/tracer_windows/win_scenario.hpp) laid out once per profile
// (our synthetic x64 and x86 ISFs, and the real Windows ISFs of ../shared/data when
// present; each with a win32k module in session space and its shadow table
// descriptor, tests/tracer_windows/win32k_guest.hpp), then made hostile per input: up
// to 32 patches of arbitrary bytes or of pointers to other structures of the guest
// (the win32k descriptor, header and table among them), unmapped pages that read the
// input's bytes (wrapping, so that any pointer leads back into fuzzer data) unless
// they are holes, and holes punched into the guest's own pages. Writes made while an input
// runs (a call's arguments on the stack) go to the overlay too, so that every input
// starts from the same guest.
//
// Input: profile (u8), holes (u8), patch count (u8), the patches (anchor u8, offset
// u16, kind u8, then 1-16 bytes or a pointer anchor u8 + offset u8), then what the
// target reads.
#pragma once
#define VMITRACE_GUEST_EXPECT(ok, what) (void)(ok)

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "format_sink.hpp"
#include "fuzz_guest.hpp"
#include "profile/profile.hpp"
#include "win32k_guest.hpp"
#include "win_scenario.hpp"

namespace vmitrace::fuzz {

class WinFuzzMemory : public testing::GuestMemory {
 public:
  void write(uint64_t va, const void* data, size_t len) override {
    if (!frozen) return base.write(va, data, len);
    const auto* s = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < len; i += sizeof(Patch::bytes))
      patch(va + i, s + i, std::min(len - i, sizeof(Patch::bytes)));
  }
  void unmap(uint64_t va) override { base.unmap(va); }
  size_t read(uint64_t va, void* buf, size_t len) override {
    auto* out = static_cast<uint8_t*>(buf);
    const size_t done = in_.read(va, out, len, [&](uint64_t a, uint8_t* p, size_t n) { return base.read(a, p, n); });
    for (const Patch& p : patches_)  // later patches win
      for (size_t i = 0; i < p.n; ++i)
        if (p.va + i - va < done) out[p.va + i - va] = p.bytes[i];
    return done;
  }
  void reset(const uint8_t* data, size_t size, uint8_t holes) {
    in_ = {data, size, static_cast<uint8_t>(holes & 63), (holes & 64) != 0};
    patches_.clear();
  }
  void patch(uint64_t va, const uint8_t* bytes, size_t n) {
    if (patches_.size() >= kMaxPatches) return;
    Patch p{va, static_cast<uint8_t>(std::min(n, sizeof(Patch::bytes))), {}};
    std::memcpy(p.bytes, bytes, p.n);
    patches_.push_back(p);
  }

  testing::FlatMemory base;
  bool frozen = false;  // the guest is built: writes go to the overlay

 private:
  static constexpr size_t kMaxPatches = 256;
  struct Patch {
    uint64_t va;
    uint8_t n;
    uint8_t bytes[16];
  };
  std::vector<Patch> patches_;
  InputMemory in_;
};

using WinScenario = testing::BasicScenario<FormatSink>;

// One profile's guest, built once.
struct WinCase {
  std::unique_ptr<WinScenario> s;
  WinFuzzMemory* mem = nullptr;
  std::map<uint32_t, std::string> services;  // index -> routine name
  std::vector<std::pair<std::string, uint64_t>> w32_routines;  // win32k: name, address
  std::vector<uint64_t> anchors;             // addresses of the guest's structures
  uint64_t regs[static_cast<size_t>(vmi::Reg::count)] = {};  // the vCPU as built
};

inline std::string shared_data_dir() {
  if (const char* e = std::getenv("VMITRACE_SHARED_DATA"); e && std::filesystem::exists(e)) return e;
#ifdef VMITRACE_SHARED_DATA
  if (std::filesystem::exists(VMITRACE_SHARED_DATA)) return VMITRACE_SHARED_DATA;
#endif
  return "/work/shared/data";
}

inline WinCase build_case(const profile::Profile& p) {
  WinCase c;
  auto mem = std::make_unique<WinFuzzMemory>();
  c.mem = mem.get();
  c.s = std::make_unique<WinScenario>(p, std::move(mem));
  auto& g = c.s->g;
  if (g.ptr == 8) {
    c.services = {{0x0f, "NtClose"}, {0x33, "NtOpenFile"}, {0x55, "NtCreateFile"}, {0x0e, "NtSetEvent"},
                  {0x2c, "NtTerminateProcess"}, {0x03, "NtFlushWriteBuffer"}};
    g.arg_bytes = {{0x55, 7 * 8}, {0x33, 2 * 8}};
  } else {
    c.services = {{0x42, "NtCreateFile"}, {0x32, "NtClose"}, {0x30, "NtOpenFile"}, {0x0e, "NtSetEvent"},
                  {0x2c, "NtTerminateProcess"}};
    g.arg_bytes = {{0x42, 11 * 4}, {0x32, 4}, {0x30, 6 * 4}, {0x0e, 2 * 4}, {0x2c, 2 * 4}};
  }
  c.s->build(c.services, g.ptr == 8 ? 0xa0 : 0x50);
  c.s->create_file_args();  // its OBJECT_ATTRIBUTES and name, in user memory
  if (g.L.rva_shadow_table) {
    testing::win32k::descriptor(g, *c.mem);
    testing::win32k::map_image(p, *c.mem);
    for (const auto& r : testing::win32k::routines())
      c.w32_routines.emplace_back(r.name, testing::win32k::base(g.ptr) + r.rva);
  }
  const auto& a = g.a;
  static_assert(sizeof(testing::WinAddrs) % 8 == 0);
  c.anchors.resize(sizeof(testing::WinAddrs) / 8);
  std::memcpy(c.anchors.data(), &a, sizeof(testing::WinAddrs));
  const auto& L = g.L;
  for (uint64_t v : {a.kbase + L.rva_service_table, a.kbase + L.rva_type_index_table, a.ubuf + 0x100,
                     a.ubuf + 0x140, a.ubuf + 0x200, a.ustack + 0xa38, c.s->kernel_sp(),
                     a.handle_page + (testing::WinGuest::kFileHandle >> 2) * L.handle_entry_size,
                     a.vad_ntdll + 0x400, a.file_header + L.header_body, a.event_header + L.header_body})
    c.anchors.push_back(v);
  if (!c.w32_routines.empty())  // the shadow descriptor, win32k's header and table
    for (uint64_t v : {a.kbase + L.rva_shadow_table + 4 * g.ptr, testing::win32k::base(g.ptr),
                       testing::win32k::base(g.ptr) + testing::win32k::kTableRva})
      c.anchors.push_back(v);
  std::memcpy(c.regs, c.s->cpu.regs, sizeof c.regs);
  c.mem->frozen = true;
  return c;
}

// The profiles: synthetic x64 and x86, then the real ISFs that are present.
inline std::vector<WinCase>& win_cases() {
  static std::vector<WinCase> cases = [] {
    std::vector<profile::Profile> profs;
    profs.push_back(profile::Profile::parse(testing::synthetic_windows_isf(8), "windows.json"));
    profs.push_back(profile::Profile::parse(testing::synthetic_windows_isf(4), "windows32.json"));
    for (const char* f : {"ntkrnlmp-0B0A89438BE7729EB33FD00A7D6FA816-1.json.xz",
                          "ntkrnlmp-CA8E2F01B822EDE6357898BFBF862997-1.json.xz", "ntkrnlmp-win7sp1-7601.24540.json.xz"}) {
      const std::string path = shared_data_dir() + "/windows-isf/" + f;
      if (!std::filesystem::exists(path)) continue;
      // Their layouts whole, but only the symbols our own ISF names (what the tracer
      // reads, and the services the guest has): tens of thousands of symbols would
      // be copied and indexed by every tracer, at a few executions per second.
      profile::Profile p = profile::Profile::load(path);
      std::erase_if(p.symbols, [&](const auto& kv) {
        return !profs[0].symbols.count(kv.first) && kv.first != "KiDivideErrorFaultShadow";
      });
      profs.push_back(std::move(p));
    }
    std::vector<WinCase> v;
    for (auto& p : profs) v.push_back(build_case(p));
    return v;
  }();
  return cases;
}

// The win32k profile files (-W) of the guests' win32k module, x64 and x86: the right
// build, or (other_build) one whose PDB GUID differs. Written once per process,
// removed at exit.
struct Win32kProfiles {
  std::string dir, paths[4];  // [x86 * 2 + other_build]
  Win32kProfiles() {
    dir = std::filesystem::temp_directory_path().string() + "/vmitrace-fuzz-w32k-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    for (unsigned i = 0; i < 4; ++i) {
      paths[i] = dir + "/win32k" + std::to_string(i) + ".json";
      std::ofstream(paths[i]) << testing::win32k::isf(i & 1 ? "00000000000000000000000000000042"
                                                            : testing::win32k::kGuid, i & 2 ? 4 : 8);
    }
  }
  ~Win32kProfiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};
inline const std::string& win32k_profile_path(unsigned ptr, bool other_build) {
  static const Win32kProfiles files;
  return files.paths[(ptr == 4 ? 2 : 0) + (other_build ? 1 : 0)];
}

// Builds every case (loads the real ISFs): the targets' set-up.
inline void setup_win_cases() { win_cases(); }

// Reads the input's header, resets the guest to it and applies the patches.
inline WinCase& begin_input(InputReader& in, const uint8_t* data, size_t size) {
  auto& cases = win_cases();
  WinCase& c = cases[in.u8() % cases.size()];
  c.mem->reset(data, size, in.u8());
  std::memcpy(c.s->cpu.regs, c.regs, sizeof c.regs);
  const unsigned npatch = in.u8() % 33;
  const unsigned ptr = c.s->g.ptr;
  for (unsigned i = 0; i < npatch && in.n >= 4; ++i) {
    const uint64_t at = c.anchors[in.u8() % c.anchors.size()];
    const uint16_t off = static_cast<uint16_t>(in.u8() | in.u8() << 8);
    const uint64_t va = at + (off & 0x1fff) - 0x1000;
    const uint8_t kind = in.u8();
    if (kind & 0x80) {  // a pointer to (near) another structure, with EX_FAST_REF-like low bits
      const uint64_t to = c.anchors[in.u8() % c.anchors.size()] + static_cast<int8_t>(in.u8()) + (kind & 7);
      c.mem->patch(va, reinterpret_cast<const uint8_t*>(&to), ptr);
    } else {
      const size_t n = std::min<size_t>((kind & 15) + 1, in.n);
      c.mem->patch(va, in.p, n);
      in.p += n, in.n -= n;
    }
  }
  return c;
}

// A value from the input: raw, or (top bit of the selector) near an anchor.
inline uint64_t pick_value(InputReader& in, const WinCase& c) {
  const uint8_t sel = in.u8();
  const uint64_t v = in.u64();
  if (!(sel & 0x80)) return v;
  return c.anchors[sel % c.anchors.size()] + (v & 0xfff);
}

// The calls of the seeds: the tests' seed example (NtCreateFile on
// \??\C:\Users\test\document.txt) and its return, NtClose on the file handle and
// its failure, NtSetEvent on the named event. A return pops `pop` bytes (x86 stdcall).
struct SeedCall {
  bool ret;
  std::string name;
  std::vector<uint64_t> values;  // arguments, or the status
  uint32_t pop = 0;
};
inline std::vector<SeedCall> seed_calls(WinCase& c) {
  const auto& g = c.s->g;
  auto pop = [&](uint32_t index) { return g.ptr == 4 && g.arg_bytes.count(index) ? g.arg_bytes.at(index) : 0u; };
  auto index = [&](const std::string& name) {
    for (auto& [i, n] : c.services)
      if (n == name) return i;
    return 0u;
  };
  return {{false, "NtCreateFile", c.s->create_file_args(), 0},
          {true, "", {0}, pop(index("NtCreateFile"))},
          {false, "NtClose", {testing::WinGuest::kFileHandle}, 0},
          {true, "", {0xc0000008}, pop(index("NtClose"))},
          {false, "NtSetEvent", {testing::WinGuest::kEventHandle, 0}, 0}};
}

// The header of an input with no patches for case `profile` (seeds).
inline std::vector<uint8_t> seed_header(uint8_t profile, uint8_t holes = 0) { return {profile, holes, 0}; }

}  // namespace vmitrace::fuzz
