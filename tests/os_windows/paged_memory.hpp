// Guest memory behind real x86-64 page tables (4-level, built on demand in a sparse
// physical memory) and a vCPU that reads it through the project's page walker, so
// the Windows tests run against translated addresses as a backend would give them.
// A flat variant (no paging) serves the 32-bit guest.
#pragma once
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "fake_guest.hpp"
#include "vmi/x86_paging.hpp"

namespace vmitrace::testing {

class GuestMemory {
 public:
  virtual ~GuestMemory() = default;
  virtual void write(uint64_t va, const void* data, size_t len) = 0;
  virtual size_t read(uint64_t va, void* buf, size_t len) = 0;
  virtual void unmap(uint64_t va) = 0;
  void write_u8(uint64_t va, uint8_t v) { write(va, &v, 1); }
  void write_u16(uint64_t va, uint16_t v) { write(va, &v, 2); }
  void write_u32(uint64_t va, uint32_t v) { write(va, &v, 4); }
  void write_u64(uint64_t va, uint64_t v) { write(va, &v, 8); }
};

// 4-level long-mode tables; frames are handed out upward from first_frame (1 MiB).
class PagedMemory : public GuestMemory {
 public:
  explicit PagedMemory(uint64_t pml4 = 0x1a2b3000, uint64_t first_frame = 0x100000)
      : pml4_(pml4), next_(first_frame) { phys.map(pml4_, 4096); }
  void write(uint64_t va, const void* data, size_t len) override {
    const auto* s = static_cast<const uint8_t*>(data);
    while (len) {
      const size_t n = std::min<size_t>(len, 4096 - (va & 0xfff));
      phys.write(frame(va, true) | (va & 0xfff), s, n);
      va += n, s += n, len -= n;
    }
  }
  size_t read(uint64_t va, void* buf, size_t len) override {
    return walker_.read_virt(regs(), va, buf, len);
  }
  void unmap(uint64_t va) override {
    uint64_t pte_addr = 0;
    if (entry_addr(va, &pte_addr)) phys.write_u64(pte_addr, 0);
    walker_.invalidate();
  }
  // Maps va's page to the physical frame pa (the mock guest's identity-mapped boot page).
  void map_frame(uint64_t va, uint64_t pa) {
    uint64_t pte = 0;
    frame(va, true);
    entry_addr(va, &pte);
    phys.map(pa, 4096);
    phys.write_u64(pte, (pa & ~uint64_t{0xfff}) | kFlags);
    walker_.invalidate();
  }
  uint64_t frames_end() const { return next_; }  // above every frame handed out

  // Several address spaces (the mock guest's processes). clone_root: a new PML4 whose
  // kernel half (entries 256..511) is this root's own entries (the same tables: kernel
  // writes are seen by both as long as they land in an entry that existed) and whose
  // user half has its own tables mapping the same frames. make_private: va's page gets
  // a frame of its own (a copy) in the selected root. write() and read() use the
  // selected root.
  uint64_t clone_root() {
    const uint64_t to = alloc();
    for (unsigned i = 256; i < 512; ++i) phys.write_u64(to + i * 8, phys_u64(pml4_ + i * 8));
    for (unsigned i = 0; i < 256; ++i) phys.write_u64(to + i * 8, clone_table(phys_u64(pml4_ + i * 8), 3));
    return to;
  }
  void select_root(uint64_t pml4) {
    pml4_ = pml4;
    walker_.invalidate();
  }
  uint64_t root() const { return pml4_; }
  void make_private(uint64_t va) {
    uint64_t pte = 0;
    frame(va, true);
    entry_addr(va, &pte);
    const uint64_t old = phys_u64(pte) & 0x000ffffffffff000ull, fresh = alloc();
    uint8_t page[4096];
    phys.read(old, page, sizeof page);
    phys.write(fresh, page, sizeof page);
    phys.write_u64(pte, fresh | kFlags);
    walker_.invalidate();
  }
  vmi::PagingRegs regs() const { return {0x80000001ull, pml4_ | 0xc4d, 0x20, 0x500}; }
  uint64_t cr3() const { return pml4_ | 0xc4d; }  // low bits: the PCID, as a guest has
  FakeMemory phys;

 private:
  static constexpr uint64_t kFlags = 0x7;  // present, writable, user
  uint64_t phys_u64(uint64_t pa) {
    uint64_t v = 0;
    phys.read(pa, &v, 8);
    return v;
  }
  // A copy of a table entry's subtree down to (not including) the leaf frames.
  uint64_t clone_table(uint64_t entry, int level) {
    if (!(entry & 1) || level == 0) return entry;
    const uint64_t from = entry & 0x000ffffffffff000ull, to = alloc();
    for (unsigned i = 0; i < 512; ++i) phys.write_u64(to + i * 8, clone_table(phys_u64(from + i * 8), level - 1));
    return to | (entry & 0xfff);
  }
  uint64_t alloc() {
    const uint64_t f = next_;
    next_ += 4096;
    phys.map(f, 4096);
    return f;
  }
  // Physical frame of va's page, creating the tables (and the page) when asked.
  uint64_t frame(uint64_t va, bool create) {
    uint64_t table = pml4_;
    for (int shift = 39; shift >= 12; shift -= 9) {
      const uint64_t slot = table + ((va >> shift) & 511) * 8;
      uint64_t e = 0;
      phys.read(slot, &e, 8);
      if (!(e & 1)) {
        if (!create) return 0;
        e = alloc() | kFlags;
        phys.write_u64(slot, e);
      }
      table = e & 0x000ffffffffff000ull;
    }
    return table;
  }
  bool entry_addr(uint64_t va, uint64_t* pte) {
    uint64_t table = pml4_;
    for (int shift = 39; shift >= 12; shift -= 9) {
      const uint64_t slot = table + ((va >> shift) & 511) * 8;
      if (shift == 12) { *pte = slot; return true; }
      uint64_t e = 0;
      phys.read(slot, &e, 8);
      if (!(e & 1)) return false;
      table = e & 0x000ffffffffff000ull;
    }
    return false;
  }
  uint64_t pml4_;
  uint64_t next_;
  vmi::PageWalker walker_{[this](uint64_t pa, void* b, size_t n) { return phys.read(pa, b, n); }};
};

class FlatMemory : public GuestMemory {
 public:
  void write(uint64_t va, const void* data, size_t len) override { mem.write(va, data, len); }
  size_t read(uint64_t va, void* buf, size_t len) override { return mem.read(va, buf, len); }
  void unmap(uint64_t va) override { mem.unmap(va); }
  FakeMemory mem;
};

class MemVcpu : public vmi::Vcpu {
 public:
  MemVcpu(GuestMemory& m, unsigned ptr_size, unsigned index = 0) : m_(m), ptr_(ptr_size), index_(index) {}
  unsigned index() const override { return index_; }
  bool read_reg(vmi::Reg r, uint64_t& out) override {
    out = regs[static_cast<size_t>(r)];
    return true;
  }
  size_t read_virt(uint64_t va, void* buf, size_t len) override {
    ++reads;
    return m_.read(va, buf, len);
  }
  uint64_t timestamp_ns() override { return now; }
  uint64_t now = 1706000000000000000ull;  // tests move it
  unsigned pointer_size() const override { return ptr_; }
  uint64_t& reg(vmi::Reg r) { return regs[static_cast<size_t>(r)]; }
  uint64_t regs[static_cast<size_t>(vmi::Reg::count)] = {};
  uint64_t reads = 0;  // read_virt calls (a backend's cost unit)

 private:
  GuestMemory& m_;
  unsigned ptr_, index_;
};

}  // namespace vmitrace::testing
