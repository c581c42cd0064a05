// For tests: the one-line message of the vmitrace::Error that fn throws, "" when it
// throws none.
#pragma once
#include <functional>
#include <string>

#include "common/error.hpp"

namespace vmitrace::test {

inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace vmitrace::test
