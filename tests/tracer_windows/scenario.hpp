// The Windows tracer tests' scenario (win_scenario.hpp) with a sink that keeps the
// records, and helpers to look at their extras.
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tracer_fixture.hpp"
#include "win_scenario.hpp"

namespace vmitrace::testing {

// Extras of a record by (tag, arg).
inline std::map<std::pair<event::Extra, uint8_t>, std::string> extras_of(const event::Record& r) {
  std::map<std::pair<event::Extra, uint8_t>, std::string> m;
  event::for_each_extra(r, [&](const event::ExtraView& v) {
    m[{v.tag, v.arg}] = std::string(reinterpret_cast<const char*>(v.data), v.len);
  });
  return m;
}

// The bytes of one extra, or "<absent>".
inline std::string ex(const std::map<std::pair<event::Extra, uint8_t>, std::string>& m, event::Extra tag, uint8_t arg) {
  auto it = m.find({tag, arg});
  return it == m.end() ? "<absent>" : it->second;
}

using Scenario = BasicScenario<CollectSink>;

}  // namespace vmitrace::testing
