#include "backends/gdb/gdb_backend.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <thread>

namespace vmitrace::gdb {

using vmi::Reg;

// One vCPU (one gdbstub thread). Registers are fetched once per stop with 'g' (the
// rest, if the stub leaves them out of 'g', one by one with 'p').
class GdbVcpu final : public vmi::Vcpu {
 public:
  GdbVcpu(GdbBackend& b, unsigned index, std::string tid) : b_(b), index_(index), tid_(std::move(tid)) {}
  unsigned index() const override { return index_; }
  const std::string& tid() const { return tid_; }
  void invalidate() {
    have_g_ = false;
    have_paging_ = false;
  }

  bool read_index(int idx, uint64_t& out) {
    if (idx < 0) return false;
    const RegInfo& r = b_.desc_.regs[static_cast<size_t>(idx)];
    unsigned bytes = (r.bits + 7) / 8;
    if (bytes > 8) return false;
    std::string raw;
    try {
      b_.select_thread(tid_);
      if (r.offset + bytes <= b_.g_bytes_) {
        if (!have_g_) {
          std::string rep = b_.client_->request("g");
          if (!from_hex(rep, g_) || g_.size() < b_.g_bytes_) return false;
          have_g_ = true;
        }
        raw = g_.substr(r.offset, bytes);
      } else {
        char q[16];
        std::snprintf(q, sizeof q, "p%x", r.regnum);
        std::string rep = b_.client_->request(q);
        if (!from_hex(rep, raw) || raw.size() < bytes) return false;
      }
    } catch (const GdbTimeout&) {
      return false;
    }
    out = 0;
    std::memcpy(&out, raw.data(), bytes);  // target byte order: little-endian (x86, aarch64)
    return true;
  }

  bool read_reg(Reg r, uint64_t& out) override {
    return read_index(b_.reg_index_[static_cast<int>(r)], out);
  }

  bool paging(vmi::PagingRegs& p) {
    if (!have_paging_) {
      uint64_t efer = 0;
      if (!read_index(b_.cr0_index_, paging_.cr0) || !read_index(b_.cr3_index_, paging_.cr3) ||
          !read_index(b_.cr4_index_, paging_.cr4))
        return false;
      read_index(b_.efer_index_, efer);  // i386 stubs have no efer: 0 = no long mode
      paging_.efer = efer;
      have_paging_ = true;
    }
    p = paging_;
    return true;
  }

  // TTBR0_EL1, TTBR1_EL1 and TCR_EL1, once per stop.
  bool arm64_paging(vmi::Arm64PagingRegs& p) {
    if (!have_paging_) {
      if (!read_reg(Reg::ttbr0_el1, arm64_.ttbr0) || !read_reg(Reg::ttbr1_el1, arm64_.ttbr1) ||
          !read_reg(Reg::tcr_el1, arm64_.tcr))
        return false;
      have_paging_ = true;
    }
    p = arm64_;
    return true;
  }

  size_t read_virt(uint64_t va, void* buf, size_t len) override {
    try {
      if (b_.target_ == vmi::GdbTarget::aarch64) {
        vmi::Arm64PagingRegs p;
        return arm64_paging(p) ? b_.arm64_walker_.read_virt(p, va, buf, len) : 0;
      }
      vmi::PagingRegs p;
      return paging(p) ? b_.walker_.read_virt(p, va, buf, len) : 0;
    } catch (const GdbTimeout&) {
      return 0;
    }
  }

  uint64_t timestamp_ns() override {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
  }

  unsigned pointer_size() const override {
    // aarch64: 8 (the kernel is AArch64 even when an AArch32 task runs). x86: long
    // mode active (EFER.LMA) -> 8; a stub without efer is an i386 target.
    if (b_.target_ == vmi::GdbTarget::aarch64) return 8;
    auto* self = const_cast<GdbVcpu*>(this);
    uint64_t efer = 0;
    if (b_.efer_index_ < 0) return 4;
    if (!self->read_index(b_.efer_index_, efer)) return 8;
    return (efer & (1u << 10)) ? 8 : 4;
  }

