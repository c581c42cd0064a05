#include "output/user_names.hpp"

#include <charconv>
#include <fstream>

#include "common/error.hpp"

namespace vmitrace::output {

std::shared_ptr<const UserNames> UserNames::android() {
  auto u = std::make_shared<UserNames>();
  u->android_ = true;
  return u;
}

std::shared_ptr<const UserNames> UserNames::from_passwd(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path, "cannot read the passwd file");
  auto u = std::make_shared<UserNames>();
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.size() > 4096) throw Error(path + ":" + std::to_string(lineno), "line longer than 4096 bytes");
    if (line.empty() || line[0] == '#') continue;
    // name:password:uid:...
    size_t c1 = line.find(':'), c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    size_t c3 = c2 == std::string::npos ? c2 : line.find(':', c2 + 1);
    uint32_t uid = 0;
    const char* b = c2 == std::string::npos ? nullptr : line.data() + c2 + 1;
    const char* e = c3 == std::string::npos ? line.data() + line.size() : line.data() + c3;
    std::from_chars_result fc{};
    if (b) fc = std::from_chars(b, e, uid);
    if (c1 == 0 || c1 == std::string::npos || !b || b == e || fc.ptr != e || fc.ec != std::errc())
      throw Error(path + ":" + std::to_string(lineno), "not a passwd line (name:password:uid:...)");
    if (c1 > 31) throw Error(path + ":" + std::to_string(lineno), "user name longer than 31 bytes");
    u->names_.try_emplace(uid, line.substr(0, c1));  // the first name of a uid, as getpwuid
  }
  if (u->names_.empty()) throw Error(path, "no user in the passwd file");
  return u;
}

std::shared_ptr<const UserNames> UserNames::from_option(const std::string& value) {
  if (value == "android") return android();
  return from_passwd(value);
}

std::string_view UserNames::name(uint32_t uid, std::string& buf) const {
  if (android_) return android_user_name(uid, buf);
  auto it = names_.find(uid);
  return it == names_.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace vmitrace::output
