// Internal: renders one syscall argument value (after its key) in the raw or rich style.
#pragma once
#include <cstdint>

#include "event/record.hpp"
#include "output/format.hpp"
#include "output/line.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::output {

struct ArgValue {
  const syscalls::ArgInfo* info;  // nullptr: unknown syscall (plain hex)
  uint64_t raw;                   // register value
  unsigned bits;                  // width to mask raw to
  event::BlobView blob;           // state none when the record's blobs are not usable
  const uint64_t* all = nullptr;  // the record's six raw values (kinds that depend on
                                  // another argument: futex utime, prctl arg2)
};

// Raw style (DRAKVUF-compatible): integers and pointers in hex; strings from the
// captured bytes (the pointer in hex when nothing was captured); PROT_* bits, prctl
// options and arch_prctl codes by name.
void append_arg(Line& line, const ArgValue& a, const FormatOptions& opt);

// Rich style (--args=rich): the value as strace prints it, always as one escaped
// string of the format (see decode.hpp and docs/ARCHITECTURE.md).
void append_rich_arg(Line& line, const ArgValue& a, const FormatOptions& opt);
// The extras of a record, in both styles (they are new keys: DRAKVUF has none to
// keep): `<arg>_path` after the arguments of an entry, and the out arguments
// (`<arg>` as strace shows them after the call) after Info on a sysret.
void append_fd_paths(Line& line, const event::Record& r, const syscalls::SyscallInfo* info);
void append_out_args(Line& line, const event::Record& r, const syscalls::SyscallInfo* info,
                     const FormatOptions& opt);

// `Ret_path` after Info on a sysret: the path of the fd a successful open, socket,
// dup... returned (both styles).
void append_ret_path(Line& line, const event::Record& r);

// Rich style sysret Info: "ENOENT (No such file or directory)", "" when ret is no errno.
void append_rich_errno(Line& line, int64_t ret);

}  // namespace vmitrace::output
