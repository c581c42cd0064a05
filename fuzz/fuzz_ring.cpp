// libFuzzer target: the event ring over a corrupted shared file. The input is
// written over the whole ring file (header page included: the reader trusts only
// its own copy of the capacity), then the reader pops until empty or an Error;
// a producer attaching to the same bytes must reject or survive them.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "ipc/ring.hpp"
#include "seed_records.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;

namespace {
constexpr size_t kCap = ipc::EventRing::kMinCapacity;
std::string ring_path() { return "/dev/shm/vmitrace-fuzz-" + std::to_string(::getpid()) + ".ring"; }

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::vector<uint8_t> v(ipc::EventRing::kHeaderSize + kCap);
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::pread(fd, v.data(), v.size(), 0) != static_cast<ssize_t>(v.size())) std::abort();
  ::close(fd);
  return v;
}

// Rings as the real producer leaves them: a few records, wrapped, closed.
void write_seeds(const char* dir) {
  auto recs = fuzz::seed_records();
  std::string p = ring_path();
  for (int variant = 0; variant < 3; ++variant) {
    auto reader = ipc::EventRing::create(p, kCap);
    auto writer = ipc::EventRing::attach(p);
    std::vector<uint8_t> out(event::kMaxRecord);
    for (int round = 0; round < 1 + variant * 3; ++round) {
      for (auto& r : recs) writer.push(r.data(), r.size(), false);
      if (variant == 2) while (reader.pop(out.data(), out.size()) != 0) {}
    }
    if (variant == 1) writer.mark_closed();
    auto bytes = file_bytes(p);
    fuzz::write_seed(dir, "ring" + std::to_string(variant), bytes.data(), bytes.size());
  }
  ::unlink(p.c_str());
}
}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = ring_path();
  std::vector<uint8_t> rec(event::kMaxRecord + 64);
  try {
    auto ring = ipc::EventRing::create(path, kCap);
    int fd = ::open(path.c_str(), O_WRONLY);
    size_t n = std::min(size, ipc::EventRing::kHeaderSize + kCap);
    if (fd < 0 || ::pwrite(fd, data, n, 0) != static_cast<ssize_t>(n)) std::abort();
    ::close(fd);
    (void)ring.stats();
    (void)ring.closed();
    (void)ring.producer_attached();
    for (unsigned c = 0; c < static_cast<unsigned>(ipc::Counter::count_); ++c)
      (void)ring.counter(static_cast<ipc::Counter>(c));
    // Small and large destination buffers: truncation must also be safe.
    size_t cap = size > 0 && (data[size - 1] & 1) ? 40 : rec.size();
    for (int i = 0; i < 10000; ++i) {
      (void)ring.pending();
      size_t got = ring.pop(rec.data(), cap);
      if (got == 0) break;
    }
  } catch (const Error&) {
  }
  try {
    auto w = ipc::EventRing::attach(path);
    uint8_t r[64] = {1};
    for (int i = 0; i < 4; ++i) w.push(r, sizeof r, false);
  } catch (const Error&) {
  }
  ::unlink(path.c_str());
  return 0;
}
