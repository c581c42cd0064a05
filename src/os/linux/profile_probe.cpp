#include "os/linux/profile_probe.hpp"

#include <fmt/core.h>
#include <time.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/write_file.hpp"
#include "profile/cache_name.hpp"

namespace vmitrace::oslinux {

namespace {

// A vCPU in kernel mode may still be on KPTI's user page tables (entry code): such an
// offer sees no kernel image and is retried; this many times, then "not Linux".
constexpr int kMaxUnmappedOffers = 50;
constexpr auto kPollEvery = std::chrono::milliseconds(1);
// How long a vmcoreinfo note without KERNELOFFSET may be seen before it is taken as
// final: the kernel writes its lines one after the other, microseconds apart.
constexpr auto kMaxIncomplete = std::chrono::seconds(5);
constexpr uint64_t kCr0Paging = 0x80000000u;

std::string grouped(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The calling thread's CPU time: on a busy host the wall time says little about the cost.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

}  // namespace

profile::GuestMemory guest_memory_of(vmi::Vcpu& cpu, bool arm64) {
  uint64_t ip = 0;
  cpu.read_reg(vmi::Reg::rip, ip);
  return {[&cpu](uint64_t va, void* buf, size_t len) { return cpu.read_virt(va, buf, len); }, cpu.pointer_size(), ip,
          arm64};
}

ProfileProbe::Step ProfileProbe::fail(const std::string& why) {
  error_ = why;
  return Step::failed;
}

std::optional<uint64_t> ProfileProbe::running_address(std::string_view name) const {
  if (!kernel_) return std::nullopt;
  for (const auto& sym : kernel_->symbols)
    if (sym.name == name) return sym.address;
  return std::nullopt;
}

ProfileProbe::Step ProfileProbe::offer(vmi::Vcpu& cpu, bool poll_now) {
  if (profile_) return Step::done;
  if (!error_.empty()) return Step::failed;
  // While waiting for vmcoreinfo a backend may offer every kernel block it runs: the
  // cheapest test first.
  const auto now = std::chrono::steady_clock::now();
  if (kernel_ && !poll_now && now < next_poll_) return Step::retry;
  // Firmware and boot loaders run with paging off (on i386 also at 0xfffffff0, inside
  // the kernel range): no kernel there yet.
  if (uint64_t cr0 = 0; cpu.read_reg(vmi::Reg::cr0, cr0) && !(cr0 & kCr0Paging)) return Step::retry;
  const profile::GuestMemory mem = guest_memory_of(cpu, o_.arm64);
  struct Timed {  // every offer that reads guest memory counts in the cost
    ProfileProbe& p;
    std::chrono::steady_clock::time_point t0;
    double cpu0 = thread_cpu_seconds();
    ~Timed() {
      p.work_ += std::chrono::steady_clock::now() - t0;
      p.cpu_seconds_ += thread_cpu_seconds() - cpu0;
    }
  } timed{*this, now};
  try {
    if (!kernel_) {
      try {
        kernel_ = profile::read_running_kernel(mem, o_.what);
      } catch (const profile::KernelNotMapped& e) {
        if (++unmapped_offers_ < kMaxUnmappedOffers) return Step::retry;
        return fail(e.what());
      }
      if (!o_.cache_dir.empty()) {
        cache_path_ = o_.cache_dir + "/" +
                      profile::cache_file_name("linux-" + kernel_->release, kernel_->identity());
        if (::access(cache_path_.c_str(), R_OK) == 0) {
          try {
            profile_ = profile::Profile::load(cache_path_);
            from_cache_ = true;
            info_.release = kernel_->release;
            kernel_.reset();
            return Step::done;
          } catch (const Error& e) {  // damaged: built again and replaced
            cache_note_ = std::string("; the cached one was unreadable: ") + e.what();
          }
        }
      }
    }
    bool incomplete = false;
    std::optional<uint64_t> offset =
        profile::running_kaslr_offset(mem, *kernel_, o_.what, o_.wait_for_offset ? &incomplete : nullptr);
    if (incomplete) {  // being written (or never to hold KERNELOFFSET: then the error, later)
      if (!incomplete_since_) incomplete_since_ = now;
      if (now - *incomplete_since_ >= kMaxIncomplete) offset = profile::running_kaslr_offset(mem, *kernel_, o_.what);
    }
    if (!offset) {
      if (!o_.wait_for_offset) return fail(profile::vmcoreinfo_not_set_up(o_.what, *kernel_).what());
      next_poll_ = std::chrono::steady_clock::now() + kPollEvery;
      return Step::retry;
    }
    profile_ = profile::assemble_memory_profile(std::move(*kernel_), *offset, o_.what, &info_);
    kernel_.reset();
    if (!cache_path_.empty()) {
      try {
        write_file(cache_path_, profile::to_isf_json(*profile_));
        cache_note_ = "; saved as " + cache_path_ + cache_note_;
      } catch (const Error& e) {
        cache_note_ = std::string("; not cached: ") + e.what();
      }
    }
    return Step::done;
  } catch (const Error& e) {
    return fail(e.what());
  }
}

std::string ProfileProbe::summary() const {
  if (!profile_) return {};
  if (from_cache_)
    return fmt::format("profile {} (cached, Linux {} from guest memory, {:.2f} s, {:.2f} s CPU)", cache_path_,
                       info_.release, seconds(work_), cpu_seconds_);
  return fmt::format("profile from guest memory: Linux {}, {} symbols, {} types, {:.2f} s ({:.2f} s CPU, {:.1f} MiB read{}{}; "
                     "KASLR offset {:#x}{})",
                     info_.release, grouped(profile_->symbols.size()), grouped(profile_->user_types.size()),
                     seconds(work_), cpu_seconds_, double(info_.bytes_read) / (1 << 20), o_.reads_via.empty() ? "" : " ",
                     o_.reads_via, info_.kaslr_offset, cache_note_);
}

}  // namespace vmitrace::oslinux
