// vmi::Backend over a gdbstub (QEMU's -gdb, under KVM or TCG) of an x86-64, i386 or
// aarch64 guest: hooks are software breakpoints (Z0), registers come from the target
// description's layout, memory through the guest-RAM file or the stub's physical
// mode, translated by the project's page walkers (x86_paging, arm64_paging).
// Everything runs on the thread that calls run(): hooks are called there while the
// guest is stopped.
//
// Per hit: stop reply -> hooks (registers, reads) -> step that vCPU alone (vCont;s:T,
// the others stay stopped; under KVM with the breakpoint removed for the step, see
// step_over) -> continue.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backends/gdb/client.hpp"
#include "backends/gdb/detach_guard.hpp"
#include "backends/gdb/guest_ram.hpp"
#include "backends/gdb/target_desc.hpp"
#include "vmi/arm64_paging.hpp"
#include "vmi/gdb_reg_names.hpp"
#include "vmi/kernel_waiters.hpp"
#include "vmi/vmi.hpp"
#include "vmi/x86_paging.hpp"

namespace vmitrace::gdb {

struct GdbBackendOptions {
  std::string endpoint;           // unix:PATH or tcp:HOST:PORT
  std::string guest_ram;          // empty: physical reads through the stub
  Machine machine = Machine::pc;  // RAM layout of the guest-RAM file
  int timeout_ms = 5000;
};

struct GdbStats {
  // interrupts: stops vmitrace asked for (the heartbeat on a quiet guest, the final
  // stop); other_stops: stops nobody here asked for (another debugger's breakpoint).
  uint64_t hook_hits = 0, stops = 0, interrupts = 0, other_stops = 0, kernel_probes = 0;
};

class GdbVcpu;

class GdbBackend final : public vmi::Backend {
 public:
  // Connects and reads the target description; QEMU stops the guest while a
  // debugger is attached. Throws Error on a bad endpoint, a peer that is not a
  // gdbstub, a target other than x86 and aarch64, or a bad RAM file. From the
  // connection on, a guard process detaches if vmitrace dies without detaching
  // (detach_guard.hpp).
  explicit GdbBackend(const GdbBackendOptions& opt);
  ~GdbBackend() override;

  std::string name() const override { return "gdbstub"; }
  std::string machine() const override { return target_ == vmi::GdbTarget::aarch64 ? "arm64" : "x86"; }
  vmi::HookId add_hook(uint64_t va, vmi::HookFn fn) override;
  // Gated hooks' breakpoints are inserted while the gate is open, removed while closed.
  vmi::HookId add_gated_hook(uint64_t va, vmi::HookFn fn) override;
  void set_gate(bool open) override;
  void remove_hook(vmi::HookId id) override;
  void when_in_kernel(const vmi::KernelSpace& kernel, std::function<bool(vmi::Vcpu&)> fn) override;

  // Runs the guest and dispatches hooks until stop becomes true (returns with the
  // guest stopped) or the stub goes away (throws GdbError: QEMU gone). Every answer
  // has a deadline (timeout_ms): a guest that runs a whole deadline without a stop
  // is interrupted and resumed, so a stub that stopped answering (QEMU stopped with
  // SIGSTOP, or hung) gives GdbTimeout within two deadlines.
  void run(const std::atomic<bool>& stop);
  // Stops the guest if it runs, removes every breakpoint, leaves physical mode and
  // detaches: the guest runs on. Idempotent; never throws. When something failed it
  // returns false and sets *why; a stub that stopped answering has then been sent
  // the whole detach anyway (it handles it if it runs again, e.g. after SIGCONT).
  bool detach(std::string* why = nullptr) noexcept;
  // QEMU's process id when attached over a unix socket, else -1 (for messages).
  int stub_pid() const;

  GdbStats stats() const { return stats_; }
  unsigned vcpu_count() const { return static_cast<unsigned>(threads_.size()); }
  const TargetDesc& target() const { return desc_; }

 private:
  friend class GdbVcpu;
  struct Hook {
    uint64_t va;
    vmi::HookFn fn;
    bool gated;
  };
  struct Site {  // the hooks at one address (one breakpoint)
    unsigned plain = 0, gated = 0;
    bool wanted(bool gate_open) const;
  };
  vmi::HookId add_entry(uint64_t va, vmi::HookFn fn, bool gated);
  void apply_site(uint64_t va);
  void find_registers();
  void select_thread(const std::string& tid);
  size_t phys_read(uint64_t pa, void* buf, size_t len);
  void resume();
  bool wait_stop(std::string& reply, int timeout_ms);
  std::string stop_thread(const std::string& reply) const;
  void on_stop(const std::string& reply);
  GdbTimeout no_answer(const char* to) const;
  void detach_blind() noexcept;
  bool probe_kernel();
  void step_over(const std::string& tid, uint64_t va);
  void insert_bp(uint64_t va);
  void remove_bp(uint64_t va);
  GdbVcpu& vcpu_for(const std::string& tid);

  GdbBackendOptions opt_;
  std::unique_ptr<Client> client_;
  DetachGuard guard_;  // detaches if vmitrace dies (or the constructor fails) attached
  std::unique_ptr<GuestRam> ram_;
  TargetDesc desc_;
  int reg_index_[static_cast<int>(vmi::Reg::count)];
  vmi::GdbTarget target_ = vmi::GdbTarget::x86_64;
  int efer_index_ = -1, cr0_index_ = -1, cr3_index_ = -1, cr4_index_ = -1;
  unsigned bp_kind_ = 1;  // Z0's kind: the breakpoint instruction's length (aarch64: 4)
  unsigned g_bytes_ = 0;
  size_t max_read_ = 0;  // bytes per 'm' request
  std::vector<std::string> threads_;
  std::vector<std::unique_ptr<GdbVcpu>> vcpus_;
  std::string cur_thread_;
  vmi::PageWalker walker_;
  vmi::Arm64PageWalker arm64_walker_;
  std::map<vmi::HookId, Hook> hooks_;
  std::map<uint64_t, Site> sites_;  // va -> hooks there (one breakpoint each)
  std::set<uint64_t> inserted_;     // breakpoints in the guest now (detach removes them)
  bool gate_open_ = false, sites_dirty_ = false;
  vmi::HookId next_id_ = 1;
  vmi::KernelWaiters kernel_waiters_;
  bool running_ = false, detached_ = false, phys_mode_ = false;
  bool step_checked_ = false, dance_ = false;  // see step_over()
  GdbStats stats_;
};

}  // namespace vmitrace::gdb
