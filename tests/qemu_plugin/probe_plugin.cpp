// A test-only QEMU plugin built on the backend classes (no syscalls plugin, no
// profile): it exercises registers, guest reads, when_in_kernel, hooks added and
// removed while the guest runs, and writes what it saw to out=FILE at exit for
// backend_test to check.
//   hook=ADDR    also hook this address from the start (e.g. x64_sys_call with nokaslr)
//   out=FILE     where the key=value summary goes
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backends/qemu_plugin/qemu_api.h"
#include "backends/qemu_plugin/qemu_backend.hpp"

extern "C" {
VMITRACE_QEMU_EXPORT int qemu_plugin_version = 4;
}

namespace {

using vmitrace::backends::qemu::QemuBackend;
using vmitrace::vmi::Reg;
using vmitrace::vmi::Vcpu;

struct Probe {
  std::string out;
  uint64_t fixed_hook = 0;
  QemuBackend* backend = nullptr;
  std::atomic<uint64_t> kernel_calls{0}, fixed_hits{0}, sampled_hits{0}, hits_after_remove{0};
  std::atomic<uint64_t> bad_regs{0}, bad_kernel_regs{0};
  uint64_t bad_example = 0, bad_example_addr = 0;
  std::atomic<bool> removed{false};
  std::mutex mu;
  std::set<uint64_t> sampled;  // kernel block addresses seen by when_in_kernel
  std::vector<vmitrace::vmi::HookId> sampled_ids;
  std::set<unsigned> vcpus_hit;
  uint64_t first_rip = 0, first_cr3 = 0;
  size_t code_read = 0, null_read = 0, wrap_read = 0, top_read = 0;
};
Probe* g = nullptr;

// The lab's guests run Linux (x86-64, or i386 with the default 3G/1G split).
constexpr vmitrace::vmi::KernelSpace kLinux{vmitrace::vmi::kUpperHalf, {0xc0000000ull, 0xffffffffull}};

void on_fixed(Vcpu& v, uint64_t addr) {
  g->fixed_hits.fetch_add(1);
  uint64_t rip = 0;
  if (!v.read_reg(Reg::rip, rip) || rip != addr) g->bad_regs.fetch_add(1);
  std::lock_guard<std::mutex> l(g->mu);
  g->vcpus_hit.insert(v.index());
}

void on_sampled(Vcpu& v, uint64_t addr) {
  uint64_t rip = 0;
  if (!v.read_reg(Reg::rip, rip) || rip != addr) {
    g->bad_regs.fetch_add(1);
    g->bad_example = rip;
    g->bad_example_addr = addr;
  }
  if (g->removed.load()) {
    g->hits_after_remove.fetch_add(1);
    return;
  }
  if (g->sampled_hits.fetch_add(1) + 1 == 5000) {
    // Enough: remove every sampled hook from inside a hook callback.
    std::lock_guard<std::mutex> l(g->mu);
    g->removed.store(true);
    for (auto id : g->sampled_ids) g->backend->remove_hook(id);
  }
}

bool on_kernel(Vcpu& v) {
  uint64_t n = g->kernel_calls.fetch_add(1) + 1;
  uint64_t rip = 0, cr3 = 0;
  bool ok = v.read_reg(Reg::rip, rip) && v.read_reg(Reg::cr3, cr3);
  if (!ok || !kLinux.contains(rip, g->backend->pointer_size())) g->bad_kernel_regs.fetch_add(1);
  std::lock_guard<std::mutex> l(g->mu);
  if (n == 1) {
    g->first_rip = rip;
    g->first_cr3 = cr3;
    uint8_t buf[64];
    g->code_read = v.read_virt(rip, buf, 16);
    g->null_read = v.read_virt(0, buf, 16);
    // The last bytes of the address space: never more than what is left.
    g->wrap_read = v.read_virt(UINT64_MAX - 7, buf, 64);
    g->top_read = v.read_virt(0xfffffffffffff000ull, buf, 64);
  }
  g->sampled.insert(rip);
  if (g->sampled.size() < 64) return false;
  for (uint64_t a : g->sampled) g->sampled_ids.push_back(g->backend->add_hook(a, on_sampled));
  return true;
}

void at_exit() {
  FILE* f = std::fopen(g->out.c_str(), "w");
  if (!f) return;
  auto st = g->backend->stats();
  std::fprintf(f,
               "kernel_calls=%" PRIu64 "\nfirst_rip=0x%" PRIx64 "\nfirst_cr3=0x%" PRIx64
               "\ncode_read=%zu\nnull_read=%zu\nwrap_read=%zu\ntop_read=%zu\nsampled=%zu\n"
               "sampled_hits=%" PRIu64 "\nhits_after_remove=%" PRIu64 "\nfixed_hits=%" PRIu64
               "\nvcpus_hit=%zu\nbad_regs=%" PRIu64 "\nbad_kernel_regs=%" PRIu64 "\nbad_example=0x%" PRIx64 "/0x%" PRIx64 "\nflushes=%" PRIu64
               "\ncallback_errors=%" PRIu64 "\n",
               g->kernel_calls.load(), g->first_rip, g->first_cr3, g->code_read, g->null_read,
               g->wrap_read, g->top_read, g->sampled.size(), g->sampled_hits.load(),
               g->hits_after_remove.load(), g->fixed_hits.load(), g->vcpus_hit.size(),
               g->bad_regs.load(), g->bad_kernel_regs.load(), g->bad_example, g->bad_example_addr, st.flushes, st.callback_errors);
  std::fclose(f);
}

}  // namespace

extern "C" VMITRACE_QEMU_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                                        const qemu_info_t* info, int argc,
                                                        char** argv) {
  try {
    g = new Probe();
    for (int i = 0; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("out=", 0) == 0) g->out = a.substr(4);
      else if (a.rfind("hook=", 0) == 0) g->fixed_hook = std::stoull(a.substr(5), nullptr, 0);
      else throw std::runtime_error("probe: unknown argument " + a);
    }
    if (g->out.empty()) throw std::runtime_error("probe: out=FILE required");
    g->backend = new QemuBackend(id, *info);
    g->backend->install(&at_exit);
    if (g->fixed_hook) g->backend->add_hook(g->fixed_hook, on_fixed);
    g->backend->when_in_kernel(kLinux, on_kernel);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
