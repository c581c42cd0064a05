// Finding ntoskrnl, the current thread and its process context. Every pointer comes
// from guest memory (hostile): each is range-checked before use and each read may
// fail, leaving the field marked (-1 / empty + flags) instead.
#include "os/windows/kernel.hpp"

#include <cstdio>
#include <cstring>
#include <span>

#include "os/windows/pe.hpp"

namespace vmitrace::oswin {
namespace {

constexpr uint64_t kPage = 4096;
constexpr unsigned kScanPages = 16384;  // 64 MiB below the IDT handler

bool read_u8(vmi::Vcpu& cpu, uint64_t va, uint8_t& out) { return cpu.read_virt(va, &out, 1) == 1; }

void copy_cstr(char* dst, size_t cap, const char* s) {
  std::memset(dst, 0, cap);
  std::strncpy(dst, s, cap - 1);
}

// Names for the well-known service SIDs (S-1-5-18/19/20); real user names live in
// the SAM, not in kernel memory, so other users are shown by their SID string.
const char* well_known_sid(const uint8_t* sid, size_t len) {
  if (len != 12) return nullptr;
  static constexpr uint8_t nt_authority[6] = {0, 0, 0, 0, 0, 5};
  if (sid[0] != 1 || sid[1] != 1 || std::memcmp(sid + 2, nt_authority, 6) != 0) return nullptr;
  uint32_t sub = 0;
  std::memcpy(&sub, sid + 8, 4);
  switch (sub) {
    case 18: return "SYSTEM";
    case 19: return "LOCAL SERVICE";
    case 20: return "NETWORK SERVICE";
    default: return nullptr;
  }
}

}  // namespace

void WideText::append(const uint8_t* p, size_t n) {
  if (n > kCap - len) {
    n = (kCap - len) & ~size_t{1};
    state = event::Capture::truncated;
  }
  std::memcpy(bytes + len, p, n);
  len += n;
}

void WideText::append_ascii(const char* s) {
  for (; *s; ++s) {
    const uint8_t w[2] = {static_cast<uint8_t>(*s), 0};
    append(w, 2);
  }
}

WindowsKernel::WindowsKernel(const profile::Profile& p, std::string what)
    : prof_(p), what_(std::move(what)), L_(resolve_layout(p, what_)) {
  // Per-event fields of each object, in windows of at most 512 bytes (Windows 10
  // x64: EPROCESS UniqueProcessId..ImageFileName, ~0x170 bytes, is one read; KTHREAD
  // Process and PreviousMode one, ETHREAD.Cid another, ~1 KiB further on).
  constexpr uint32_t kWindow = 512;
  const unsigned ptr = L_.ptr;
  // The last field of each list (the trap frame, the image path) is only worth a
  // place when it adds no window: otherwise it is read alone, when needed.
  const vmi::FieldSpan thread[] = {{L_.thread_cid_tid, ptr}, {L_.thread_previous_mode, 1}, {L_.thread_process, ptr},
                                   {L_.thread_trap_frame, ptr}};
  const vmi::FieldSpan process[] = {{L_.proc_pid, ptr},     {L_.proc_ppid, ptr},    {L_.proc_image_name, 15},
                                    {L_.proc_token, ptr},   {L_.proc_session, ptr}, {L_.proc_image_path, ptr}};
  const vmi::FieldSpan token[] = {{L_.token_session, 4}, {L_.token_user_and_groups, ptr}};
  auto plan_plus_one = [&](std::span<const vmi::FieldSpan> f) {
    const vmi::FieldWindows with = vmi::plan_field_windows(f, kWindow, kWindow);
    const vmi::FieldWindows without = vmi::plan_field_windows(f.first(f.size() - 1), kWindow, kWindow);
    return with.count > without.count ? without : with;
  };
  thread_win_ = plan_plus_one(thread);
  process_win_ = plan_plus_one(process);
  token_win_ = vmi::plan_field_windows(token, kWindow, kWindow);
  // A VAD node's children, range and subsection (Windows 10 x64: 0x00..0x50) and a
  // loaded-module entry's link, base and size: one read per node / entry walked.
  const uint32_t vpn = L_.vad_vpn_size;
  const vmi::FieldSpan vad[] = {{L_.vad_left, ptr},      {L_.vad_right, ptr},     {L_.vad_start, vpn},
                                {L_.vad_end, vpn},       {L_.vad_start_high, 1},  {L_.vad_end_high, 1},
                                {L_.vad_subsection, ptr}};
  const vmi::FieldSpan ldr[] = {{0, ptr}, {L_.ldr_base, ptr}, {L_.ldr_size, 4}};
  static_assert(kNone == vmi::kNoField);
  vad_win_ = vmi::plan_field_windows(vad, kWindow, kWindow);
  ldr_win_ = vmi::plan_field_windows(ldr, kWindow, kWindow);
  const vmi::FieldSpan trap[] = {{L_.trap_ip, ptr}, {L_.trap_sp, ptr}};
  trap_win_ = vmi::plan_field_windows(trap, kWindow, kWindow);
  const vmi::FieldSpan oa[] = {{L_.oa_root, ptr}, {L_.oa_name, ptr}};
  oa_win_ = vmi::plan_field_windows(oa, kWindow, kWindow);
}

bool WindowsKernel::is_kernel_pointer(uint64_t p) const {
  return kKernelSpace.contains(p, L_.ptr);
}

bool WindowsKernel::is_user_pointer(uint64_t p) const {
  return p >= 0x10000 && (L_.ptr == 8 ? p < 0x800000000000ull : p < 0x80000000ull);
}

bool WindowsKernel::read_ptr(vmi::Vcpu& cpu, uint64_t va, uint64_t& out) const {
  out = 0;
  if (L_.ptr == 8) return cpu.read_u64(va, out);
  uint32_t v = 0;
  if (!cpu.read_u32(va, v)) return false;
  out = v;
  return true;
}

// --- locating the kernel ----------------------------------------------------------

bool WindowsKernel::try_base(vmi::Vcpu& cpu, uint64_t base, std::string* error, bool* mismatch) {
  PeIdentity id;
  if (!read_pe_identity(cpu, base, id) || id.size_of_image == 0) return false;
  const auto& m = prof_.metadata;
  if (!m.pdb_guid.empty()) {
    if (id.pdb_guid.empty()) return false;  // debug record paged out: try again later
    if (id.pdb_guid != m.pdb_guid || id.pdb_age != m.pdb_age) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "profile is for kernel PDB %s age %u, the running kernel at 0x%llx is %s age %u",
                    m.pdb_guid.c_str(), m.pdb_age, static_cast<unsigned long long>(base),
                    id.pdb_guid.c_str(), id.pdb_age);
      if (error) *error = what_ + ": " + buf;
      *mismatch = true;
      return false;
    }
  }
  base_ = base;
  size_ = id.size_of_image;
  return true;
}

