#include "backends/qemu_plugin/qemu_backend.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "common/error.hpp"
#include "vmi/gdb_reg_names.hpp"

namespace vmitrace::backends::qemu {
namespace {

QemuBackend* g_backend = nullptr;   // QEMU's callbacks carry no context pointer
thread_local bool t_vcpu_thread = false;  // set in every callback QEMU makes on a vCPU thread

constexpr uint64_t kPage = 4096;

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

// ---- QemuVcpu ----------------------------------------------------------------

QemuVcpu::QemuVcpu(unsigned index, unsigned pointer_size, Arch arch)
    : index_(index), pointer_size_(pointer_size), arch_(arch),
      reg_buf_(g_byte_array_sized_new(64)), mem_buf_(g_byte_array_sized_new(kPage)) {}

QemuVcpu::~QemuVcpu() {
  g_byte_array_free(reg_buf_, TRUE);
  g_byte_array_free(mem_buf_, TRUE);
}

void QemuVcpu::init_registers() {
  GArray* regs = qemu_plugin_get_registers();
  if (!regs) return;
  for (guint i = 0; i < regs->len; ++i) {
    const auto& d = g_array_index(regs, qemu_plugin_reg_descriptor, i);
    if (!d.name) continue;
    for (size_t r = 0; r < static_cast<size_t>(vmi::Reg::count); ++r) {
      const char* want = vmi::gdb_reg_name(static_cast<vmi::Reg>(r), arch_ == Arch::aarch64 ? vmi::GdbTarget::aarch64
                                                                     : pointer_size_ == 8 ? vmi::GdbTarget::x86_64
                                                                                          : vmi::GdbTarget::i386);
      if (want && std::strcmp(d.name, want) == 0) regs_[r] = d.handle;
    }
  }
  g_array_free(regs, TRUE);
}

bool QemuVcpu::read_reg(vmi::Reg r, uint64_t& out) {
  auto i = static_cast<size_t>(r);
  if (i >= static_cast<size_t>(vmi::Reg::count) || !regs_[i]) return false;
  if (r == vmi::Reg::rip) {
    out = pc_;
    return true;
  }
  reg_reads.store(reg_reads.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  g_byte_array_set_size(reg_buf_, 0);  // read_register appends
  int n = qemu_plugin_read_register(regs_[i], reg_buf_);
  if (n <= 0 || n > 8 || reg_buf_->len < static_cast<guint>(n)) return false;
  uint64_t v = 0;
  std::memcpy(&v, reg_buf_->data, static_cast<size_t>(n));  // target order: little-endian
  out = v;
  return true;
}

size_t QemuVcpu::read_virt(uint64_t va, void* buf, size_t len) {
  auto* dst = static_cast<uint8_t*>(buf);
  const uint64_t limit = pointer_size_ == 8 ? UINT64_MAX : UINT32_MAX;
  size_t done = 0;
  // Page by page: QEMU fails a whole read if any page in it is unmapped, and we
  // want the readable prefix (a string that ends just before an unmapped page).
  while (done < len) {
    uint64_t addr = va + done;
    if (addr < va || addr > limit) break;  // wrapped past the end of the address space
    uint64_t chunk = std::min<uint64_t>(len - done, kPage - (addr & (kPage - 1)));
    if (limit - addr < chunk - 1) chunk = limit - addr + 1;
    page_reads.store(page_reads.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (!qemu_plugin_read_memory_vaddr(addr, mem_buf_, chunk)) break;
    if (mem_buf_->len < chunk) break;
    std::memcpy(dst + done, mem_buf_->data, chunk);
    done += chunk;
  }
  return done;
}

uint64_t QemuVcpu::timestamp_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// ---- QemuBackend ---------------------------------------------------------------

QemuBackend::QemuBackend(qemu_plugin_id_t id, const qemu_info_t& info) : id_(id) {
  std::string target = info.target_name ? info.target_name : "";
  if (!info.system_emulation)
    throw Error("qemu plugin", "needs system emulation (qemu-system-*), not user mode");
  if (target == "x86_64") {
    pointer_size_ = 8;
  } else if (target == "i386") {
    pointer_size_ = 4;
  } else if (target == "aarch64") {
    pointer_size_ = 8;
    arch_ = Arch::aarch64;
  } else {
    throw Error("qemu plugin", "unsupported QEMU target '" + target + "' (x86_64, i386 or aarch64)");
  }
  int n = info.system.max_vcpus > 0 ? info.system.max_vcpus : 1;
  if (n > 4096) n = 4096;
  vcpus_.resize(static_cast<size_t>(n));
  table_.store(new Table());
}

QemuBackend::~QemuBackend() {
  if (g_backend == this) g_backend = nullptr;
  delete table_.load();
  for (auto& [va, site] : sites_) delete site->fns.load();
}

void QemuBackend::install(std::function<void()> at_exit) {
  at_exit_ = std::move(at_exit);
  g_backend = this;
  gate_ = qemu_plugin_scoreboard_new(sizeof(uint64_t));  // zeroed: closed
  qemu_plugin_register_vcpu_init_cb(id_, &QemuBackend::cb_vcpu_init);
  register_callbacks();
}

// A reset drops every callback of the plugin: this puts back those that persist.
void QemuBackend::register_callbacks() {
  qemu_plugin_register_vcpu_tb_trans_cb(id_, &QemuBackend::cb_tb_trans);
  qemu_plugin_register_atexit_cb(id_, &QemuBackend::cb_atexit, nullptr);
}

QemuVcpu* QemuBackend::vcpu(unsigned index) {
  return index < vcpus_.size() ? vcpus_[index].get() : nullptr;
}

BackendStats QemuBackend::stats() const {
  BackendStats s{hook_calls_.load(), flushes_.load(), callback_errors_.load(), 0, 0, hook_ns_.load()};
  for (const auto& v : vcpus_) {
    if (!v) continue;
    s.page_reads += v->page_reads.load(std::memory_order_relaxed);
    s.reg_reads += v->reg_reads.load(std::memory_order_relaxed);
  }
  return s;
}

vmi::HookId QemuBackend::add_hook(uint64_t va, vmi::HookFn fn) {
  return add_entry(va, std::move(fn), false);
}

vmi::HookId QemuBackend::add_gated_hook(uint64_t va, vmi::HookFn fn) {
  return add_entry(va, std::move(fn), gate_ != nullptr);
}

void QemuBackend::set_gate(bool open) {
  if (!gate_) return;
  std::lock_guard<std::mutex> lock(gate_mu_);
  const unsigned n = gate_vcpus_.load(std::memory_order_acquire);
  for (unsigned i = 0; i < n; ++i) qemu_plugin_u64_set(qemu_plugin_u64{gate_, 0}, i, open ? 1 : 0);
}

vmi::HookId QemuBackend::add_entry(uint64_t va, vmi::HookFn fn, bool gated) {
  vmi::HookId id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    auto entry = std::make_unique<Entry>(Entry{id, std::move(fn), gated});
    const Entry* e = entry.get();
    all_entries_.push_back(std::move(entry));
    auto& site = sites_[va];
    if (!site) {
      site = std::make_unique<Site>();
      site->va = va;
    }
    const Snapshot* old = site->fns.load(std::memory_order_relaxed);
    auto snap = std::make_unique<Snapshot>(old ? *old : Snapshot{});
    snap->push_back(e);
    site->gated.store(std::all_of(snap->begin(), snap->end(), [](const Entry* x) { return x->gated; }),
                      std::memory_order_relaxed);
    site->fns.store(snap.release(), std::memory_order_release);
    if (old) old_snapshots_.emplace_back(old);
    entries_[id] = {va, e};
    publish_table_locked();
  }
  request_flush();
  return id;
}

void QemuBackend::remove_hook(vmi::HookId id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto [va, e] = it->second;
    entries_.erase(it);
    Site* site = sites_[va].get();
    const Snapshot* old = site->fns.load(std::memory_order_relaxed);
    auto snap = std::make_unique<Snapshot>();
    if (old)
      for (const Entry* x : *old)
        if (x != e) snap->push_back(x);
    site->gated.store(std::all_of(snap->begin(), snap->end(), [](const Entry* x) { return x->gated; }),
                      std::memory_order_relaxed);
    site->fns.store(snap.release(), std::memory_order_release);
    if (old) old_snapshots_.emplace_back(old);
    publish_table_locked();
  }
  request_flush();
}

// Rebuilds the sorted table of sites that have at least one hook.
void QemuBackend::publish_table_locked() {
  auto t = std::make_unique<Table>();
  for (auto& [va, site] : sites_) {
    const Snapshot* s = site->fns.load(std::memory_order_relaxed);
    if (s && !s->empty()) t->emplace_back(va, site.get());
  }
  const Table* old = table_.exchange(t.release(), std::memory_order_acq_rel);
  if (old) old_tables_.emplace_back(old);
}

void QemuBackend::when_in_kernel(const vmi::KernelSpace& kernel, std::function<bool(vmi::Vcpu&)> fn) {
  kernel_waiters_.add(kernel, std::move(fn));
  request_flush();  // kernel blocks translated before now carry no probe
}

// Asks QEMU to drop translated code so that translation runs again with the
// current hook table. qemu_plugin_reset is asynchronous (it runs when every vCPU
// is stopped) and ignored while one is in progress, hence reset_pending_.
void QemuBackend::request_flush() {
  if (!translated_.load(std::memory_order_acquire)) return;  // nothing stale yet
  if (!t_vcpu_thread) {
    // Not on a vCPU thread: QEMU would run the reset synchronously while vCPUs
    // run. Let the next translation (on a vCPU thread) ask for it.
    flush_wanted_.store(true, std::memory_order_release);
    return;
  }
  if (reset_pending_.exchange(true, std::memory_order_acq_rel)) return;  // still to come
  qemu_plugin_reset(id_, &QemuBackend::cb_reset_done);
}

void QemuBackend::on_tb(qemu_plugin_tb* tb) {
  translated_.store(true, std::memory_order_relaxed);
  if (flush_wanted_.load(std::memory_order_relaxed) && !reset_pending_.load()) {
    flush_wanted_.store(false);
    request_flush();
  }
  size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  uint64_t first = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, 0));
  if (kernel_waiters_.may_want(first, pointer_size_)) {
    qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, 0),
                                           &QemuBackend::cb_kernel, QEMU_PLUGIN_CB_R_REGS,
                                           reinterpret_cast<void*>(first));
  }
  const Table* t = table_.load(std::memory_order_acquire);
  if (t->empty()) return;
  uint64_t last = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, n - 1));
  auto it = std::lower_bound(t->begin(), t->end(), first,
                             [](const auto& p, uint64_t v) { return p.first < v; });
  if (it == t->end() || it->first > last) return;  // the common case: no hook here
  for (size_t i = 0; i < n && it != t->end(); ++i) {
    qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    uint64_t va = qemu_plugin_insn_vaddr(insn);
    while (it != t->end() && it->first < va) ++it;
    if (it == t->end() || it->first != va) continue;
    if (it->second->gated.load(std::memory_order_relaxed))
      qemu_plugin_register_vcpu_insn_exec_cond_cb(insn, &QemuBackend::cb_hook, QEMU_PLUGIN_CB_R_REGS,
                                                  QEMU_PLUGIN_COND_NE, qemu_plugin_u64{gate_, 0}, 0,
                                                  it->second);
    else
      qemu_plugin_register_vcpu_insn_exec_cb(insn, &QemuBackend::cb_hook,
                                             QEMU_PLUGIN_CB_R_REGS, it->second);
  }
}

