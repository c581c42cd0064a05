// A synthetic Windows guest laid out in memory with a profile's offsets (the real
// ISFs' or the synthetic one's): ntoskrnl's PE header with the profile's PDB GUID,
// KPCR/KPRCB, the current ETHREAD/EPROCESS, a token, an SSDT with encoded entries
// pointing at the profile's routine RVAs, a VAD tree mapping ntdll and kernelbase, a
// user stack, a handle table with a FILE_OBJECT and a named event, and the argument
// structures (UNICODE_STRING, OBJECT_ATTRIBUTES) of a few calls.
#pragma once
// Tests check that the profile names what the guest is laid out with; the fuzz
// targets (no gtest) define VMITRACE_GUEST_EXPECT before including this header.
#ifndef VMITRACE_GUEST_EXPECT
#include <gtest/gtest.h>
#define VMITRACE_GUEST_EXPECT(ok, what) EXPECT_TRUE(ok) << what
#endif

#include <map>
#include <string>
#include <vector>

#include "os/windows/layout.hpp"
#include "paged_memory.hpp"
#include "profile/profile.hpp"

namespace vmitrace::testing {

inline std::string utf16(const std::string& ascii) {
  std::string s;
  for (char c : ascii) s += c, s += '\0';
  return s;
}

// The 16 GUID bytes of an RSDS record for a GUID written as ISF metadata writes it.
inline std::vector<uint8_t> guid_bytes(const std::string& g) {
  auto b = [&](size_t i) { return static_cast<uint8_t>(std::stoul(g.substr(i, 2), nullptr, 16)); };
  return {b(6), b(4), b(2), b(0), b(10), b(8), b(14), b(12), b(16), b(18), b(20), b(22), b(24), b(26), b(28), b(30)};
}

struct WinAddrs {
  uint64_t kbase, kpcr, idt, thread, process, token, sid, groups, image_oni, handle_table, handle_page,
      file_header, event_header, dir_header, root_header, file_type, event_type, kstack, trap, ntdll, kernelbase,
      vad_ntdll, vad_kb, ustack, ubuf, session, ldr;
  uint64_t kimage_size;
  static WinAddrs for_ptr(unsigned ptr) {
    if (ptr == 8)
      return {0xfffff80312400000ull, 0xfffff8031f000000ull, 0xfffff8031f100000ull, 0xffffa50c11110080ull,
              0xffffa50c22220080ull, 0xffffc00133330060ull, 0xffffc00133331000ull, 0xffffc00133330f00ull,
              0xffffa50c22230000ull, 0xffffc00144440000ull, 0xffffc00144450000ull, 0xffffa50c33330040ull,
              0xffffa50c33340040ull, 0xffffa50c33350040ull, 0xffffa50c33360040ull, 0xffffa50c00001000ull,
              0xffffa50c00002000ull, 0xfffff50aa0284000ull, 0xfffff50aa0284800ull, 0x7ffb12340000ull,
              0x7ffb0fe00000ull, 0xffffa50c44440000ull, 0xffffa50c44441000ull, 0xe5c2aff000ull,
              0xe5c2a00000ull, 0xffffa50c55550000ull, 0xffffa50c66660000ull, 0x1000000};
    return {0x82a00000ull, 0x82b00000ull, 0x82b10000ull, 0x85111080ull, 0x85222080ull, 0x89333060ull,
            0x89334000ull, 0x89333f00ull, 0x85223000ull, 0x89444000ull, 0x89445000ull, 0x85333040ull,
            0x85334040ull, 0x85335040ull, 0x85336040ull, 0x85001000ull, 0x85002000ull, 0x8a284000ull,
            0x8a284800ull, 0x77e10000ull, 0x75500000ull, 0x85444000ull, 0x85445000ull, 0x0012f000ull,
            0x00120000ull, 0x85555000ull, 0x85666000ull, 0x1000000};
  }
};

class WinGuest {
 public:
  static constexpr uint8_t kCookie = 0x5a, kFileType = 0x25, kEventType = 0x10;
  static constexpr uint64_t kFileHandle = 0x44, kEventHandle = 0x48;
  static constexpr int64_t kPid = 4567, kPpid = 1000, kTid = 0x1234;
  static constexpr uint32_t kSession = 1;
  static constexpr uint64_t kNtdllSize = 0x1f0000, kKbSize = 0x2c0000;

