// Entry capture for Windows services (see capture.hpp).
#include "syscalls/windows/capture.hpp"

#include <algorithm>
#include <cstring>

namespace vmitrace::syscalls::windows {
namespace {

using event::Extra;
using oswin::WideText;

constexpr unsigned kParentSlots = 4;  // stack slots searched for the next caller up

WideText& scratch(unsigned i) {
  static thread_local WideText t[2];
  return t[i];
}

void put_text(event::Builder& b, Extra tag, uint8_t arg, const WideText& t, const CaptureLimits& lim) {
  size_t len = std::min<size_t>(t.len, lim.text_bytes & ~1u);
  event::Capture st = t.state == event::Capture::none ? event::Capture::ok : t.state;
  if (len < t.len) st = event::Capture::truncated;
  b.add_extra(tag, arg, t.bytes, len, st);
}

// Lower-case ASCII of a UTF-16LE code unit (other characters unchanged).
uint16_t lower(uint16_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// The file name after the last backslash.
void base_name(const uint8_t* p, size_t len, const uint8_t** name, size_t* name_len) {
  size_t start = 0;
  for (size_t i = 0; i + 1 < len; i += 2)
    if (p[i] == '\\' && p[i + 1] == 0) start = i + 2;
  *name = p + start;
  *name_len = len - start;
}

bool same_base_name(const WideText& a, const WideText& b) {
  const uint8_t *na, *nb;
  size_t la, lb;
  base_name(a.bytes, a.len, &na, &la);
  base_name(b.bytes, b.len, &nb, &lb);
  if (la != lb) return false;
  for (size_t i = 0; i + 1 < la; i += 2)
    if (lower(uint16_t(na[i] | na[i + 1] << 8)) != lower(uint16_t(nb[i] | nb[i + 1] << 8))) return false;
  return true;
}

// Handles with no table entry: NULL, NtCurrentProcess (-1), NtCurrentThread (-2),
// and kernel handles (high bit) of the System process's table.
bool user_handle(uint64_t h, unsigned ptr_size) {
  if (ptr_size == 4) h = static_cast<uint32_t>(h);
  if (h == 0 || (h & 3)) return false;
  return h < 0x80000000ull;
}

}  // namespace

bool read_service_args(vmi::Vcpu& cpu, unsigned ptr_size, unsigned nargs, uint64_t* out) {
  nargs = std::min<unsigned>(nargs, event::kMaxArgs);
  uint64_t sp = 0;
  if (!cpu.read_reg(vmi::Reg::rsp, sp)) return false;
  if (ptr_size == 8) {
    static constexpr vmi::Reg regs[4] = {vmi::Reg::rcx, vmi::Reg::rdx, vmi::Reg::r8, vmi::Reg::r9};
    for (unsigned i = 0; i < nargs && i < 4; ++i)
      if (!cpu.read_reg(regs[i], out[i])) return false;
    if (nargs > 4) {
      const size_t n = (nargs - 4) * 8;
      return cpu.read_virt(sp + 0x28, out + 4, n) == n;
    }
    return true;
  }
  uint32_t v[event::kMaxArgs] = {};
  const size_t n = nargs * 4;
  if (cpu.read_virt((sp + 4) & 0xffffffffu, v, n) != n) return false;
  for (unsigned i = 0; i < nargs; ++i) out[i] = v[i];
  return true;
}

bool is_system_dll(const uint8_t* p, size_t len) {
  static constexpr const char* kDlls[] = {"gdi32.dll", "imm32.dll", "ntdll.dll",
                                          "user32.dll", "win32u.dll", "wow64win.dll"};
  const uint8_t* name;
  size_t n;
  base_name(p, len, &name, &n);
  for (const char* d : kDlls) {
    const size_t dl = std::strlen(d);
    if (n != dl * 2) continue;
    bool eq = true;
    for (size_t i = 0; i < dl && eq; ++i)
      eq = name[2 * i + 1] == 0 && lower(name[2 * i]) == static_cast<uint8_t>(d[i]);
    if (eq) return true;
  }
  return false;
}

void add_method(event::Builder& b, const Service& s) {
  b.add_extra(Extra::method, 0, s.name.data(), s.name.size());
}

void add_user_sid(event::Builder& b, const oswin::WinIdentity& who) {
  if (who.user_sid_len) b.add_extra(Extra::user_sid, 0, who.user_sid, who.user_sid_len);
}

void add_entry_extras(vmi::Vcpu& cpu, const oswin::WindowsKernel& k, const Service& s,
                      const oswin::WinContext& ctx, event::Builder& b, const CaptureLimits& lim) {
  add_method(b, s);
  add_user_sid(b, ctx);
  if (ctx.previous_mode >= 0) {
    const uint8_t m = static_cast<uint8_t>(ctx.previous_mode);
    b.add_extra(Extra::previous_mode, 0, &m, 1);
  }
  const unsigned ptr = k.pointer_size();

  // FromModule: where the service was called from. User callers: the trap frame's
  // instruction pointer (after the syscall instruction, in ntdll / win32u). Kernel
  // callers (Zw* and direct calls): the return address on the stack now.
  WideText& from = scratch(0);
  WideText& tmp = scratch(1);
  from.clear();
  uint64_t ip = 0, usp = 0;
  bool user = ctx.previous_mode == 1 && k.trap_frame(cpu, ctx, ip, usp);
  if (!user) {
    uint64_t sp = 0;
    if (cpu.read_reg(vmi::Reg::rsp, sp)) k.read_ptr(cpu, ptr == 8 ? sp : (sp & 0xffffffffu), ip);
  }
  if (ip && k.module_of(cpu, ctx.process, ip, from) && from.len) {
    put_text(b, Extra::from_module, 0, from, lim);
    // FromParentModule: the first return address on the caller's stack that lies in
    // another module (x64: [rsp] is the stub's caller; x86 has the stub's own call).
    if (user && is_system_dll(from.bytes, from.len)) {
      // The slots in one read (user memory: as many as are readable).
      uint8_t raw[kParentSlots * 8];
      const size_t n = cpu.read_virt(usp, raw, kParentSlots * ptr) / ptr;
      for (unsigned i = 0; i < n; ++i) {
        uint64_t slot = 0;
        std::memcpy(&slot, raw + i * ptr, ptr);  // little-endian guest and host
        tmp.clear();
        if (!k.is_user_pointer(slot) || !k.module_of(cpu, ctx.process, slot, tmp) || !tmp.len) continue;
        if (same_base_name(tmp, from)) continue;
        put_text(b, Extra::from_parent_module, 0, tmp, lim);
        break;
      }
    }
  }

  tmp.clear();
  if (k.image_path(cpu, ctx, tmp) && tmp.len) put_text(b, Extra::image_path, 0, tmp, lim);

  if (!s.info) return;
  const event::Record& r = b.rec();
  const unsigned n = std::min<unsigned>(s.info->nargs, r.nargs);
  for (unsigned i = 0; i < n; ++i) {
    const WinArgInfo& a = s.info->args[i];
    const uint64_t v = r.args[i];
    tmp.clear();
    switch (a.kind) {
      case WinArgKind::handle:
        if (user_handle(v, ptr) && k.handle_name(cpu, ctx.process, v, tmp) && tmp.len)
          put_text(b, Extra::handle_name, static_cast<uint8_t>(i), tmp, lim);
        break;
      case WinArgKind::unicode_string_ptr:
        if (!a.in() || v == 0) break;
        k.read_unicode_string(cpu, v, tmp);
        put_text(b, Extra::arg_text, static_cast<uint8_t>(i), tmp, lim);
        break;
      case WinArgKind::object_attributes_ptr: {
        if (v == 0) break;
        const auto& L = k.layout();
        uint64_t root = 0, name = 0;
        vmi::WindowedRead oa(cpu, v, k.object_attributes_windows());  // both in one read
        if (!oa.get_uint(L.oa_root, ptr, root) || !oa.get_uint(L.oa_name, ptr, name)) {
          tmp.state = event::Capture::unreadable;
          put_text(b, Extra::arg_text, static_cast<uint8_t>(i), tmp, lim);
          break;
        }
        // RootDirectory + "\" + ObjectName, as the object manager resolves it.
        if (root && user_handle(root, ptr) && k.handle_name(cpu, ctx.process, root, tmp) && tmp.len)
          tmp.append_ascii("\\");
        tmp.state = event::Capture::none;
        if (name) k.read_unicode_string(cpu, name, tmp);
        put_text(b, Extra::arg_text, static_cast<uint8_t>(i), tmp, lim);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace vmitrace::syscalls::windows
