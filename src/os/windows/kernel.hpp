// The Windows guest kernel as the tracer sees it: where ntoskrnl is (and that it is
// the build the profile describes), which thread runs on a vCPU, its process context,
// and the names behind handles and code addresses. Offsets come from the profile once
// (WinLayout); the hot path reads guest memory with bounded reads only, no allocation.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "event/record.hpp"
#include "os/windows/layout.hpp"
#include "profile/profile.hpp"
#include "vmi/field_windows.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::oswin {

// A SID in memory: revision 1, SubAuthorityCount (at most 15), 6-byte authority,
// then the sub-authorities (32 bits each).
inline constexpr size_t kMaxSubAuthorities = 15;
inline constexpr size_t kMaxSidBytes = 8 + 4 * kMaxSubAuthorities;

// Who made a call, as carried in every event record: what a syscall's pending entry
// keeps for its sysret (the same thread's context, read once at the entry).
struct WinIdentity {
  int64_t pid = -1, ppid = -1, tid = -1, session = -1;
  char image_name[event::kCommLen] = {};  // EPROCESS.ImageFileName (15 chars max)
  char user_name[32] = {};           // well-known SIDs by name; else "SessionID" when no
                                     // user SID was read
  uint8_t user_sid[kMaxSidBytes] = {};  // the token's user SID when not well-known
  uint8_t user_sid_len = 0;             // (binary, as in memory); 0: none
  uint32_t flags = 0;                // event::kFlag*
};

// Process context of the current thread: the identity plus what the entry's
// captures walk from (thread and process objects, previous mode).
struct WinContext : WinIdentity {
  uint64_t thread = 0, process = 0;  // KTHREAD / EPROCESS addresses (0: unknown)
  int previous_mode = -1;            // 0 Kernel, 1 User, -1 unknown
  // Read with the thread and process windows (0: none): KTHREAD.TrapFrame and
  // EPROCESS.SeAuditProcessCreationInfo.ImageFileName (OBJECT_NAME_INFORMATION*).
  uint64_t trap_frame = 0, image_name_info = 0;
};

// A UTF-16LE text read from the guest (bytes, not characters).
struct WideText {
  static constexpr size_t kCap = 2048;
  uint8_t bytes[kCap];
  size_t len = 0;
  event::Capture state = event::Capture::none;
  void clear() { len = 0; state = event::Capture::none; }
  // Appends raw UTF-16LE bytes (truncating at kCap).
  void append(const uint8_t* p, size_t n);
  void append_ascii(const char* s);
};

// Where Windows runs kernel code: x64's canonical upper half; x86 from 0x80000000
// (system space starts at 0xc0000000 instead when booted with /3GB, or anywhere in
// between with /USERVA: this range covers them all). Given to
// Backend::when_in_kernel; also the tracer's test for kernel pointers.
inline constexpr vmi::KernelSpace kKernelSpace{vmi::kUpperHalf, {0x80000000ull, 0xffffffffull}};

class WindowsKernel {
 public:
  WindowsKernel(const profile::Profile& p, std::string what);

  const profile::Profile& profile() const { return prof_; }
  const WinLayout& layout() const { return L_; }
  const std::string& what() const { return what_; }
  unsigned pointer_size() const { return L_.ptr; }

  // --- start-up --------------------------------------------------------------
  enum class Locate { found, retry, mismatch };
  // From a vCPU in kernel mode: KPCR -> IDT vector 0 -> the ntoskrnl image around it;
  // compares its PDB GUID/age with the profile's. `mismatch`: *error says why.
  Locate locate(vmi::Vcpu& cpu, std::string* error);
  bool located() const { return base_ != 0; }
  uint64_t base() const { return base_; }
  uint64_t image_size() const { return size_; }
  void set_base(uint64_t base, uint64_t size) { base_ = base; size_ = size; }  // tests
  uint64_t runtime(uint64_t rva) const { return base_ + rva; }
  bool in_kernel_image(uint64_t va) const { return va >= base_ && va - base_ < size_; }
  bool is_kernel_pointer(uint64_t p) const;
  bool is_user_pointer(uint64_t p) const;
  // After locate: the object type index of "File" (scanned from ObTypeIndexTable).
  void find_file_type(vmi::Vcpu& cpu);

