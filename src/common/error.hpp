// One error type for everything a user can get wrong (files, options, images):
// what() is the one line printed on stderr, "FILE: problem".
#pragma once
#include <stdexcept>
#include <string>

namespace vmitrace {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
  Error(const std::string& file, const std::string& problem)
      : std::runtime_error(file + ": " + problem) {}
};

// A value echoed in an error message, cut to its first `max` bytes and "..." when
// longer: a 500 KB garbage line or argument is not printed whole.
inline std::string excerpt(const std::string& value, size_t max = 60) {
  return value.size() <= max ? value : value.substr(0, max) + "...";
}

}  // namespace vmitrace
