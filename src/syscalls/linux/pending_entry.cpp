// The Linux tracer's pending table, instantiated once (the template is in the header
// for the Windows tracer's entry type).
#include "syscalls/linux/pending_entry.hpp"

namespace vmitrace::syscalls {

template class BasicPendingTable<PendingEntry>;

}  // namespace vmitrace::syscalls
