// Signal structures of the rich style: signal sets and struct sigaction, as strace
// prints them.
#include <bit>

#include "output/decode.hpp"
#include "output/struct_bytes.hpp"

namespace vmitrace::output::decode {
namespace {

constexpr unsigned kNsig = 64;  // _NSIG on x86 (sigset_t is 8 bytes)

void sigset_bits(std::string& out, uint64_t set) {
  // At least half of the signals in the set: strace prints the ones that are not.
  if (std::popcount(set) >= static_cast<int>(kNsig / 2)) {
    out += '~';
    set = ~set;
  }
  out += '[';
  bool first = true;
  for (unsigned sig = 1; sig <= kNsig; ++sig) {
    if (!(set & (uint64_t{1} << (sig - 1)))) continue;
    if (!first) out += ' ';
    first = false;
    const syscalls::NamedValue* nv = syscalls::find_value(syscalls::consts::signals, sig);
    std::string_view name = nv ? nv->name : "";
    if (name.starts_with("SIG")) out.append(name.substr(3));
    else udec(out, sig);
  }
  out += ']';
}

}  // namespace

void sigset(std::string& out, std::string_view b) {
  uint64_t set = 0;
  if (!get(b, 0, set)) {
    out.append("[...]");
    return;
  }
  sigset_bits(out, set);
}

void sigaction(std::string& out, std::string_view b, unsigned ptr_size) {
  constexpr uint64_t kSaRestorer = 0x04000000;
  uint64_t handler = 0, flags_v = 0, restorer = 0, mask = 0;
  bool ok;
  if (ptr_size == 4) {  // compat: u32 handler, flags, restorer, then two u32 of mask
    uint32_t h = 0, f = 0, r = 0;
    ok = get(b, 0, h) && get(b, 4, f) && get(b, 8, r) && get(b, 12, mask);
    handler = h, flags_v = f, restorer = r;
  } else {
    ok = get(b, 0, handler) && get(b, 8, flags_v) && get(b, 16, restorer) && get(b, 24, mask);
  }
  if (!ok) {
    out.append("{...}");
    return;
  }
  out.append("{sa_handler=");
  if (handler == 0) out.append("SIG_DFL");
  else if (handler == 1) out.append("SIG_IGN");
  else hex(out, handler);
  out.append(", sa_mask=");
  sigset_bits(out, mask);
  out.append(", sa_flags=");
  flags(out, syscalls::consts::sa_flags, flags_v);
  if (flags_v & kSaRestorer) {
    out.append(", sa_restorer=");
    ptr(out, restorer);
  }
  out += '}';
}

}  // namespace vmitrace::output::decode