void QemuBackend::on_hook(unsigned index, Site* site) {
  QemuVcpu* v = vcpu(index);
  if (!v) return;
  const Snapshot* s = site->fns.load(std::memory_order_acquire);
  if (!s) return;
  v->set_pc(site->va);
  const uint64_t t0 = timing_ ? monotonic_ns() : 0;
  for (const Entry* e : *s) {
    hook_calls_.fetch_add(1, std::memory_order_relaxed);
    try {
      e->fn(*v, site->va);
    } catch (...) {
      // Never let an exception unwind into QEMU.
      callback_errors_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (timing_) hook_ns_.fetch_add(monotonic_ns() - t0, std::memory_order_relaxed);
}

void QemuBackend::on_kernel(unsigned index, uint64_t pc) {
  if (!kernel_waiters_.wanted()) return;
  QemuVcpu* v = vcpu(index);
  if (!v) return;
  v->set_pc(pc);
  vmi::KernelWaiters::Offer r = vmi::KernelWaiters::Offer::waiting;
  try {
    r = kernel_waiters_.offer(*v, pc);
  } catch (...) {
    // Never let an exception unwind into QEMU (the waiter that threw is dropped).
    callback_errors_.fetch_add(1, std::memory_order_relaxed);
    if (!kernel_waiters_.wanted()) r = vmi::KernelWaiters::Offer::done;
  }
  if (r == vmi::KernelWaiters::Offer::done) request_flush();  // drop the probes from translated kernel code
}

// ---- C callbacks -------------------------------------------------------------

void QemuBackend::cb_vcpu_init(qemu_plugin_id_t, unsigned index) {
  t_vcpu_thread = true;
  QemuBackend* b = g_backend;
  if (!b || index >= b->vcpus_.size() || b->vcpus_[index]) return;
  auto v = std::make_unique<QemuVcpu>(index, b->pointer_size_, b->arch_);
  v->init_registers();
  b->vcpus_[index] = std::move(v);
  unsigned seen = b->gate_vcpus_.load();
  while (seen < index + 1 && !b->gate_vcpus_.compare_exchange_weak(seen, index + 1)) {
  }
}

void QemuBackend::cb_tb_trans(qemu_plugin_id_t, qemu_plugin_tb* tb) {
  t_vcpu_thread = true;
  if (QemuBackend* b = g_backend) b->on_tb(tb);
}

void QemuBackend::cb_hook(unsigned vcpu, void* site) {
  t_vcpu_thread = true;
  if (QemuBackend* b = g_backend) b->on_hook(vcpu, static_cast<Site*>(site));
}

void QemuBackend::cb_kernel(unsigned vcpu, void* pc) {
  t_vcpu_thread = true;
  if (QemuBackend* b = g_backend) b->on_kernel(vcpu, reinterpret_cast<uint64_t>(pc));
}

void QemuBackend::cb_reset_done(qemu_plugin_id_t) {
  QemuBackend* b = g_backend;
  if (!b) return;
  b->register_callbacks();
  b->flushes_.fetch_add(1, std::memory_order_relaxed);
  b->reset_pending_.store(false, std::memory_order_release);
}

void QemuBackend::cb_atexit(qemu_plugin_id_t, void*) {
  QemuBackend* b = g_backend;
  if (!b || b->exited_.exchange(true)) return;
  if (b->at_exit_) {
    try {
      b->at_exit_();
    } catch (...) {
    }
  }
}

}  // namespace vmitrace::backends::qemu