  WinGuest(const profile::Profile& p, GuestMemory& m)
      : p_(p), m_(m), L(oswin::resolve_layout(p, "test profile")), ptr(L.ptr), a(WinAddrs::for_ptr(ptr)) {}

  uint64_t rva(const std::string& s) const {
    auto v = p_.symbol(s);
    VMITRACE_GUEST_EXPECT(v.has_value(), s);
    return v.value_or(0);
  }
  uint64_t runtime(const std::string& s) const { return a.kbase + rva(s); }
  uint64_t off(std::string_view type, std::string_view field) const {
    auto o = p_.field_offset(type, field);
    VMITRACE_GUEST_EXPECT(o.has_value(), type << "." << field);
    return o.value_or(0);
  }
  void wptr(uint64_t va, uint64_t v) { ptr == 8 ? m_.write_u64(va, v) : m_.write_u32(va, static_cast<uint32_t>(v)); }
  // A UNICODE_STRING at va whose buffer is at buf.
  void ustr(uint64_t va, uint64_t buf, const std::string& ascii) {
    const std::string w = utf16(ascii);
    m_.write_u16(va + L.us_length, static_cast<uint16_t>(w.size()));
    m_.write_u16(va + L.us_length + 2, static_cast<uint16_t>(w.size() + 2));
    wptr(va + L.us_buffer, buf);
    m_.write(buf, w.data(), w.size());
  }

  // --- the kernel image and its identity ------------------------------------------
  void image(const std::string& guid, uint32_t age, uint64_t base) {
    uint8_t h[0x400] = {};
    h[0] = 'M', h[1] = 'Z';
    const uint32_t pe = 0x80;
    std::memcpy(h + 0x3c, &pe, 4);
    std::memcpy(h + pe, "PE\0\0", 4);
    const uint16_t machine = ptr == 8 ? 0x8664 : 0x14c, magic = ptr == 8 ? 0x20b : 0x10b;
    std::memcpy(h + pe + 4, &machine, 2);
    const uint32_t opt = pe + 24;
    std::memcpy(h + opt, &magic, 2);
    const uint32_t size = static_cast<uint32_t>(a.kimage_size);
    std::memcpy(h + opt + 56, &size, 4);
    const uint32_t dirs = opt + (ptr == 8 ? 112 : 96);
    const uint32_t dbg_rva = 0x2000, dbg_size = 28;
    std::memcpy(h + dirs + 6 * 8, &dbg_rva, 4);
    std::memcpy(h + dirs + 6 * 8 + 4, &dbg_size, 4);
    m_.write(base, h, sizeof h);
    uint8_t d[28] = {};
    const uint32_t type = 2, cv = 0x2100;
    std::memcpy(d + 12, &type, 4);
    std::memcpy(d + 20, &cv, 4);
    m_.write(base + dbg_rva, d, sizeof d);
    std::vector<uint8_t> rsds = {'R', 'S', 'D', 'S'};
    auto g = guid_bytes(guid);
    rsds.insert(rsds.end(), g.begin(), g.end());
    for (int i = 0; i < 4; ++i) rsds.push_back(static_cast<uint8_t>(age >> (8 * i)));
    for (char c : std::string("ntkrnlmp.pdb")) rsds.push_back(static_cast<uint8_t>(c));
    rsds.push_back(0);
    m_.write(base + cv, rsds.data(), rsds.size());
  }

