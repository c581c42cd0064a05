// format_event runs for every event: once the caller's string has grown, it must
// not allocate. Counted with a replacement operator new (this binary only).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "output/format.hpp"
#include "record_helpers.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
}  // namespace

// GCC cannot see that these replace the global pair together.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_counting) ++g_allocs;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// The nothrow form too (simdjson uses it): otherwise ASan pairs its own
// operator new with the free() above and reports alloc-dealloc-mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting) ++g_allocs;
  return std::malloc(n ? n : 1);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace vmitrace;

TEST(FormatAlloc, NoHeapAllocationInSteadyState) {
  test::RecordBuf entry_buf, ret_buf, unknown_buf;
  const event::Record& entry = test::openat_entry(entry_buf);
  const event::Record& ret = test::openat_return(ret_buf, -2);
  event::Record& unk = unknown_buf.rec();
  test::fill_context(unk);
  unk.nr = 12345;
  unk.nargs = 6;
  unknown_buf.done();
  test::RecordBuf win_entry_buf, win_ret_buf;
  const event::Record& win_entry = test::ntcreatefile_entry(win_entry_buf);
  const event::Record& win_ret = test::ntcreatefile_return(win_ret_buf, 0xC0000034);
  for (output::ArgStyle st : {output::ArgStyle::raw, output::ArgStyle::rich})
  for (output::Format f : {output::Format::json, output::Format::kv, output::Format::csv,
                           output::Format::drakvuf_default}) {
    output::FormatOptions opt;
    opt.format = f;
    opt.args = st;
    std::string out;
    out.reserve(4096);
    output::format_event(entry, 1, opt, out);  // warm-up
    output::format_event(win_entry, 1, opt, out);
    out.clear();
    g_allocs = 0;
    g_counting = true;
    for (int i = 0; i < 100; ++i) {
      output::format_event(entry, i, opt, out);
      output::format_event(ret, i, opt, out);
      output::format_event(unk, i, opt, out);
      output::format_event(win_entry, i, opt, out);
      output::format_event(win_ret, i, opt, out);
      out.clear();
    }
    g_counting = false;
    EXPECT_EQ(g_allocs.load(), 0) << "format " << static_cast<int>(f) << " style "
                                  << static_cast<int>(st);
  }
}

}  // namespace