  // --- hot path ----------------------------------------------------------------
  bool read_ptr(vmi::Vcpu& cpu, uint64_t va, uint64_t& out) const;
  uint64_t current_thread(vmi::Vcpu& cpu) const;  // 0 when unreadable
  // KTHREAD, EPROCESS and TOKEN fields each come in one read when the profile's
  // offsets lie close together (windows planned at construction), field by field
  // otherwise: 6 reads on Windows 10 x64 (thread x2, process, token, SID pointer,
  // SID; plus the session space when the token has no session).
  void read_context(vmi::Vcpu& cpu, uint64_t thread, WinContext& out) const;
  // ETHREAD.Cid.UniqueThread: one read (-1 when unreadable). At a return, tells the
  // entry's thread from a recycled thread object at the same address.
  int64_t thread_id(vmi::Vcpu& cpu, uint64_t thread) const;
  const vmi::FieldWindows& thread_windows() const { return thread_win_; }
  const vmi::FieldWindows& process_windows() const { return process_win_; }
  const vmi::FieldWindows& token_windows() const { return token_win_; }
  const vmi::FieldWindows& vad_windows() const { return vad_win_; }
  // OBJECT_ATTRIBUTES RootDirectory + ObjectName (an argument: user memory).
  const vmi::FieldWindows& object_attributes_windows() const { return oa_win_; }
  // Full image path of the context's process (SeAuditProcessCreationInfo.ImageFileName),
  // UTF-16LE.
  bool image_path(vmi::Vcpu& cpu, const WinContext& ctx, WideText& out) const;
  // The context thread's trap frame -> the caller's instruction and stack pointers
  // (one read).
  bool trap_frame(vmi::Vcpu& cpu, const WinContext& ctx, uint64_t& ip, uint64_t& sp) const;
  // The UNICODE_STRING at va (a user or kernel pointer); appends to out.
  bool read_unicode_string(vmi::Vcpu& cpu, uint64_t va, WideText& out) const;
  // Name of the object behind a handle of `process`: the object's name (with its
  // directory path), or a FILE_OBJECT's file name. Appends to out.
  bool handle_name(vmi::Vcpu& cpu, uint64_t process, uint64_t handle, WideText& out) const;
  // Module containing a code address: the mapped file of the VAD (user addresses),
  // or the loaded kernel module's full name. Appends to out.
  bool module_of(vmi::Vcpu& cpu, uint64_t process, uint64_t addr, WideText& out) const;
  // The object name of an object body (kernel address), as handle_name.
  bool object_name(vmi::Vcpu& cpu, uint64_t body, WideText& out) const;

 private:
  bool try_base(vmi::Vcpu& cpu, uint64_t base, std::string* error, bool* mismatch);
  uint64_t handle_object(vmi::Vcpu& cpu, uint64_t process, uint64_t handle) const;
  int type_index(vmi::Vcpu& cpu, uint64_t header) const;
  bool vad_file(vmi::Vcpu& cpu, uint64_t process, uint64_t addr, WideText& out) const;
  bool kernel_module(vmi::Vcpu& cpu, uint64_t addr, WideText& out) const;
  // The token's user SID at `sid`: a well-known name, else its bytes (bounded reads).
  void read_user_sid(vmi::Vcpu& cpu, uint64_t sid, WinContext& out) const;

  const profile::Profile& prof_;
  std::string what_;
  WinLayout L_;
  vmi::FieldWindows thread_win_, process_win_, token_win_;
  vmi::FieldWindows vad_win_, ldr_win_, trap_win_, oa_win_;  // a VAD tree node; a loaded-module entry; a trap frame
  uint64_t base_ = 0, size_ = 0;
  uint8_t header_cookie_ = 0;
  bool have_cookie_ = false;
  std::atomic<int> file_type_{-1};
  unsigned misses_ = 0;
};

}  // namespace vmitrace::oswin
