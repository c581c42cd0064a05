// Internal: renders one syscall argument value (after its key) in the raw style.
#pragma once
#include <cstdint>

#include "event/record.hpp"
#include "output/format.hpp"
#include "output/line.hpp"
#include "syscalls/table.hpp"

namespace vmitrace::output {

struct ArgValue {
  const syscalls::ArgInfo* info;  // nullptr: unknown syscall (plain hex)
  uint64_t raw;                   // register value
  unsigned bits;                  // width to mask raw to
  event::BlobView blob;           // state none when the record's blobs are not usable
};

// Raw style (DRAKVUF-compatible): integers and pointers in hex; strings from the
// captured bytes (the pointer in hex when nothing was captured); PROT_* bits, prctl
// options and arch_prctl codes by name.
void append_arg(Line& line, const ArgValue& a, const FormatOptions& opt);

}  // namespace vmitrace::output
