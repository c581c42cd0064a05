// Windows fields of the line layouts (see windows.hpp). Raw style stays DRAKVUF's:
// every argument in hex except UNICODE_STRING / OBJECT_ATTRIBUTES arguments, shown as
// their decoded text when the capture side read it. Rich style decodes the value by
// kind (access masks and flags by name, booleans, NTSTATUS, strings quoted).
#include "output/windows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "output/decode.hpp"
#include "output/escape.hpp"
#include "syscalls/tables/constants.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::output {
namespace {

using event::Capture;
using event::ExtraView;
using syscalls::windows::WinArgInfo;
using syscalls::windows::WinArgKind;

constexpr std::string_view kTruncated = "...";  // as for Linux strings, inside the quotes

bool has_text(const ExtraView& x) {
  return x.data != nullptr && (x.state == Capture::ok || x.state == Capture::truncated);
}

// A routine name is an identifier: anything else in the record is not trusted as one.
bool valid_method(const ExtraView& x) {
  if (!has_text(x) || x.len == 0 || x.len >= sizeof(WinView::method_buf)) return false;
  for (size_t i = 0; i < x.len; ++i) {
    unsigned char c = x.data[i];
    if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
      return false;
  }
  return true;
}

// The UTF-8 text of a UTF-16LE extra in a buffer reused per thread (no allocation
// once grown), cut at `limit` bytes (0: none) on a character boundary.
std::string_view utf8_of(const ExtraView& x, size_t limit, bool& truncated) {
  thread_local std::string buf;
  buf.clear();
  append_utf16le_as_utf8(buf, x.data, x.len);
  truncated = x.state == Capture::truncated;
  size_t n = buf.size();
  if (limit != 0 && n > limit) {
    n = limit;
    while (n > 0 && (static_cast<unsigned char>(buf[n]) & 0xC0) == 0x80) --n;
    truncated = true;
  }
  return {buf.data(), n};
}

// A text field (module paths, decoded arguments in raw style): "text" with the
// truncation marker inside the quotes, as raw Linux strings.
void text_value(Line& line, const ExtraView& x, size_t limit) {
  bool truncated;
  std::string_view s = utf8_of(x, limit, truncated);
  std::string& out = line.out();
  out += '"';
  append_escaped(out, s);
  if (truncated) out.append(kTruncated);
  out += '"';
}

void text_field(Line& line, std::string_view key, const ExtraView& x) {
  if (!has_text(x)) return;  // absent or unreadable: no key (never null)
  line.key(key);
  text_value(line, x, 0);
}

void previous_mode_field(Line& line, const ExtraView& x) {
  if (!has_text(x) || x.len < 1) return;
  line.key("PreviousMode");
  switch (x.data[0]) {
    case 0: line.str("Kernel"); break;
    case 1: line.str("User"); break;
    default: line.hex(x.data[0]); break;
  }
}

void context_fields(Line& line, const WinView& w) {
  previous_mode_field(line, w.previous_mode);
  text_field(line, "FromModule", w.from_module);
  text_field(line, "FromParentModule", w.from_parent_module);
  text_field(line, "ImagePath", w.image_path);
}

bool returns_ntstatus(const WinView& w) {
  return w.info == nullptr || std::strcmp(w.info->ret, "NTSTATUS") == 0;
}

void append_bool(std::string& out, uint64_t v) {
  if (v == 0) out.append("FALSE");
  else if (v == 1) out.append("TRUE");
  else decode::udec(out, v);
}

// Pseudo-handles (phnt's NtCurrentProcess() = -1 and friends, as 64-bit or 32-bit
// values) by name, NULL, else hex.
void append_handle(std::string& out, uint64_t v) {
  static constexpr std::string_view kPseudo[] = {
      "NtCurrentProcess", "NtCurrentThread", "NtCurrentSession", "NtCurrentProcessToken",
      "NtCurrentThreadToken", "NtCurrentThreadEffectiveToken"};
  if (v == 0) {
    out.append("NULL");
    return;
  }
  const uint64_t neg = v > 0xFFFFFFFFu ? ~v : (~v & 0xFFFFFFFFu);  // -1 -> 0, -2 -> 1...
  if (neg < std::size(kPseudo)) out.append(kPseudo[neg]);
  else decode::hex(out, v);
}

uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

// The rich text of one argument (the caller writes it as one string).
void render_rich(std::string& out, const WinArgInfo* ai, uint64_t v, const ExtraView& text,
                 const event::BlobView& blob, const FormatOptions& opt) {
  if (!ai) {
    decode::hex(out, v);
    return;
  }
  const bool captured =
      blob.data != nullptr && (blob.state == Capture::ok || blob.state == Capture::truncated);
  switch (ai->kind) {
    case WinArgKind::handle: append_handle(out, v); break;
    case WinArgKind::unicode_string_ptr:
    case WinArgKind::object_attributes_ptr:
      if (has_text(text)) {
        bool truncated;
        std::string_view s = utf8_of(text, opt.string_limit, truncated);
        decode::quoted(out, s, 0, truncated, decode::Escapes::utf8);
      } else {
        decode::ptr(out, v);
        if (v != 0 && text.data != nullptr && text.state == Capture::unreadable)
          out.append(" (unreadable)");
      }
      break;
    case WinArgKind::access_mask:
    case WinArgKind::flags:
      if (ai->set) decode::flags(out, *ai->set, v);
      else decode::hex(out, v);
      break;
    case WinArgKind::enum_:
      if (ai->set) decode::enumeration(out, *ai->set, v);
      else decode::hex(out, v);
      break;
    case WinArgKind::ulong: decode::udec(out, v); break;
    case WinArgKind::slong: decode::dec(out, decode::sign_extend(v, ai->bits)); break;
    case WinArgKind::boolean: append_bool(out, v); break;
    case WinArgKind::ntstatus: append_ntstatus_text(out, static_cast<uint32_t>(v)); break;
    case WinArgKind::large_integer_ptr:
      if (captured && blob.len >= 8) {
        out += '[';
        decode::dec(out, static_cast<int64_t>(load_le(blob.data, 8)));
        out += ']';
      } else {
        decode::ptr(out, v);
      }
      break;
    case WinArgKind::client_id_ptr:
      // CLIENT_ID: two pointer-sized ids (8 bytes each in a 64-bit process, 4 in a
      // 32-bit one: the captured length tells).
      if (captured && (blob.len == 16 || blob.len == 8)) {
        size_t half = blob.len / 2;
        out.append("{UniqueProcess=");
        decode::hex(out, load_le(blob.data, half));
        out.append(", UniqueThread=");
        decode::hex(out, load_le(blob.data + half, half));
        out += '}';
      } else {
        decode::ptr(out, v);
      }
      break;
    case WinArgKind::value: decode::hex(out, v); break;
    default: decode::ptr(out, v); break;  // pointers of every other kind
  }
}

void append_arg(Line& line, const WinArgInfo* ai, uint64_t raw, const ExtraView& text,
                const event::BlobView& blob, const FormatOptions& opt) {
  const uint64_t v = ai ? syscalls::mask_arg(raw, ai->bits) : raw;
  if (opt.args == ArgStyle::rich) {
    thread_local std::string buf;  // reused: no allocation once grown
    buf.clear();
    render_rich(buf, ai, v, text, blob, opt);
    line.str(buf);
    return;
  }
  const bool textual = ai && (ai->kind == WinArgKind::unicode_string_ptr ||
                              ai->kind == WinArgKind::object_attributes_ptr);
  if (textual && has_text(text)) text_value(line, text, opt.string_limit);
  else line.hex(v);
}

// "<key>_name" in a stack buffer (keys are short identifiers).
std::string_view name_key(char (&buf)[80], std::string_view key) {
  size_t n = std::min(key.size(), sizeof(buf) - 6);
  std::memcpy(buf, key.data(), n);
  std::memcpy(buf + n, "_name", 5);
  return {buf, n + 5};
}

unsigned nargs_of(const event::Record& r, const WinView& w) {
  if (w.info) return w.info->nargs;
  return std::min<unsigned>(r.nargs, event::kMaxArgs);
}

}  // namespace