WindowsKernel::Locate WindowsKernel::locate(vmi::Vcpu& cpu, std::string* error) {
  if (base_) return Locate::found;
  uint64_t pcr = 0;
  if (L_.ptr == 8) {
    if (!cpu.read_reg(vmi::Reg::gs_base, pcr) || !is_kernel_pointer(pcr))
      cpu.read_reg(vmi::Reg::k_gs_base, pcr);  // before swapgs
  } else {
    cpu.read_reg(vmi::Reg::fs_base, pcr);
  }
  if (!is_kernel_pointer(pcr) || L_.pcr_idt == kNone) return Locate::retry;
  uint64_t idt = 0;
  if (!read_ptr(cpu, pcr + L_.pcr_idt, idt) || !is_kernel_pointer(idt)) return Locate::retry;
  // Vector 0 (divide error): a handler inside ntoskrnl.
  uint8_t gate[16] = {};
  const size_t gate_size = L_.ptr == 8 ? 16 : 8;
  if (cpu.read_virt(idt, gate, gate_size) != gate_size) return Locate::retry;
  uint64_t handler = uint64_t{gate[0]} | uint64_t{gate[1]} << 8 | uint64_t{gate[6]} << 16 |
                     uint64_t{gate[7]} << 24;
  if (L_.ptr == 8) {
    uint32_t high = 0;
    std::memcpy(&high, gate + 8, 4);
    handler |= uint64_t{high} << 32;
  }
  if (!is_kernel_pointer(handler)) return Locate::retry;

  bool mismatch = false;
  // The profile knows the handler's RVA: one try each, no scan.
  for (uint64_t rva : L_.rva_idt_handler) {
    if (rva == 0 || rva > handler || ((handler - rva) & (kPage - 1))) continue;
    if (try_base(cpu, handler - rva, error, &mismatch)) return Locate::found;
    if (mismatch) return Locate::mismatch;
  }
  // Else the nearest image below the handler.
  uint64_t page = handler & ~(kPage - 1);
  for (unsigned i = 0; i < kScanPages && page >= kPage; ++i, page -= kPage) {
    uint8_t mz[2] = {};
    if (cpu.read_virt(page, mz, 2) != 2 || mz[0] != 'M' || mz[1] != 'Z') continue;
    if (try_base(cpu, page, error, &mismatch)) {
      if (handler - base_ < size_) return Locate::found;
      base_ = size_ = 0;  // an image that does not contain the handler: keep looking
      continue;
    }
    if (mismatch) return Locate::mismatch;
  }
  if (++misses_ >= 64) {
    if (error) *error = what_ + ": no Windows kernel image (MZ with a CodeView record) found below the IDT handler";
    return Locate::mismatch;
  }
  return Locate::retry;
}

