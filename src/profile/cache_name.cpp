#include "profile/cache_name.hpp"

#include <fmt/core.h>

#include <cctype>

namespace vmitrace::profile {

std::string cache_file_name(std::string_view stem, std::string_view identity) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : identity) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::string s(stem);
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-')) c = '_';
  return fmt::format("{}-{:016x}.json", s, h);
}

}  // namespace vmitrace::profile
