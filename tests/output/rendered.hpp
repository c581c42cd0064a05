// For the decoder tests: what one of output::decode's appenders writes, as a string:
//   EXPECT_EQ(rendered([](auto& s) { d::hex(s, 0x2a); }), "0x2a");
#pragma once
#include <string>

namespace vmitrace::test {

template <typename Append>
std::string rendered(Append append) {
  std::string s;
  append(s);
  return s;
}

}  // namespace vmitrace::test