 private:
  GdbBackend& b_;
  unsigned index_;
  std::string tid_;
  bool have_g_ = false, have_paging_ = false;
  std::string g_;
  vmi::PagingRegs paging_;
  vmi::Arm64PagingRegs arm64_;
};

GdbBackend::GdbBackend(const GdbBackendOptions& opt)
    : opt_(opt),
      walker_([this](uint64_t pa, void* b, size_t l) { return phys_read(pa, b, l); }),
      arm64_walker_([this](uint64_t pa, void* b, size_t l) { return phys_read(pa, b, l); }) {
  if (!opt_.guest_ram.empty()) ram_ = std::make_unique<GuestRam>(opt_.guest_ram, opt_.machine);
  ClientOptions co;
  co.timeout_ms = opt_.timeout_ms;
  co.name = opt_.endpoint;
  client_ = std::make_unique<Client>(connect_endpoint(opt_.endpoint, opt_.timeout_ms), co);
  guard_.arm(client_->fd());  // best effort: without it only a SIGKILL is left unhandled

  std::string sup;
  try {
    sup = client_->request("qSupported:xmlRegisters=i386");
  } catch (const GdbTimeout&) {
    throw Error(opt_.endpoint, "no answer to qSupported: not a gdbstub (or it is busy with another debugger)");
  }
  if (sup.find("qXfer:features:read+") == std::string::npos)
    throw Error(opt_.endpoint, "the stub gives no target description (qXfer:features:read); not QEMU's gdbstub?");
  size_t packet = 4096;
  if (auto p = sup.find("PacketSize="); p != std::string::npos) {
    uint64_t v = 0;
    auto e = sup.find(';', p);
    if (parse_hex_u64(sup.substr(p + 11, e == std::string::npos ? std::string::npos : e - p - 11), v) && v >= 64)
      packet = std::min<uint64_t>(v, 128 * 1024);
  }
  max_read_ = std::min<size_t>(4096, (packet - 16) / 2);
  client_->start_no_ack();

  desc_ = read_target_desc([this](const std::string& annex) {
    std::string all;
    for (size_t off = 0;;) {
      char q[160];
      std::snprintf(q, sizeof q, "qXfer:features:read:%s:%zx,%zx", annex.c_str(), off, max_read_);
      std::string r = client_->request(q);
      if (r.empty() || (r[0] != 'm' && r[0] != 'l'))
        throw Error(opt_.endpoint, "cannot read target description " + annex + " (" + r.substr(0, 16) + ")");
      all.append(r, 1, std::string::npos);
      off += r.size() - 1;
      if (r[0] == 'l') break;
      if (all.size() > (1u << 20)) throw Error(opt_.endpoint, "target description larger than 1 MiB");
    }
    return all;
  });
  find_registers();

  // Size of the 'g' reply: ask once (the stub decides which registers it holds).
  std::string g = client_->request("g");
  g_bytes_ = static_cast<unsigned>(g.size() / 2);

  // One thread per vCPU.
  for (std::string r = client_->request("qfThreadInfo"); !r.empty() && r[0] == 'm';
       r = client_->request("qsThreadInfo")) {
    size_t p = 1;
    while (p < r.size()) {
      size_t e = r.find(',', p);
      threads_.push_back(r.substr(p, e == std::string::npos ? std::string::npos : e - p));
      if (e == std::string::npos) break;
      p = e + 1;
    }
    if (threads_.size() > 4096) throw Error(opt_.endpoint, "more than 4096 threads");
  }
  if (threads_.empty()) throw Error(opt_.endpoint, "the stub lists no threads (vCPUs)");
  for (size_t i = 0; i < threads_.size(); ++i)
    vcpus_.push_back(std::make_unique<GdbVcpu>(*this, static_cast<unsigned>(i), threads_[i]));

  if (!ram_) {
    if (client_->request("Qqemu.PhyMemMode:1") != "OK")
      throw Error(opt_.endpoint, "the stub has no physical memory mode (Qqemu.PhyMemMode); use --guest-ram");
    phys_mode_ = true;
  }
}

GdbBackend::~GdbBackend() { detach(); }

// The target from the description's <architecture>, and where each register vmi::Reg
// names is (by QEMU's names for that target: vmi/gdb_reg_names.hpp).
void GdbBackend::find_registers() {
  const std::string& a = desc_.architecture;
  if (a == "aarch64") {
    target_ = vmi::GdbTarget::aarch64;
    bp_kind_ = 4;
    if (ram_)
      throw Error(opt_.guest_ram, "the RAM layouts known are x86's (pc, q35), the stub's target is aarch64: "
                                  "leave --guest-ram out (memory is read through the stub)");
  } else if (a.rfind("i386", 0) == 0) {
    target_ = a == "i386:x86-64" ? vmi::GdbTarget::x86_64 : vmi::GdbTarget::i386;
  } else {
    throw Error(opt_.endpoint, "the stub's target is '" + a + "', not x86 (i386, i386:x86-64) or aarch64");
  }
  auto index_of = [&](const char* n) {
    for (size_t k = 0; n && k < desc_.regs.size(); ++k)
      if (desc_.regs[k].name == n) return static_cast<int>(k);
    return -1;
  };
  for (int i = 0; i < static_cast<int>(Reg::count); ++i) {
    const auto r = static_cast<Reg>(i);
    if (target_ == vmi::GdbTarget::aarch64) {
      reg_index_[i] = index_of(vmi::gdb_reg_name(r, target_));
    } else {  // the x86-64 name, else the i386 one
      reg_index_[i] = index_of(vmi::gdb_reg_name(r, vmi::GdbTarget::x86_64));
      if (reg_index_[i] < 0) reg_index_[i] = index_of(vmi::gdb_reg_name(r, vmi::GdbTarget::i386));
    }
  }
  auto have = [&](std::initializer_list<Reg> regs) {
    for (Reg r : regs)
      if (reg_index_[static_cast<int>(r)] < 0) return false;
    return true;
  };
  if (target_ == vmi::GdbTarget::aarch64) {
    // The page walk needs TTBR0/TTBR1/TCR; the OS layer SP_EL0 (current) and VBAR (KASLR).
    if (!have({Reg::pc, Reg::sp, Reg::x0, Reg::pstate, Reg::ttbr0_el1, Reg::ttbr1_el1, Reg::tcr_el1,
               Reg::sp_el0, Reg::vbar_el1}))
      throw Error(opt_.endpoint,
                  "the target description has no pc/cpsr/SP_EL0/TTBR0_EL1/TTBR1_EL1/TCR_EL1/VBAR (needs QEMU's "
                  "aarch64 system gdbstub with its system registers, QEMU 5.2 or later)");
    return;
  }
  cr0_index_ = index_of("cr0");
  cr3_index_ = index_of("cr3");
  cr4_index_ = index_of("cr4");
  efer_index_ = index_of("efer");
  if (cr0_index_ < 0 || cr3_index_ < 0 || cr4_index_ < 0 || !have({Reg::rip}))
    throw Error(opt_.endpoint, "the target description has no cr0/cr3/cr4/rip (needs QEMU's x86 system gdbstub)");
}

void GdbBackend::select_thread(const std::string& tid) {
  if (tid == cur_thread_) return;
  if (client_->request("Hg" + tid) != "OK") throw GdbError(opt_.endpoint, "cannot select thread " + tid);
  cur_thread_ = tid;
}

size_t GdbBackend::phys_read(uint64_t pa, void* buf, size_t len) {
  if (ram_) return ram_->read(pa, buf, len);
  auto* out = static_cast<uint8_t*>(buf);
  size_t done = 0;
  std::string bytes;
  while (done < len) {
    size_t n = std::min(len - done, max_read_);
    char q[48];
    std::snprintf(q, sizeof q, "m%llx,%zx", static_cast<unsigned long long>(pa + done), n);
    std::string r = client_->request(q);
    if (r.empty() || r[0] == 'E' || !from_hex(r, bytes) || bytes.empty()) break;
    size_t got = std::min(bytes.size(), n);
    std::memcpy(out + done, bytes.data(), got);
    done += got;
    if (got < n) break;
  }
  return done;
}

void GdbBackend::insert_bp(uint64_t va) {
  char q[48];
  std::snprintf(q, sizeof q, "Z0,%llx,%u", static_cast<unsigned long long>(va), bp_kind_);
  std::string r = client_->request(q);
  if (r != "OK") throw GdbError(opt_.endpoint, std::string("cannot set a breakpoint (") + q + " -> " + r.substr(0, 8) + ")");
  inserted_.insert(va);
}

void GdbBackend::remove_bp(uint64_t va) {
  char q[48];
  std::snprintf(q, sizeof q, "z0,%llx,%u", static_cast<unsigned long long>(va), bp_kind_);
  client_->request(q);
  inserted_.erase(va);
}

bool GdbBackend::Site::wanted(bool gate_open) const { return plain > 0 || (gated > 0 && gate_open); }

// Puts the breakpoint at va in or takes it out as its hooks and the gate want. Only
// while the guest is stopped (packets to a running stub get no answer until it
// stops); otherwise resume() does it.
void GdbBackend::apply_site(uint64_t va) {
  if (detached_) return;
  if (running_) {
    sites_dirty_ = true;
    return;
  }
  auto s = sites_.find(va);
  const bool want = s != sites_.end() && s->second.wanted(gate_open_);
  if (want && !inserted_.count(va)) insert_bp(va);
  if (!want && inserted_.count(va)) {
    try {
      remove_bp(va);
    } catch (const GdbError&) {
    }
  }
}

vmi::HookId GdbBackend::add_entry(uint64_t va, vmi::HookFn fn, bool gated) {
  Site& s = sites_[va];
  ++(gated ? s.gated : s.plain);
  vmi::HookId id = next_id_++;
  hooks_.emplace(id, Hook{va, std::move(fn), gated});
  apply_site(va);
  return id;
}

vmi::HookId GdbBackend::add_hook(uint64_t va, vmi::HookFn fn) { return add_entry(va, std::move(fn), false); }

vmi::HookId GdbBackend::add_gated_hook(uint64_t va, vmi::HookFn fn) { return add_entry(va, std::move(fn), true); }

// A gated site's breakpoint is in the guest only while the gate is open: a return site
// that every syscall passes (a filter file's per-syscall functions return through
// invoke_syscall) then stops the guest only between a traced entry and its return.
// Each change costs a Z or z packet per gated site.
void GdbBackend::set_gate(bool open) {
  if (open == gate_open_) return;
  gate_open_ = open;
  for (const auto& [va, s] : sites_)
    if (s.gated > 0 && s.plain == 0) apply_site(va);
}

void GdbBackend::remove_hook(vmi::HookId id) {
  auto it = hooks_.find(id);
  if (it == hooks_.end()) return;
  const uint64_t va = it->second.va;
  const bool gated = it->second.gated;
  hooks_.erase(it);
  auto s = sites_.find(va);
  if (s == sites_.end()) return;
  --(gated ? s->second.gated : s->second.plain);
  if (s->second.plain == 0 && s->second.gated == 0) sites_.erase(s);
  apply_site(va);
}

void GdbBackend::when_in_kernel(const vmi::KernelSpace& kernel, std::function<bool(vmi::Vcpu&)> fn) {
  kernel_waiters_.add(kernel, std::move(fn));
}

void GdbBackend::resume() {
  if (sites_dirty_) {  // a change while the guest ran: every site as wanted now
    sites_dirty_ = false;
    std::vector<uint64_t> vas(inserted_.begin(), inserted_.end());
    for (const auto& [va, s] : sites_) vas.push_back(va);
    for (uint64_t va : vas) apply_site(va);
  }
  walker_.invalidate();
  arm64_walker_.invalidate();
  for (auto& v : vcpus_) v->invalidate();
  client_->send("c");
  running_ = true;
}

bool GdbBackend::wait_stop(std::string& reply, int timeout_ms) {
  for (;;) {
    if (!client_->wait_packet(reply, timeout_ms)) return false;
    if (reply.empty()) continue;
    char k = reply[0];
    if (k == 'O' && reply != "OK") continue;  // console output
    if (k == 'W' || k == 'X') throw GdbError(opt_.endpoint, "the guest ended (" + reply.substr(0, 8) + ")");
    if (k == 'T' || k == 'S') {
      running_ = false;
      ++stats_.stops;
      return true;
    }
    // Anything else while waiting for a stop is out of protocol: skip it.
  }
}

std::string GdbBackend::stop_thread(const std::string& reply) const {
  auto p = reply.find("thread:");
  if (p == std::string::npos) return threads_.front();
  p += 7;
  auto e = reply.find(';', p);
  std::string t = reply.substr(p, e == std::string::npos ? std::string::npos : e - p);
  return t;
}

GdbVcpu& GdbBackend::vcpu_for(const std::string& tid) {
  for (auto& v : vcpus_)
    if (v->tid() == tid) return *v;
  return *vcpus_.front();
}

// Offers every stopped vCPU in kernel mode to the when_in_kernel callback.
bool GdbBackend::probe_kernel() {
  ++stats_.kernel_probes;
  for (auto& v : vcpus_) {
    uint64_t ip = 0;
    if (!v->read_reg(Reg::rip, ip) || !kernel_waiters_.may_want(ip, v->pointer_size())) continue;
    if (kernel_waiters_.offer(*v, ip) == vmi::KernelWaiters::Offer::done) return true;
  }
  return false;
}

// QEMU's TCG lets a single step override breakpoints, so the breakpoint can stay in
// place: removing and re-inserting one flushes every translated block, which costs far
// more than the round trips. Under KVM the breakpoint is an int3 in guest memory and
// the step would hit it again without progress: detected on the first hit (rip still
// at the breakpoint), after which every hit removes, steps and re-inserts.
void GdbBackend::step_over(const std::string& tid, uint64_t va) {
  std::string r;
  if (!dance_) {
    client_->send("vCont;s:" + tid);
    running_ = true;
    if (!wait_stop(r, opt_.timeout_ms)) throw GdbTimeout(opt_.endpoint, "single step did not stop (timeout)");
    cur_thread_ = stop_thread(r);
    if (step_checked_) return;
    step_checked_ = true;
    GdbVcpu& v = vcpu_for(tid);
    v.invalidate();
    uint64_t ip = 0;
    if (!v.read_reg(Reg::rip, ip) || ip != va) return;
    dance_ = true;
  }
  if (inserted_.count(va)) remove_bp(va);  // (a closing gate may have taken it out already)
  client_->send("vCont;s:" + tid);
  running_ = true;
  if (!wait_stop(r, opt_.timeout_ms)) throw GdbTimeout(opt_.endpoint, "single step did not stop (timeout)");
  cur_thread_ = stop_thread(r);
  apply_site(va);  // back in if still wanted
}

void GdbBackend::on_stop(const std::string& reply) {
  std::string tid = stop_thread(reply);
  GdbVcpu& v = vcpu_for(tid);
  uint64_t ip = 0;
  if (v.read_reg(Reg::rip, ip) && inserted_.count(ip)) {
    ++stats_.hook_hits;
    // Copy the ids first: a hook may add or remove hooks.
    std::vector<vmi::HookId> ids;
    for (auto& [id, h] : hooks_)
      if (h.va == ip) ids.push_back(id);
    for (auto id : ids) {
      auto it = hooks_.find(id);
      // Gated hooks only while the gate is open (their site may hold plain hooks too).
      if (it != hooks_.end() && (!it->second.gated || gate_open_)) {
        auto fn = it->second.fn;  // the hook may remove itself
        fn(v, ip);
      }
    }
    step_over(tid, ip);
  } else if (reply.rfind("T02", 0) == 0 || reply.rfind("S02", 0) == 0) {
    ++stats_.interrupts;  // SIGINT: the answer to our own interrupt
  } else {
    ++stats_.other_stops;
  }
}

GdbTimeout GdbBackend::no_answer(const char* to) const {
  return GdbTimeout(opt_.endpoint, std::string("no answer to ") + to + " within " +
                                       std::to_string(opt_.timeout_ms) + " ms (QEMU stopped or hung?)");
}

void GdbBackend::run(const std::atomic<bool>& stop) {
  using Clock = std::chrono::steady_clock;
  std::string reply;
  // The guest is stopped after attach: find the kernel first.
  while (kernel_waiters_.wanted() && !stop.load()) {
    if (probe_kernel()) break;
    resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    client_->interrupt();
    if (!wait_stop(reply, opt_.timeout_ms)) throw no_answer("an interrupt");
    cur_thread_.clear();
    if (reply.rfind("T05", 0) == 0) on_stop(reply);
  }
  const auto heartbeat = std::chrono::milliseconds(opt_.timeout_ms);
  while (!stop.load()) {
    resume();
    const auto resumed_at = Clock::now();
    for (;;) {
      if (wait_stop(reply, 100)) {
        cur_thread_ = stop_thread(reply);
        on_stop(reply);
        break;
      }
      // Stopping, or the guest ran a whole deadline without a stop: interrupt it. A
      // stop reply is then due, so a QEMU that stopped answering (SIGSTOP, hung) is
      // noticed within two deadlines instead of never. Otherwise the guest goes on.
      const bool stopping = stop.load();
      if (!stopping && Clock::now() - resumed_at < heartbeat) continue;
      client_->interrupt();
      if (!wait_stop(reply, opt_.timeout_ms)) throw no_answer("an interrupt");
      cur_thread_.clear();
      // A breakpoint hit may have raced the interrupt: handle it (the event counts).
      on_stop(reply);
      if (stopping) return;
      break;
    }
  }
}

// Sends what a detach would, without waiting for answers: a stub that stopped
// answering (QEMU stopped with SIGSTOP) handles it when it runs again.
void GdbBackend::detach_blind() noexcept {
  try {
    char q[48];
    for (uint64_t va : inserted_) {
      std::snprintf(q, sizeof q, "z0,%llx,%u", static_cast<unsigned long long>(va), bp_kind_);
      client_->send_blind(q);
    }
    if (phys_mode_) client_->send_blind("Qqemu.PhyMemMode:0");
    client_->send_blind("D");
  } catch (const std::exception&) {
  }
}

bool GdbBackend::detach(std::string* why) noexcept {
  if (detached_) return true;
  detached_ = true;
  // Until vmitrace has sent its detach, the guard still covers a kill (a second
  // detach only stops and resumes the guest once more).
  struct Disarm {
    DetachGuard& g;
    ~Disarm() { g.disarm(); }
  } disarm{guard_};
  try {
    if (running_) {
      client_->interrupt();
      std::string r;
      if (!wait_stop(r, opt_.timeout_ms)) throw no_answer("an interrupt");
    }
    const std::vector<uint64_t> left(inserted_.begin(), inserted_.end());
    for (uint64_t va : left) remove_bp(va);
    if (phys_mode_) client_->request("Qqemu.PhyMemMode:0");
    client_->request("D");
    return true;
  } catch (const GdbTimeout& e) {
    detach_blind();
    if (why) *why = e.what();
    return false;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return false;
  }
}

int GdbBackend::stub_pid() const { return client_->peer_pid(); }

}  // namespace vmitrace::gdb
