// vmi::plan_field_windows and vmi::WindowedRead: fields grouped into few reads, and
// a window cut short by an unmapped page never yields stale or foreign bytes.
#include <gtest/gtest.h>

#include "fake_guest.hpp"
#include "vmi/field_windows.hpp"

namespace vmitrace::testing {
namespace {

using vmi::FieldSpan;
using vmi::kNoField;

TEST(FieldWindows, NearFieldsShareAWindowFarOnesDoNot) {
  const FieldSpan f[] = {{0x5a8, 15}, {0x440, 8}, {kNoField, 8}, {0x540, 8}, {0x4d0 + 0x400, 8}};
  auto w = vmi::plan_field_windows(f, 512, 512);
  ASSERT_EQ(w.count, 2u);
  EXPECT_EQ(w.win[0].offset, 0x440u);
  EXPECT_EQ(w.win[0].length, 0x5a8u + 15 - 0x440);  // pid .. end of the name
  EXPECT_EQ(w.win[1].offset, 0x8d0u);
  EXPECT_EQ(w.win[1].length, 8u);
}

TEST(FieldWindows, WindowLengthIsCapped) {
  // Within the gap of each other, but together longer than max_window.
  const FieldSpan f[] = {{0, 8}, {300, 8}, {600, 8}};
  auto w = vmi::plan_field_windows(f, 512, 512);
  ASSERT_EQ(w.count, 2u);
  EXPECT_EQ(w.win[0].length, 308u);
  EXPECT_EQ(w.win[1].offset, 600u);
  for (unsigned i = 0; i < w.count; ++i) EXPECT_LE(w.win[i].length, 512u);
}

struct Obj {
  static constexpr uint64_t kBase = 0x10000 + FakeMemory::kPage - 0x100;  // 0x100 bytes before a page end
  FakeMemory mem;
  FakeVcpu cpu{mem, 0};
  vmi::FieldWindows w;
  Obj() {
    const FieldSpan f[] = {{0x10, 8}, {0x80, 8}, {0x120, 8}};  // one window 0x10..0x128
    w = vmi::plan_field_windows(f, 512, 512);
    mem.write_u64(kBase + 0x10, 0x1111);
    mem.write_u64(kBase + 0x80, 0x2222);
    mem.write_u64(kBase + 0x120, 0x3333);
  }
};

TEST(WindowedRead, OneReadForTheWholeWindow) {
  Obj o;
  ASSERT_EQ(o.w.count, 1u);
  vmi::WindowedRead r(o.cpu, Obj::kBase, o.w);
  uint64_t a = 0, b = 0, c = 0;
  EXPECT_TRUE(r.get_uint(0x10, 8, a));
  EXPECT_TRUE(r.get_uint(0x80, 8, b));
  EXPECT_TRUE(r.get_uint(0x120, 8, c));
  EXPECT_EQ(a, 0x1111u);
  EXPECT_EQ(b, 0x2222u);
  EXPECT_EQ(c, 0x3333u);
  EXPECT_EQ(o.cpu.reads, 1u);
  EXPECT_FALSE(r.get_uint(kNoField, 8, a));
}

TEST(WindowedRead, AWindowCutByAnUnmappedPageServesOnlyWhatWasRead) {
  Obj o;
  o.mem.unmap(Obj::kBase + 0x120);  // the page holding the third field
  vmi::WindowedRead r(o.cpu, Obj::kBase, o.w);
  uint64_t a = 0, c = 0xdead;
  EXPECT_TRUE(r.get_uint(0x10, 8, a));
  EXPECT_EQ(a, 0x1111u);
  EXPECT_FALSE(r.get_uint(0x120, 8, c));  // read alone, and that fails too
  EXPECT_EQ(c, 0xdeadu);                  // untouched
  EXPECT_EQ(o.cpu.reads, 2u);
}

TEST(WindowedRead, AFailedWindowFallsBackToFieldReads) {
  Obj o;
  o.mem.unmap(Obj::kBase);  // the window's first page: the window read gets nothing
  vmi::WindowedRead r(o.cpu, Obj::kBase, o.w);
  uint64_t a = 0, c = 0;
  EXPECT_FALSE(r.get_uint(0x10, 8, a));
  EXPECT_TRUE(r.get_uint(0x120, 8, c));  // on the next page, still mapped
  EXPECT_EQ(c, 0x3333u);
  EXPECT_EQ(o.cpu.reads, 3u);  // the window + one per field asked
}

}  // namespace
}  // namespace vmitrace::testing