  // KPCR (GS/FS base) -> IDT gate 0 -> KiDivideErrorFault(Shadow); KPRCB.CurrentThread.
  void kpcr() {
    wptr(a.kpcr + L.pcr_idt, a.idt);
    const uint64_t handler = a.kbase + (L.rva_idt_handler[0] ? L.rva_idt_handler[0] : L.rva_idt_handler[1]);
    uint8_t gate[16] = {};
    gate[0] = handler & 0xff, gate[1] = (handler >> 8) & 0xff, gate[6] = (handler >> 16) & 0xff,
    gate[7] = (handler >> 24) & 0xff;
    const uint32_t high = static_cast<uint32_t>(handler >> 32);
    std::memcpy(gate + 8, &high, 4);
    m_.write(a.idt, gate, ptr == 8 ? 16 : 8);
    wptr(a.kpcr + L.pcr_current_thread, a.thread);
  }

  // The service table: index -> routine RVA (0: a routine with no symbol).
  void ssdt(const std::map<uint32_t, uint64_t>& routines, uint32_t limit, uint32_t stack_args_default = 0) {
    const uint64_t table = a.kbase + (p_.symbol("KiServiceTable").value_or(0x10000));
    const uint64_t argt = a.kbase + (p_.symbol("KiArgumentTable").value_or(0x11000));
    const uint64_t desc = a.kbase + L.rva_service_table;
    wptr(desc, table);
    wptr(desc + ptr, 0);
    m_.write_u32(desc + 2 * ptr, limit);
    wptr(desc + 3 * ptr, argt);
    for (uint32_t i = 0; i < limit; ++i) {
      auto it = routines.find(i);
      // Unnamed services: distinct addresses inside the image with no symbol.
      const uint64_t r = a.kbase + (it != routines.end() && it->second ? it->second : 0xf00000 + i * 16);
      const uint32_t stack = arg_bytes.count(i) ? arg_bytes.at(i) : stack_args_default;
      if (ptr == 8) {
        const int32_t e = static_cast<int32_t>(((r - table) << 4) | (stack / 8));
        m_.write_u32(table + i * 4, static_cast<uint32_t>(e));
      } else {
        m_.write_u32(table + i * 4, static_cast<uint32_t>(r));
      }
      m_.write_u8(argt + i, static_cast<uint8_t>(stack));
    }
  }
  std::map<uint32_t, uint32_t> arg_bytes;  // index -> stack argument bytes (set before ssdt())

  void process(const std::string& image_name, const std::string& image_path) {
    const uint64_t t = a.thread, pr = a.process;
    wptr(t + L.thread_cid_tid, kTid);
    wptr(t + L.thread_process, pr);
    m_.write_u8(t + L.thread_previous_mode, 1);
    wptr(t + L.thread_trap_frame, a.trap);
    wptr(pr + L.proc_pid, kPid);
    wptr(pr + L.proc_ppid, kPpid);
    char name[15] = {};
    std::memcpy(name, image_name.data(), std::min<size_t>(15, image_name.size()));
    m_.write(pr + L.proc_image_name, name, 15);
    wptr(pr + L.proc_image_path, a.image_oni);
    ustr(a.image_oni, a.image_oni + 0x40, image_path);
    // Token (EX_FAST_REF with a reference count in the low bits) -> session, user SID.
    wptr(pr + L.proc_token, a.token | 0x5);
    m_.write_u32(a.token + L.token_session, kSession);
    wptr(a.token + L.token_user_and_groups, a.groups);
    wptr(a.groups, a.sid);
    const uint8_t sid[16] = {1, 2, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xe9, 3, 0, 0};  // S-1-5-21-1001
    m_.write(a.sid, sid, sizeof sid);
    wptr(pr + L.proc_session, a.session);
    m_.write_u32(a.session + L.session_space_id, kSession);
  }

