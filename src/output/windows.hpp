// Internal: the Windows half of the line layouts (Record.os == Os::windows). The
// common prefix of each format stays in format.cpp; this renders what differs:
// the routine name and prototype (looked up by name: tables differ per build), the
// extras (PreviousMode, FromModule, FromParentModule, ImagePath, decoded strings,
// handle names; their text is UTF-16LE from the guest) and the NTSTATUS Info.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "event/record.hpp"
#include "output/format.hpp"
#include "output/line.hpp"
#include "syscalls/windows_table.hpp"

namespace vmitrace::output {

// What a Windows record carries beyond its header, found in one pass over the
// extras (the first extra of each tag / argument wins; a record is untrusted data).
struct WinView {
  event::ExtraView method, previous_mode, from_module, from_parent_module, image_path;
  event::ExtraView arg_text[event::kMaxArgs];
  event::ExtraView handle_name[event::kMaxArgs];
  const syscalls::windows::WinSyscallInfo* info = nullptr;
  std::string_view method_name;  // the routine name, or "sys_<nr>" when absent/invalid
  char method_buf[64];
};

void init_windows(const event::Record& r, WinView& w);

// UserName: the name the guest's token resolved to, else "SessionID" as DRAKVUF
// writes it (UserId is then the session id).
std::string_view windows_user_name(const event::Record& r);

// After "Syscall": NArgs, PreviousMode, FromModule, FromParentModule, ImagePath,
// then one field per argument (plus "<Arg>_name" after a handle whose object name
// is known).
void append_windows_entry_fields(Line& line, const event::Record& r, const WinView& w,
                                 const FormatOptions& opt);
// After "Syscall": Ret, Info, then PreviousMode/FromModule/FromParentModule/
// ImagePath when the record carries them.
void append_windows_return_fields(Line& line, const event::Record& r, const WinView& w,
                                  const FormatOptions& opt);

// Info of an NTSTATUS: its name ("STATUS_SUCCESS"), else
// SEVERITY:CUSTOMER:FACILITY:0xCODE as DRAKVUF writes unnamed codes
// ("ERROR:0:UNKNOWN:0x8f0"; FACILITY is the facility's name, or UNKNOWN).
void append_ntstatus_text(std::string& out, uint32_t status);

}  // namespace vmitrace::output