void init_windows(const event::Record& r, WinView& w) {
  event::for_each_extra(r, [&w](const ExtraView& x) {
    auto once = [&x](ExtraView& slot) {
      if (slot.tag == event::Extra::end) slot = x;
    };
    switch (x.tag) {
      case event::Extra::method: once(w.method); break;
      case event::Extra::previous_mode: once(w.previous_mode); break;
      case event::Extra::from_module: once(w.from_module); break;
      case event::Extra::from_parent_module: once(w.from_parent_module); break;
      case event::Extra::image_path: once(w.image_path); break;
      case event::Extra::user_sid: once(w.user_sid); break;
      case event::Extra::arg_text:
        if (x.arg < event::kMaxArgs) once(w.arg_text[x.arg]);
        break;
      case event::Extra::handle_name:
        if (x.arg < event::kMaxArgs) once(w.handle_name[x.arg]);
        break;
      default: break;
    }
  });
  if (valid_method(w.method)) {
    w.method_name = {reinterpret_cast<const char*>(w.method.data), w.method.len};
    w.info = syscalls::windows::lookup_windows(w.method_name);
  } else {
    auto end = fmt::format_to_n(w.method_buf, sizeof(w.method_buf), "sys_{}", r.nr).out;
    w.method_name = std::string_view(w.method_buf, end - w.method_buf);
  }
  w.user_name = r.user();
  if (w.user_name.empty() && w.user_sid.tag == event::Extra::user_sid && w.user_sid.state == event::Capture::ok)
    w.user_name = format_sid({w.user_sid.data, w.user_sid.len}, w.user_buf);
  if (w.user_name.empty()) w.user_name = "SessionID";
}

