// Internal: the Windows half of the line layouts (Record.os == Os::windows). The
// common prefix of each format stays in format.cpp; this renders what differs:
// the routine name and prototype (looked up by name: tables differ per build), the
// extras (PreviousMode, FromModule, FromParentModule, ImagePath, decoded strings,
// handle names; their text is UTF-16LE from the guest) and the NTSTATUS Info.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "event/record.hpp"
#include "output/format.hpp"
#include "output/line.hpp"
#include "syscalls/tables/windows.hpp"

namespace vmitrace::output {

// What a Windows record carries beyond its header, found in one pass over the
// extras (the first extra of each tag / argument wins; a record is untrusted data).
struct WinView {
  event::ExtraView method, previous_mode, from_module, from_parent_module, image_path, user_sid;
  event::ExtraView arg_text[event::kMaxArgs];
  event::ExtraView handle_name[event::kMaxArgs];
  const syscalls::windows::WinSyscallInfo* info = nullptr;
  std::string_view method_name;  // the routine name, or "sys_<nr>" when absent/invalid
  char method_buf[64];
  std::string_view user_name;    // UserName (see windows_user_name)
  char user_buf[200];            // a SID string: "S-1-" + authority + 15 sub-authorities
};

void init_windows(const event::Record& r, WinView& w);

// UserName: the name the guest's token resolved to (well-known accounts), else the
// user SID's string (S-1-5-21-...-RID), else "SessionID" as DRAKVUF writes it
// (UserId is the session id).
std::string_view windows_user_name(const WinView& w);

// The standard string of a binary SID ("S-1-5-21-1-2-3-1001"; the authority in
// decimal below 2^32, else 0x + 12 lowercase hex digits) into buf; the empty view when `sid`
// is no valid SID (revision 1, 1..15 sub-authorities, exactly 8 + 4n bytes).
std::string_view format_sid(std::span<const uint8_t> sid, char (&buf)[200]);

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
