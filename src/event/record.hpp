// The plain event record built on the vCPU thread and handed to the writer
// (through the shared-memory ring when capture runs inside QEMU). Fixed header,
// then the captured bytes of each argument, in argument order. Trivially copyable:
// no pointers, no allocation, the same layout in the QEMU plugin and the CLI.
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace vmitrace::event {

enum class Kind : uint8_t { syscall = 1, sysret = 2 };
// Which syscall table the number belongs to.
// linux_arm32: an AArch32 task on an arm64 kernel (arm EABI numbering).
enum class Abi : uint8_t {
  linux_x64 = 0, linux_ia32 = 1, win_nt = 2, win_win32k = 3, linux_arm64 = 4, linux_arm32 = 5
};
// The Linux tables (numbers the syscall tables in data/ describe).
constexpr bool is_linux(Abi a) {
  return a == Abi::linux_x64 || a == Abi::linux_ia32 || a == Abi::linux_arm64 || a == Abi::linux_arm32;
}
// A 32-bit process (i386 or AArch32): 32-bit registers, pointers and return values.
constexpr bool is_compat32(Abi a) { return a == Abi::linux_ia32 || a == Abi::linux_arm32; }
enum class Os : uint8_t { linux = 0, windows = 1 };
// State of the bytes captured for one argument.
enum class Capture : uint8_t {
  none = 0,        // nothing captured (not a pointer argument, or not asked)
  ok = 1,          // complete (strings: up to and excluding the NUL)
  truncated = 2,   // the limit was reached before the end
  unreadable = 3,  // the first byte could not be read (unmapped / paged out)
};

inline constexpr unsigned kMaxArgs = 18;     // Windows NT syscalls take up to 17
inline constexpr unsigned kCommLen = 16;     // TASK_COMM_LEN; Windows short names fit too
inline constexpr unsigned kModuleLen = 48;
inline constexpr size_t kMaxRecord = 64 * 1024;

struct Record {
  uint32_t size = 0;  // whole record: header + blobs, rounded up to 8
  Kind kind = Kind::syscall;
  Abi abi = Abi::linux_x64;
  Os os = Os::linux;
  uint8_t nargs = 0;
  uint32_t vcpu = 0;
  uint32_t nr = 0;             // syscall number in its table
  uint32_t flags = 0;          // see kFlag*
  uint64_t time_ns = 0;        // host wall clock at capture, ns since the epoch
  uint64_t cr3 = 0;
  int64_t pid = -1, ppid = -1, tid = -1, uid = -1;
  int64_t ret = 0;             // sysret only
  uint64_t args[kMaxArgs] = {};
  char process_name[kCommLen] = {};  // not necessarily NUL-terminated
  char thread_name[kCommLen] = {};
  char module[kModuleLen] = {};      // hooked function, e.g. "x64_sys_call"
  char user_name[32] = {};           // "root" for uid 0 on Linux; "" when the guest does not say
  uint16_t blob_len[kMaxArgs] = {};
  Capture blob_state[kMaxArgs] = {};
  uint8_t reserved[4] = {};

  static std::string_view fixed(const char* s, size_t n) { return {s, strnlen(s, n)}; }
  std::string_view process() const { return fixed(process_name, kCommLen); }
  std::string_view thread() const { return fixed(thread_name, kCommLen); }
  std::string_view module_name() const { return fixed(module, kModuleLen); }
  std::string_view user() const { return fixed(user_name, sizeof(user_name)); }
};
static_assert(std::is_trivially_copyable_v<Record>);
static_assert(sizeof(Record) % 8 == 0);

inline constexpr uint32_t kFlagUserUnknown = 1u << 0;   // uid could not be read
inline constexpr uint32_t kFlagContextUnknown = 1u << 1; // task could not be read
inline constexpr uint32_t kFlagArgsUnknown = 1u << 2;    // pt_regs unreadable: args are 0

// Extra fields: tagged values appended after the argument blobs, for what only some
// events carry (fd paths, output arguments at return, Windows module names...).
// Layout per extra: ExtraHeader then `len` bytes; a zero tag (the padding) ends the
// list. The formatter decides where each tag is printed.
enum class Extra : uint8_t {
  end = 0,
  fd_path = 1,             // arg = index of the fd argument; bytes = path text
  out_arg = 2,             // sysret: arg = index; bytes = what the kernel wrote there
  from_module = 3,         // Windows: module of the user-mode caller (path text)
  from_parent_module = 4,  // Windows: next caller up, when the first is a system DLL
  image_path = 5,          // Windows: full image path of the process
  previous_mode = 6,       // Windows: one byte, 0 = Kernel, 1 = User
  // 7 is retired (never produced); tags keep their numbers across versions
  method = 8,              // Windows: routine name (tables differ per build), e.g. "NtCreateFile"
  arg_text = 9,            // Windows: arg = index; decoded text (UNICODE_STRING, OBJECT_ATTRIBUTES)
  handle_name = 10,        // Windows: arg = index; name of the object a handle refers to
  user_sid = 11,           // Windows: the token's user SID (binary) when no name resolved
  ret_path = 12,           // Linux sysret: path of the fd the call returned (arg = 0)
};
struct ExtraHeader {
  Extra tag;
  uint8_t arg;
  uint16_t len;
  Capture state;  // as for blobs: ok / truncated / unreadable
  uint8_t pad[3];
};
static_assert(sizeof(ExtraHeader) == 8);

// Builds a record plus blobs in a caller-provided buffer (no allocation on the vCPU
// thread). Blobs must be appended in argument order.
class Builder {
 public:
  Builder(void* buf, size_t cap) : buf_(static_cast<uint8_t*>(buf)), cap_(cap) {
    std::memset(buf_, 0, sizeof(Record));
    new (buf_) Record();
    rec().size = sizeof(Record);
  }
  Record& rec() { return *reinterpret_cast<Record*>(buf_); }
  // Appends up to len bytes for argument i; returns how many fit.
  size_t add_blob(unsigned i, const void* data, size_t len, Capture state) {
    Record& r = rec();
    size_t room = cap_ > r.size ? cap_ - r.size : 0;
    if (len > room) { len = room; state = Capture::truncated; }
    if (len > 0xffff) { len = 0xffff; state = Capture::truncated; }
    std::memcpy(buf_ + r.size, data, len);
    r.blob_len[i] = static_cast<uint16_t>(len);
    r.blob_state[i] = state;
    r.size += static_cast<uint32_t>(len);
    return len;
  }
  // Appends a tagged extra after every blob (add all blobs first). Returns the bytes
  // of data kept (0 and nothing appended when not even the header fits).
  size_t add_extra(Extra tag, uint8_t arg, const void* data, size_t len,
                   Capture state = Capture::ok) {
    Record& r = rec();
    r.size = (r.size + 7u) & ~7u;  // headers stay 8-aligned
    size_t room = cap_ > r.size + sizeof(ExtraHeader) ? cap_ - r.size - sizeof(ExtraHeader) : 0;
    if (cap_ < r.size + sizeof(ExtraHeader)) return 0;
    if (len > room) { len = room; state = Capture::truncated; }
    if (len > 0xffff) { len = 0xffff; state = Capture::truncated; }
    ExtraHeader h{tag, arg, static_cast<uint16_t>(len), state, {}};
    std::memcpy(buf_ + r.size, &h, sizeof h);
    if (len) std::memcpy(buf_ + r.size + sizeof h, data, len);
    r.size += static_cast<uint32_t>(sizeof h + len);
    while (r.size % 8 && r.size < cap_) buf_[r.size++] = 0;
    return len;
  }
  // Pads to 8 and returns the total size.
  uint32_t finish() {
    Record& r = rec();
    while (r.size % 8 && r.size < cap_) buf_[r.size++] = 0;
    return r.size;
  }

 private:
  uint8_t* buf_;
  size_t cap_;
};

// Walks the blobs of a record that came through the ring (bounds-checked: a record
// is data, never trusted).
struct BlobView {
  const uint8_t* data = nullptr;
  size_t len = 0;
  Capture state = Capture::none;
};
// Fills out[kMaxArgs]; false if the lengths do not fit in rec.size.
inline bool blobs(const Record& r, BlobView* out) {
  size_t off = sizeof(Record);
  const auto* base = reinterpret_cast<const uint8_t*>(&r);
  for (unsigned i = 0; i < kMaxArgs; ++i) {
    if (off + r.blob_len[i] > r.size) return false;
    out[i] = {base + off, r.blob_len[i], r.blob_state[i]};
    off += r.blob_len[i];
  }
  return true;
}

// One extra of a record that came through the ring.
struct ExtraView {
  Extra tag = Extra::end;
  uint8_t arg = 0;
  Capture state = Capture::none;
  const uint8_t* data = nullptr;
  size_t len = 0;
};
// Calls fn(const ExtraView&) for each extra, in order; stops at the first header
// that does not fit in the record (a record is data, never trusted). False when the
// blob lengths themselves do not fit.
template <class Fn>
bool for_each_extra(const Record& r, Fn&& fn) {
  size_t off = sizeof(Record);
  for (unsigned i = 0; i < kMaxArgs; ++i) off += r.blob_len[i];
  if (off > r.size) return false;
  const auto* base = reinterpret_cast<const uint8_t*>(&r);
  off = (off + 7u) & ~size_t{7};
  while (off + sizeof(ExtraHeader) <= r.size) {
    ExtraHeader h;
    std::memcpy(&h, base + off, sizeof h);
    if (h.tag == Extra::end) break;
    off += sizeof h;
    if (off + h.len > r.size) break;
    fn(ExtraView{h.tag, h.arg, h.state, base + off, h.len});
    off = (off + h.len + 7u) & ~size_t{7};
  }
  return true;
}

}  // namespace vmitrace::event