  // ntdll and kernelbase in the VAD tree (ntdll the root, kernelbase its left child).
  void vads(const std::string& ntdll_path, const std::string& kb_path) {
    vad(a.vad_ntdll, a.ntdll, kNtdllSize, ntdll_path, a.vad_kb, 0);
    vad(a.vad_kb, a.kernelbase, kKbSize, kb_path, 0, 0);
    wptr(a.process + L.proc_vad_root, a.vad_ntdll);
  }
  void vad(uint64_t node, uint64_t start, uint64_t size, const std::string& path, uint64_t left, uint64_t right) {
    wptr(node + L.vad_left, left);
    wptr(node + L.vad_right, right);
    const uint64_t s = start >> 12, e = (start + size - 1) >> 12;
    if (L.vad_vpn_size == 8) {
      m_.write_u64(node + L.vad_start, s);
      m_.write_u64(node + L.vad_end, e);
    } else {
      m_.write_u32(node + L.vad_start, static_cast<uint32_t>(s));
      m_.write_u32(node + L.vad_end, static_cast<uint32_t>(e));
      if (L.vad_start_high != oswin::kNone) m_.write_u8(node + L.vad_start_high, static_cast<uint8_t>(s >> 32));
      if (L.vad_end_high != oswin::kNone) m_.write_u8(node + L.vad_end_high, static_cast<uint8_t>(e >> 32));
    }
    const uint64_t sub = node + 0x200, ca = node + 0x300, fo = node + 0x400;
    wptr(node + L.vad_subsection, sub);
    wptr(sub + L.subsection_control_area, ca);
    wptr(ca + L.control_area_file, fo | 0x3);
    ustr(fo + L.file_name, fo + 0x200, path);
  }

  // A FILE_OBJECT (unnamed; its FileName) and a named event in \BaseNamedObjects.
  void objects(const std::string& file_name) {
    // Handle table, one level.
    wptr(a.process + L.proc_object_table, a.handle_table);
    wptr(a.handle_table + L.table_code, a.handle_page);
    handle_entry(kFileHandle, a.file_header);
    handle_entry(kEventHandle, a.event_header);
    // Types (ObTypeIndexTable) and the header cookie.
    if (L.rva_header_cookie) m_.write_u8(a.kbase + L.rva_header_cookie, kCookie);
    const uint64_t types = a.kbase + L.rva_type_index_table;
    wptr(types + kFileType * ptr, a.file_type);
    wptr(types + kEventType * ptr, a.event_type);
    ustr(a.file_type + L.type_name, a.file_type + 0x100, "File");
    ustr(a.event_type + L.type_name, a.event_type + 0x100, "Event");
    header(a.file_header, kFileType, 0);
    ustr(a.file_header + L.header_body + L.file_name, a.file_header + 0x400, file_name);
    // \BaseNamedObjects\TestEvent: event -> directory -> root directory "\".
    named(a.event_header, kEventType, "TestEvent", a.dir_header + L.header_body);
    named(a.dir_header, 3, "BaseNamedObjects", a.root_header + L.header_body);
    named(a.root_header, 3, "\\", 0);
  }
  void header(uint64_t h, uint8_t type, uint8_t info_mask) {
    uint8_t stored = type;
    if (L.rva_header_cookie) stored ^= kCookie ^ static_cast<uint8_t>(h >> 8);
    m_.write_u8(h + L.header_type_index, stored);
    m_.write_u8(h + L.header_info_mask, info_mask);
  }
  void named(uint64_t h, uint8_t type, const std::string& name, uint64_t directory) {
    header(h, type, 0x2);
    const uint64_t ni = h - L.name_info_size;
    wptr(ni + L.name_info_directory, directory);
    ustr(ni + L.name_info_name, h + 0x300, name);
  }
  void handle_entry(uint64_t handle, uint64_t hdr) {
    const uint64_t entry = a.handle_page + (handle >> 2) * L.handle_entry_size;
    if (L.handle_pointer_bits && ptr == 8)
      m_.write_u64(entry, ((hdr & 0x0000ffffffffffffull) >> 4) << L.handle_bits_pos | 1);
    else
      wptr(entry, hdr | 1);
  }

  GuestMemory& mem() { return m_; }
  const profile::Profile& p_;
  GuestMemory& m_;
  oswin::WinLayout L;
  unsigned ptr;
  WinAddrs a;
};

}  // namespace vmitrace::testing
