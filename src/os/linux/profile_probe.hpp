// The running Linux kernel's profile from guest memory, built on a vCPU that a backend
// offers in kernel mode (Backend::when_in_kernel). One code path for the gdbstub route
// (`attach` without -r and `profile --from-vm`: a guest that has booted) and the QEMU
// module (`run` with no profile: from the kernel's first instructions on).
//
// The kernel's image, kallsyms, banner and .BTF are in memory as soon as its code runs
// in the kernel-text window (the decompressor wrote them); the KASLR offset, which
// makes the addresses link-time ones, only once an early initcall
// (crash_save_vmcoreinfo_init, subsys_initcall) wrote vmcoreinfo. With wait_for_offset
// the probe reads the rest at the first offer and then looks at vmcoreinfo at most
// once a millisecond; init runs after every initcall, so the profile is ready before
// the first user-space program. A profile cached under the kernel's banner and build
// id is used without waiting.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "profile/memory_profile.hpp"
#include "profile/profile.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::oslinux {

// A reader of guest-virtual memory through this vCPU (its page tables), for the
// profile layer; arm64: the backend's machine is arm64 (vmi::Backend::machine()).
profile::GuestMemory guest_memory_of(vmi::Vcpu& cpu, bool arm64);

class ProfileProbe {
 public:
  struct Options {
    std::string what = "guest memory";  // names the source in messages
    bool wait_for_offset = false;       // vmcoreinfo not set up yet: wait (else an error)
    std::string cache_dir;              // where built profiles are kept; "": none
    std::string reads_via;              // for the summary: "through the stub", ...
    bool arm64 = false;                 // an arm64 guest (Backend::machine() == "arm64")
  };
  explicit ProfileProbe(Options o) : o_(std::move(o)) {}

  enum class Step { retry, done, failed };
  // On a vCPU in kernel mode, one caller at a time. retry: offer another vCPU or a
  // later moment. Never throws for what the guest's memory holds. While it waits for
  // vmcoreinfo, offers closer than a millisecond apart read nothing, unless `now`
  // (a caller that offers rarely, from a hook).
  Step offer(vmi::Vcpu& cpu, bool now = false);
  // The kernel is read and only its KASLR offset is awaited (wait_for_offset).
  bool waiting_for_offset() const { return kernel_.has_value() && !profile_; }
  // Running address of a symbol of the kernel read so far (while waiting).
  std::optional<uint64_t> running_address(std::string_view name) const;

  profile::Profile take() { return std::move(*profile_); }  // after done
  const std::string& error() const { return error_; }       // after failed: one line
  bool from_cache() const { return from_cache_; }
  const std::string& cache_path() const { return cache_path_; }  // "" without a cache
  const profile::MemoryProfileInfo& info() const { return info_; }
  // What was found and what it cost (after done), for stderr: "profile from guest
  // memory: Linux 6.1.0-28-amd64, 112,034 symbols, 97,410 types, 0.4 s (...)" or
  // "profile PATH (cached, Linux 6.1.0-28-amd64 from guest memory, 0.2 s)".
  std::string summary() const;

 private:
  Step fail(const std::string& why);
  Options o_;
  int unmapped_offers_ = 0;
  std::optional<profile::RunningKernel> kernel_;
  std::optional<profile::Profile> profile_;
  profile::MemoryProfileInfo info_;
  std::chrono::steady_clock::duration work_{};  // time spent reading and building (not waiting)
  double cpu_seconds_ = 0;                      // the same in CPU time
  std::chrono::steady_clock::time_point next_poll_{};
  std::optional<std::chrono::steady_clock::time_point> incomplete_since_;  // a note without KERNELOFFSET seen
  std::string error_, cache_path_, cache_note_;
  bool from_cache_ = false;
};

}  // namespace vmitrace::oslinux
