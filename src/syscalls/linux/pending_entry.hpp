// The Linux tracer's pending entry and its table (the table itself, one for both
// OSes, is in syscalls/core/pending.hpp).
#pragma once
#include <cstdint>

#include "event/record.hpp"
#include "os/linux/kernel.hpp"
#include "syscalls/core/pending.hpp"

namespace vmitrace::syscalls {

// A Linux syscall waiting for its return.
struct PendingEntry {
  PendingKey key;
  uint64_t regs = 0;        // pt_regs pointer (0 when the hook had none)
  int64_t tid = -1;         // to refuse a recycled task_struct at return
  oslinux::ProcessContext ctx;  // the entry's context, repeated on the sysret
  uint64_t args[6] = {};    // the entry's argument values (out arguments at return)
  uint32_t nr = 0;
  uint16_t hook = 0;        // index of the entry hook (Module)
  event::Abi abi = event::Abi::linux_x64;
  bool used = false;
  bool rate_limited = false;  // entry dropped by the rate limit: drop its return too
};

using PendingTable = BasicPendingTable<PendingEntry>;
// Compiled once, in pending_entry.cpp.
extern template class BasicPendingTable<PendingEntry>;

}  // namespace vmitrace::syscalls
