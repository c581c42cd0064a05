// Internal to the structure decoders: a field of captured guest bytes, bounds-checked
// (a record is data: a field that is not all there is not read).
#pragma once
#include <cstddef>
#include <cstring>
#include <string_view>

namespace vmitrace::output::decode {

template <class T>
bool get(std::string_view b, size_t off, T& v) {
  if (off > b.size() || sizeof(T) > b.size() - off) return false;
  std::memcpy(&v, b.data() + off, sizeof(T));  // little-endian guest, as the host
  return true;
}

}  // namespace vmitrace::output::decode
