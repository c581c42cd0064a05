// format_event cost per event, --args=rich versus raw, on records like the lab
// workload's (openat with a path, mmap, execve with argv/envp, an ENOENT return, a
// read with its fd path and, at return, the bytes read as an output argument).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <string_view>

#include "event/record.hpp"
#include "output/format.hpp"

namespace {

using namespace vmitrace;

struct Buf {
  alignas(8) unsigned char bytes[8192];
  event::Builder b{bytes, sizeof(bytes)};
};

void context(event::Record& r) {
  r.vcpu = 1;
  r.time_ns = 1700000000123456789ull;
  r.cr3 = 0x1ad2c000;
  r.pid = r.tid = 1234;
  r.ppid = 1000;
  std::memcpy(r.process_name, "cat", 3);
  std::memcpy(r.thread_name, "cat", 3);
  std::memcpy(r.module, "x64_sys_call", 12);
  std::memcpy(r.user_name, "root", 4);
  r.abi = event::Abi::linux_x64;
}

// The mix: 6 records in the proportions of a short-lived process' trace.
constexpr int kMix = 6;
struct Mix {
  Buf open_b, mmap_b, exec_b, ret_b, read_b, read_ret_b;
  const event::Record* recs[kMix];
  Mix() {
    event::Record& o = open_b.b.rec();
    context(o);
    o.nr = 257;
    o.nargs = 4;
    o.args[0] = 0xffffffffffffff9cull;
    o.args[1] = 0x7ffd5e4c1000;
    o.args[2] = 0x80000;
    std::string_view path = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    open_b.b.add_blob(1, path.data(), path.size(), event::Capture::ok);
    open_b.b.finish();
    event::Record& m = mmap_b.b.rec();
    context(m);
    m.nr = 9;
    m.nargs = 6;
    m.args[1] = 0x1e8000;
    m.args[2] = 1;
    m.args[3] = 0x802;
    m.args[4] = 3;
    mmap_b.b.finish();
    event::Record& e = exec_b.b.rec();
    context(e);
    e.nr = 59;
    e.nargs = 3;
    e.args[0] = 0x1000;
    e.args[1] = 0x2000;
    e.args[2] = 0x3000;
    std::string_view prog = "/usr/bin/cat", argv("cat\0/etc/hostname\0", 18),
                     envp("PATH=/usr/local/bin:/usr/bin:/bin\0HOME=/root\0TERM=linux\0", 54);
    exec_b.b.add_blob(0, prog.data(), prog.size(), event::Capture::ok);
    exec_b.b.add_blob(1, argv.data(), argv.size(), event::Capture::ok);
    exec_b.b.add_blob(2, envp.data(), envp.size(), event::Capture::ok);
    exec_b.b.finish();
    event::Record& r = ret_b.b.rec();
    context(r);
    r.kind = event::Kind::sysret;
    r.nr = 257;
    r.ret = -2;
    ret_b.b.finish();
    // read(3, buf, 832) with the fd's path, and its return with 64 bytes read.
    event::Record& rd = read_b.b.rec();
    context(rd);
    rd.nr = 0;
    rd.nargs = 3;
    rd.args[0] = 3;
    rd.args[1] = 0x7ffd5e4c2000;
    rd.args[2] = 832;
    read_b.b.add_extra(event::Extra::fd_path, 0, path.data(), path.size());
    read_b.b.finish();
    event::Record& rr = read_ret_b.b.rec();
    context(rr);
    rr.kind = event::Kind::sysret;
    rr.nr = 0;
    rr.ret = 832;
    unsigned char elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 3};
    read_ret_b.b.add_extra(event::Extra::out_arg, 1, elf, sizeof(elf));
    read_ret_b.b.finish();
    recs[0] = &open_b.b.rec();
    recs[1] = &mmap_b.b.rec();
    recs[2] = &exec_b.b.rec();
    recs[3] = &ret_b.b.rec();
    recs[4] = &read_b.b.rec();
    recs[5] = &read_ret_b.b.rec();
  }
};

void BM_Format(benchmark::State& st, output::ArgStyle style, output::Format f) {
  Mix mix;
  output::FormatOptions opt;
  opt.format = f;
  opt.args = style;
  std::string out;
  out.reserve(8192);
  uint64_t uid = 0;
  for (auto _ : st) {
    out.clear();
    for (const event::Record* r : mix.recs) output::format_event(*r, ++uid, opt, out);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetItemsProcessed(st.iterations() * kMix);  // events
}

BENCHMARK_CAPTURE(BM_Format, raw_json, output::ArgStyle::raw, output::Format::json);
BENCHMARK_CAPTURE(BM_Format, rich_json, output::ArgStyle::rich, output::Format::json);
BENCHMARK_CAPTURE(BM_Format, raw_kv, output::ArgStyle::raw, output::Format::kv);
BENCHMARK_CAPTURE(BM_Format, rich_kv, output::ArgStyle::rich, output::Format::kv);

}  // namespace

BENCHMARK_MAIN();
