// libFuzzer target: the gdb remote protocol bytes a stub sends (hostile or broken):
// the incremental packet parser fed in arbitrary chunks, payload decoding (escapes,
// run-length), the hex helpers, and target descriptions (target.xml) with includes.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "backends/gdb/rsp.hpp"
#include "backends/gdb/target_desc.hpp"
#include "common/error.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;

namespace {

// Replies a real QEMU gdbstub sends (framed by the real encoder).
void write_seeds(const char* dir) {
  const char* payloads[] = {
      "OK", "T05thread:p01.01;", "S05", "E14", "W00", "QStartNoAckMode",
      "PacketSize=47ff;qXfer:features:read+;multiprocess+;QStartNoAckMode+",
      "m01.01,p01.02", "l", "0000000000000000ffffffff81000000",
      ("l<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target>"
       "<architecture>i386:x86-64</architecture><xi:include href=\"i386-64bit.xml\"/></target>")};
  int i = 0;
  for (const char* p : payloads) {
    std::string pkt = "+" + gdb::encode_packet(p);
    fuzz::write_seed(dir, "reply" + std::to_string(i++), pkt.data(), pkt.size());
  }
  // Run-length encoded register dump and a notification.
  std::string rle = "$0*}a0#" + std::string("00") + "%Stop:T05#00";
  fuzz::write_seed(dir, "rle", rle.data(), rle.size());
  std::string xml =
      "\x02<target><architecture>i386:x86-64</architecture><feature name=\"org.gnu.gdb.i386.core\">"
      "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>"
      "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
      "<reg name=\"cr3\" bitsize=\"64\" regnum=\"70\"/></feature>"
      "<xi:include href=\"more.xml\"/></target>";
  fuzz::write_seed(dir, "target-xml", xml.data(), xml.size());
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  if (mode == 2) {
    // A target description: the document is the input; every include gets the same
    // text again (the reader bounds the number of files and the nesting).
    try {
      auto desc = gdb::read_target_desc([&](const std::string&) { return std::string(in); });
      for (const auto& r : desc.regs)
        if (r.bits > 4096 || desc.find(r.name) == nullptr) __builtin_trap();
    } catch (const Error&) {
    }
    return 0;
  }

  // The parser, with a small or the default size limit, fed in chunks whose sizes
  // come from the input itself.
  const size_t max = (mode & 1) ? 64 : 64 * 1024;
  gdb::PacketParser p(max);
  size_t pos = 0, step = 1 + (mode >> 1);
  while (pos < in.size()) {
    const size_t end = std::min(in.size(), pos + step);
    size_t used = 0;
    const char* chunk = in.data() + pos;
    while (used < end - pos) {
      auto ev = p.feed(chunk, end - pos, used);
      if (used > end - pos) __builtin_trap();
      if (ev == gdb::PacketParser::Event::packet || ev == gdb::PacketParser::Event::notification) {
        const std::string& pl = p.payload();
        if (pl.size() > max) __builtin_trap();
        std::string bytes;
        gdb::from_hex(pl, bytes);
        uint64_t v = 0;
        gdb::parse_hex_u64(std::string_view(pl).substr(0, 16), v);
        // Re-encoding and decoding gives the payload back.
        std::string again;
        std::string enc = gdb::encode_packet(pl);
        if (!gdb::decode_payload(std::string_view(enc).substr(1, enc.size() - 4), SIZE_MAX, again) ||
            again != pl)
          __builtin_trap();
      }
      if (ev == gdb::PacketParser::Event::none) break;
    }
    pos = end;
    step = 1 + (step * 7 + 3) % 97;
  }
  std::string out;
  gdb::decode_payload(in, 4096, out);
  if (out.size() > 4096) __builtin_trap();
  return 0;
}