void WindowsKernel::find_file_type(vmi::Vcpu& cpu) {
  if (L_.rva_header_cookie) {
    uint8_t c = 0;
    if (read_u8(cpu, runtime(L_.rva_header_cookie), c)) {
      header_cookie_ = c;
      have_cookie_ = true;
    }
  }
  if (!L_.rva_type_index_table || L_.type_name == kNone) return;
  static constexpr uint8_t kFile[8] = {'F', 0, 'i', 0, 'l', 0, 'e', 0};
  for (int i = 2; i < 96; ++i) {
    uint64_t type = 0;
    if (!read_ptr(cpu, runtime(L_.rva_type_index_table) + i * L_.ptr, type) || !is_kernel_pointer(type))
      continue;
    WideText name;
    if (read_unicode_string(cpu, type + L_.type_name, name) && name.len == 8 &&
        std::memcmp(name.bytes, kFile, 8) == 0) {
      file_type_.store(i);
      return;
    }
  }
}

// --- current thread and process -------------------------------------------------------

uint64_t WindowsKernel::current_thread(vmi::Vcpu& cpu) const {
  uint64_t pcr = 0;
  const vmi::Reg r = L_.ptr == 8 ? vmi::Reg::gs_base : vmi::Reg::fs_base;
  if (!cpu.read_reg(r, pcr) || !is_kernel_pointer(pcr)) return 0;
  uint64_t thread = 0;
  if (!read_ptr(cpu, pcr + L_.pcr_current_thread, thread) || !is_kernel_pointer(thread)) return 0;
  return thread;
}

int64_t WindowsKernel::thread_id(vmi::Vcpu& cpu, uint64_t thread) const {
  uint64_t v = 0;
  return is_kernel_pointer(thread) && read_ptr(cpu, thread + L_.thread_cid_tid, v) ? static_cast<int64_t>(v) : -1;
}

void WindowsKernel::read_context(vmi::Vcpu& cpu, uint64_t thread, WinContext& out) const {
  out = WinContext{};
  out.thread = thread;
  if (!is_kernel_pointer(thread)) {
    out.flags |= event::kFlagContextUnknown | event::kFlagUserUnknown;
    return;
  }
  const unsigned ptr = L_.ptr;
  uint64_t v = 0;
  vmi::WindowedRead t(cpu, thread, thread_win_);
  if (t.get_uint(L_.thread_cid_tid, ptr, v)) out.tid = static_cast<int64_t>(v);
  if (t.get_uint(L_.thread_previous_mode, 1, v)) out.previous_mode = v ? 1 : 0;
  uint64_t proc = 0;
  if (!t.get_uint(L_.thread_process, ptr, proc) || !is_kernel_pointer(proc)) {
    out.flags |= event::kFlagContextUnknown | event::kFlagUserUnknown;
    return;
  }
  out.process = proc;
  // User callers' trap frame (FromModule); kernel callers have none worth reading.
  if (out.previous_mode == 1 && t.get_uint(L_.thread_trap_frame, ptr, v) && is_kernel_pointer(v)) out.trap_frame = v;
  vmi::WindowedRead p(cpu, proc, process_win_);
  if (p.get_uint(L_.proc_image_path, ptr, v) && is_kernel_pointer(v)) out.image_name_info = v;
  if (p.get_uint(L_.proc_pid, ptr, v)) out.pid = static_cast<int64_t>(v);
  else out.flags |= event::kFlagContextUnknown;
  if (p.get_uint(L_.proc_ppid, ptr, v)) out.ppid = static_cast<int64_t>(v);
  p.get(L_.proc_image_name, out.image_name, 15);  // untouched (empty) when unreadable

  // Session id from the primary token (EX_FAST_REF: low bits are a reference count),
  // else from the session space; the user SID names service accounts.
  uint64_t token = 0;
  if (p.get_uint(L_.proc_token, ptr, token)) {
    token &= ptr == 8 ? ~uint64_t{0xf} : ~uint64_t{0x7};
    if (is_kernel_pointer(token)) {
      vmi::WindowedRead tok(cpu, token, token_win_);
      if (tok.get_uint(L_.token_session, 4, v)) out.session = static_cast<int64_t>(v);
      uint64_t groups = 0, sid = 0;
      if (tok.get_uint(L_.token_user_and_groups, ptr, groups) && is_kernel_pointer(groups) &&
          read_ptr(cpu, groups, sid) && is_kernel_pointer(sid))
        read_user_sid(cpu, sid, out);
    }
  }
  if (out.session < 0 && L_.session_space_id != kNone) {
    uint64_t ss = 0;
    uint32_t id = 0;
    if (p.get_uint(L_.proc_session, ptr, ss) && is_kernel_pointer(ss) && cpu.read_u32(ss + L_.session_space_id, id))
      out.session = id;
  }
  if (out.session < 0) out.flags |= event::kFlagUserUnknown;
  else if (!out.user_name[0] && !out.user_sid_len)
    copy_cstr(out.user_name, sizeof out.user_name, "SessionID");
}