std::string_view format_sid(std::span<const uint8_t> sid, char (&buf)[200]) {
  if (sid.size() < 12 || sid[0] != 1 || sid[1] == 0 || sid[1] > 15 ||
      sid.size() != 8 + 4 * size_t{sid[1]})
    return {};
  uint64_t authority = 0;  // 48 bits, big-endian
  for (int i = 2; i < 8; ++i) authority = authority << 8 | sid[i];
  auto out = authority >> 32 ? fmt::format_to_n(buf, sizeof buf, "S-1-0x{:012x}", authority)
                             : fmt::format_to_n(buf, sizeof buf, "S-1-{}", authority);
  for (size_t i = 0; i < sid[1]; ++i) {
    uint32_t sub = 0;  // little-endian in memory
    for (int k = 3; k >= 0; --k) sub = sub << 8 | sid[8 + 4 * i + k];
    out = fmt::format_to_n(out.out, sizeof buf - (out.out - buf), "-{}", sub);
  }
  return {buf, static_cast<size_t>(out.out - buf)};
}

std::string_view windows_user_name(const WinView& w) { return w.user_name; }

void append_windows_entry_fields(Line& line, const event::Record& r, const WinView& w,
                                 const FormatOptions& opt) {
  const unsigned n = nargs_of(r, w);
  line.field_dec("NArgs", n);
  context_fields(line, w);
  event::BlobView blobs[event::kMaxArgs] = {};
  const bool blobs_ok = event::blobs(r, blobs);
  char key_buf[16];
  char name_buf[80];
  for (unsigned i = 0; i < n; ++i) {
    const WinArgInfo* ai = w.info ? &w.info->args[i] : nullptr;
    std::string_view key;
    if (ai) {
      key = ai->name;
    } else {
      auto end = fmt::format_to_n(key_buf, sizeof(key_buf), "Arg{}", i).out;
      key = std::string_view(key_buf, end - key_buf);
    }
    line.key(key);
    event::BlobView blob{};
    if (blobs_ok && static_cast<uint8_t>(blobs[i].state) <= 3) blob = blobs[i];
    append_arg(line, ai, r.args[i], w.arg_text[i], blob, opt);
    if (has_text(w.handle_name[i])) {
      line.key(name_key(name_buf, key));
      text_value(line, w.handle_name[i], 0);
    }
  }
}

void append_windows_return_fields(Line& line, const event::Record& r, const WinView& w,
                                  const FormatOptions& opt) {
  const bool status = returns_ntstatus(w);
  // NTSTATUS is 32 bits wide; other return types (HWND, HANDLE...) keep the register.
  const uint64_t ret = status ? static_cast<uint32_t>(r.ret) : static_cast<uint64_t>(r.ret);
  line.field_hex("Ret", ret);
  line.key("Info");
  std::string& out = line.out();
  out += '"';
  // Raw style decodes every return value as an NTSTATUS, as DRAKVUF does; rich style
  // only those of routines declared to return one.
  if (status || opt.args == ArgStyle::raw) append_ntstatus_text(out, static_cast<uint32_t>(ret));
  out += '"';
  context_fields(line, w);
}

void append_ntstatus_text(std::string& out, uint32_t status) {
  std::string_view name = syscalls::windows::ntstatus_name(status);
  if (!name.empty()) {
    out.append(name);
    return;
  }
  static constexpr std::string_view kSeverity[] = {"SUCCESS", "INFO", "WARNING", "ERROR"};
  out.append(kSeverity[status >> 30]);
  out += ':';
  out += (status >> 29) & 1 ? '1' : '0';
  out += ':';
  std::string_view facility = syscalls::windows::ntstatus_facility_name((status >> 16) & 0xFFF);
  out.append(facility.empty() ? std::string_view("UNKNOWN") : facility);
  out += ':';
  decode::hex(out, status & 0xFFFF);
}

}  // namespace vmitrace::output
