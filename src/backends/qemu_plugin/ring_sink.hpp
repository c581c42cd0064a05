// vmi::EventSink that hands records to the vmitrace process through the ring.
// Called on vCPU threads: one locked memcpy per record, no formatting.
#pragma once
#include "ipc/ring.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::backends::qemu {

class RingSink final : public vmi::EventSink {
 public:
  RingSink(ipc::EventRing& ring, bool block) : ring_(ring), block_(block) {}
  // Drops (policy drop, reader gone, too large) are counted in the ring header.
  void emit(const void* rec, size_t size) override { ring_.push(rec, size, block_); }

 private:
  ipc::EventRing& ring_;
  bool block_;
};

}  // namespace vmitrace::backends::qemu
