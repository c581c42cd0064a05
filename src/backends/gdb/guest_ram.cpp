#include "backends/gdb/guest_ram.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace vmitrace::gdb {

uint64_t ram_below_4g(Machine m, uint64_t ram) {
  uint64_t lowmem = m == Machine::pc ? (ram >= 0xe0000000ull ? 0xc0000000ull : 0xe0000000ull)
                                     : (ram >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull);
  return std::min(ram, lowmem);
}

GuestRam::GuestRam(const std::string& path, Machine machine) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path, "not a regular file (expected QEMU's memory-backend-file)");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ == 0 || size_ % 4096) {
    ::close(fd);
    throw Error(path, "size " + std::to_string(size_) + " is not a guest RAM size (a non-zero multiple of 4 KiB)");
  }
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
  int err = errno;
  ::close(fd);
  if (p == MAP_FAILED) throw Error(path, std::string("cannot map: ") + std::strerror(err));
  base_ = static_cast<const uint8_t*>(p);
  below_ = ram_below_4g(machine, size_);
}

GuestRam::~GuestRam() {
  if (base_) ::munmap(const_cast<uint8_t*>(base_), size_);
}

size_t GuestRam::read(uint64_t pa, void* buf, size_t len) const {
  uint64_t off, avail;
  if (pa < below_) {
    off = pa;
    avail = below_ - pa;
  } else if (pa >= (1ull << 32) && pa - (1ull << 32) < size_ - below_) {
    off = below_ + (pa - (1ull << 32));
    avail = size_ - off;
  } else {
    return 0;
  }
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, avail));
  // The file may shrink under us (truncated by someone else) -> SIGBUS; QEMU keeps
  // it at its size while the guest lives, which is the case we support.
  std::memcpy(buf, base_ + off, n);
  return n;
}

}  // namespace vmitrace::gdb
