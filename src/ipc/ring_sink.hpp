// vmi::EventSink that hands records to the writer through the ring (the QEMU
// plugin's shared ring, or the in-process one of `vmitrace attach`). Called on
// capture threads: one locked memcpy per record, no formatting.
#pragma once
#include "ipc/ring.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::ipc {

class RingSink final : public vmi::EventSink {
 public:
  RingSink(EventRing& ring, bool block) : ring_(ring), block_(block) {}
  // Drops (policy drop, reader gone, too large) are counted in the ring header.
  void emit(const void* rec, size_t size) override { ring_.push(rec, size, block_); }

 private:
  EventRing& ring_;
  bool block_;
};

}  // namespace vmitrace::ipc