void WindowsKernel::read_user_sid(vmi::Vcpu& cpu, uint64_t sid, WinContext& out) const {
  // The longest SID in one read; its header (SubAuthorityCount, hostile) says how
  // much of it is the SID, all of which must have been read (a read stops only at
  // an unmapped page).
  uint8_t* b = out.user_sid;
  const size_t got = cpu.read_virt(sid, b, kMaxSidBytes);
  size_t len = 0;
  if (got >= 8 && b[0] == 1 && b[1] != 0 && b[1] <= kMaxSubAuthorities) len = 8 + 4 * size_t{b[1]};
  if (len > got) len = 0;
  std::memset(b + len, 0, kMaxSidBytes - len);  // nothing past the SID (or all of it when unread)
  if (!len) return;
  if (const char* n = well_known_sid(b, len)) {
    copy_cstr(out.user_name, sizeof out.user_name, n);
    std::memset(b, 0, len);
  } else {
    out.user_sid_len = static_cast<uint8_t>(len);
  }
}

bool WindowsKernel::image_path(vmi::Vcpu& cpu, const WinContext& ctx, WideText& out) const {
  // OBJECT_NAME_INFORMATION starts with its UNICODE_STRING.
  return ctx.image_name_info && read_unicode_string(cpu, ctx.image_name_info, out);
}

bool WindowsKernel::trap_frame(vmi::Vcpu& cpu, const WinContext& ctx, uint64_t& ip, uint64_t& sp) const {
  ip = sp = 0;
  if (!ctx.trap_frame) return false;
  vmi::WindowedRead tf(cpu, ctx.trap_frame, trap_win_);
  return tf.get_uint(L_.trap_ip, L_.ptr, ip) && tf.get_uint(L_.trap_sp, L_.ptr, sp);
}

bool WindowsKernel::read_unicode_string(vmi::Vcpu& cpu, uint64_t va, WideText& out) const {
  uint8_t us[16] = {};
  const size_t need = L_.us_buffer + L_.ptr;
  if (need > sizeof us || cpu.read_virt(va, us, need) != need) {
    out.state = event::Capture::unreadable;
    return false;
  }
  uint16_t length = 0;
  std::memcpy(&length, us + L_.us_length, 2);
  uint64_t buffer = 0;
  std::memcpy(&buffer, us + L_.us_buffer, L_.ptr);
  length &= ~uint16_t{1};
  if (length == 0) {
    if (out.state == event::Capture::none) out.state = event::Capture::ok;
    return true;
  }
  uint8_t chunk[512];
  size_t done = 0;
  while (done < length && out.len < WideText::kCap) {
    size_t n = std::min<size_t>({sizeof chunk, length - done, WideText::kCap - out.len});
    size_t got = cpu.read_virt(buffer + done, chunk, n) & ~size_t{1};
    out.append(chunk, got);
    done += got;
    if (got < n) break;
  }
  if (done == 0) {
    out.state = event::Capture::unreadable;
    return false;
  }
  if (done < length) out.state = event::Capture::truncated;
  else if (out.state == event::Capture::none || out.state == event::Capture::unreadable)
    out.state = event::Capture::ok;
  return true;
}

}  // namespace vmitrace::oswin
