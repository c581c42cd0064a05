// For the tracer tests: the extras of a captured record, copied out for comparison.
#pragma once
#include <string>
#include <vector>

#include "event/record.hpp"

namespace vmitrace::testing {

struct CapturedExtra {
  event::Extra tag;
  unsigned arg;
  event::Capture state;
  std::string bytes;
};

inline std::vector<CapturedExtra> extras(const event::Record& r) {
  std::vector<CapturedExtra> out;
  event::for_each_extra(r, [&](const event::ExtraView& v) {
    out.push_back({v.tag, v.arg, v.state, std::string(reinterpret_cast<const char*>(v.data), v.len)});
  });
  return out;
}

}  // namespace vmitrace::testing
