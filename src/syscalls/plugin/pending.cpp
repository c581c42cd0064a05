// The Linux plugin's pending table, instantiated once (the template is in the header
// for the Windows tracer's entry type).
#include "syscalls/plugin/pending.hpp"

namespace vmitrace::syscalls {

template class BasicPendingTable<PendingEntry>;

}  // namespace vmitrace::syscalls
