// Guest physical memory through the file QEMU backs guest RAM with
// (`-object memory-backend-file,...,mem-path=/dev/shm/F,share=on`), mapped read-only.
// QEMU's PC layout: RAM up to `lowmem` sits at physical 0, the rest at 4 GiB.
//   pc:  lowmem = 0xe0000000, or 0xc0000000 when RAM >= 0xe0000000 (gigabyte align)
//   q35: lowmem = 0xb0000000, or 0x80000000 when RAM >= 0xb0000000
// Addresses in the hole [lowmem, 4 GiB) and past the end read as unreadable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace vmitrace::gdb {

enum class Machine { pc, q35 };

class GuestRam {
 public:
  // Throws vmitrace::Error("FILE: problem") when the file cannot be mapped or has a
  // size that cannot be a guest's RAM (zero, not a multiple of 4 KiB).
  GuestRam(const std::string& path, Machine machine);
  ~GuestRam();
  GuestRam(const GuestRam&) = delete;
  GuestRam& operator=(const GuestRam&) = delete;
  // Bytes read from the start of [pa, pa+len) (stops at a hole or the end).
  size_t read(uint64_t pa, void* buf, size_t len) const;
  uint64_t size() const { return size_; }
  uint64_t below_4g() const { return below_; }

 private:
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0, below_ = 0;
};

// The RAM below 4 GiB for a machine with ram_size bytes (QEMU's rule, see above).
uint64_t ram_below_4g(Machine m, uint64_t ram_size);

}  // namespace vmitrace::gdb
