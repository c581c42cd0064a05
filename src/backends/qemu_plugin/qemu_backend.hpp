// vmi::Backend on QEMU's TCG plugin API (QEMU 10, API v4). Runs inside QEMU's
// process; every callback runs on a vCPU thread (MTTCG: several at once).
//
// Hooks: an instruction callback is registered at translation time only for the
// instructions whose address is in the hook table, so unhooked code costs one
// binary search per translated block and nothing at execution. Changing the table
// while the guest runs asks QEMU for a reset (asynchronous; it flushes translated
// code), after which the translation callback is registered again.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/qemu_plugin/qemu_api.h"
#include "vmi/kernel_waiters.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::backends::qemu {

// The QEMU target's register naming (x86_64 and i386 share the x86 one).
enum class Arch : uint8_t { x86, aarch64 };

class QemuVcpu final : public vmi::Vcpu {
 public:
  QemuVcpu(unsigned index, unsigned pointer_size, Arch arch);
  ~QemuVcpu() override;
  // Looks up the register handles by name; must run on this vCPU's thread.
  void init_registers();

  unsigned index() const override { return index_; }
  bool read_reg(vmi::Reg r, uint64_t& out) override;
  size_t read_virt(uint64_t va, void* buf, size_t len) override;
  uint64_t timestamp_ns() override;
  unsigned pointer_size() const override { return pointer_size_; }
  // TCG does not keep the guest pc up to date in the middle of a translated block:
  // the backend tells the vCPU the address of the instruction being executed.
  void set_pc(uint64_t pc) { pc_ = pc; }

 private:
  unsigned index_;
  unsigned pointer_size_;
  Arch arch_;
  qemu_plugin_register* regs_[static_cast<size_t>(vmi::Reg::count)] = {};
  GByteArray* reg_buf_;
  GByteArray* mem_buf_;
 public:
  // Costs, for benchmarks (read by the backend at exit; only this thread writes).
  std::atomic<uint64_t> page_reads{0}, reg_reads{0};
 private:
  uint64_t pc_ = 0;
};

struct BackendStats {
  uint64_t hook_calls = 0;     // hook function invocations
  uint64_t flushes = 0;        // completed resets (translated code flushed)
  uint64_t callback_errors = 0;  // exceptions caught at the callback boundary
  uint64_t page_reads = 0;     // qemu_plugin_read_memory_vaddr calls (each walks page tables)
  uint64_t reg_reads = 0;      // qemu_plugin_read_register calls
  uint64_t hook_ns = 0;        // wall time in hook callbacks (with enable_timing only)
};

class QemuBackend final : public vmi::Backend {
 public:
  // Throws vmitrace::Error for targets other than x86_64 / i386 / aarch64 system emulation.
  QemuBackend(qemu_plugin_id_t id, const qemu_info_t& info);
  ~QemuBackend() override;
  QemuBackend(const QemuBackend&) = delete;
  QemuBackend& operator=(const QemuBackend&) = delete;

  // Registers QEMU callbacks (from qemu_plugin_install). at_exit runs once when
  // QEMU exits normally.
  void install(std::function<void()> at_exit);

  std::string name() const override { return "qemu-plugin"; }
  std::string machine() const override { return arch_ == Arch::aarch64 ? "arm64" : "x86"; }
  vmi::HookId add_hook(uint64_t va, vmi::HookFn fn) override;
  vmi::HookId add_gated_hook(uint64_t va, vmi::HookFn fn) override;
  void remove_hook(vmi::HookId id) override;
  // Writes the gate into every vCPU's scoreboard entry, which the conditional
  // callbacks of gated sites compare with 0 inside translated code.
  void set_gate(bool open) override;
  void when_in_kernel(const vmi::KernelSpace& kernel, std::function<bool(vmi::Vcpu&)> fn) override;

  unsigned pointer_size() const { return pointer_size_; }
  BackendStats stats() const;
  // Measures the wall time spent in hook callbacks (two clock reads per call; for
  // VMITRACE_BACKEND_STATS=1 runs on a quiet host: preemption counts too).
  void enable_timing() { timing_ = true; }

  // C callbacks (static, they find the instance through a global).
  static void cb_vcpu_init(qemu_plugin_id_t id, unsigned vcpu);
  static void cb_tb_trans(qemu_plugin_id_t id, qemu_plugin_tb* tb);
  static void cb_hook(unsigned vcpu, void* site);
  static void cb_kernel(unsigned vcpu, void* pc);
  static void cb_reset_done(qemu_plugin_id_t id);
  static void cb_atexit(qemu_plugin_id_t id, void* unused);

 private:
  struct Entry {
    vmi::HookId id;
    vmi::HookFn fn;
    bool gated = false;
  };
  using Snapshot = std::vector<const Entry*>;
  // One hooked address. Never freed before the backend: translated code holds it.
  struct Site {
    uint64_t va = 0;
    std::atomic<const Snapshot*> fns{nullptr};
    std::atomic<bool> gated{false};  // every hook here is gated: conditional callback
  };
  // Sorted (va, site) pairs read by the translation callback without a lock.
  using Table = std::vector<std::pair<uint64_t, Site*>>;

  vmi::HookId add_entry(uint64_t va, vmi::HookFn fn, bool gated);
  void register_callbacks();
  void publish_table_locked();
  void request_flush();
  void on_tb(qemu_plugin_tb* tb);
  void on_hook(unsigned vcpu, Site* site);
  void on_kernel(unsigned vcpu, uint64_t pc);
  QemuVcpu* vcpu(unsigned index);

  qemu_plugin_id_t id_;
  unsigned pointer_size_;
  Arch arch_ = Arch::x86;
  std::vector<std::unique_ptr<QemuVcpu>> vcpus_;
  std::function<void()> at_exit_;

  std::mutex mu_;  // hook table changes (translation-side reads are lock-free)
  std::map<uint64_t, std::unique_ptr<Site>> sites_;
  std::unordered_map<vmi::HookId, std::pair<uint64_t, const Entry*>> entries_;
  vmi::HookId next_id_ = 1;
  std::atomic<const Table*> table_{nullptr};
  // Replaced snapshots, tables and removed entries: a vCPU may still be using
  // them, so they live until the backend is destroyed (a handful per run).
  std::vector<std::unique_ptr<const Snapshot>> old_snapshots_;
  std::vector<std::unique_ptr<const Table>> old_tables_;
  std::vector<std::unique_ptr<const Entry>> all_entries_;

  vmi::KernelWaiters kernel_waiters_;

  std::atomic<bool> translated_{false};    // some code was translated already
  std::atomic<bool> reset_pending_{false};  // a qemu_plugin_reset is queued
  std::atomic<bool> flush_wanted_{false};   // asked from a non-vCPU thread
  std::atomic<bool> exited_{false};
  qemu_plugin_scoreboard* gate_ = nullptr;  // one uint64 per vCPU: 0 closed, 1 open
  std::atomic<unsigned> gate_vcpus_{0};    // vCPUs initialised (scoreboard entries exist)
  std::mutex gate_mu_;
  std::atomic<uint64_t> hook_calls_{0}, flushes_{0}, callback_errors_{0}, hook_ns_{0};
  bool timing_ = false;
};

}  // namespace vmitrace::backends::qemu
