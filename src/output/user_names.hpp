// UserName of Linux events from the uid, when the user says how the guest names its
// users (--user-names): Android's scheme (fixed system ids, per-user app and isolated
// ids) or a passwd file copied from the guest. Without it, uid 0 is "root" and other
// uids have no name (the guest's own user database is not read from its memory).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vmitrace::output {

class UserNames {
 public:
  // "android": Android's names (root, system, shell, u0_a52, u10_i3, ...).
  static std::shared_ptr<const UserNames> android();
  // passwd(5) lines "name:pw:uid:...": throws Error naming path:line on a bad line.
  static std::shared_ptr<const UserNames> from_passwd(const std::string& path);
  // "android" or a passwd file (the option's value).
  static std::shared_ptr<const UserNames> from_option(const std::string& value);

  // The name of uid, written into buf when it has to be built; "" when unknown.
  std::string_view name(uint32_t uid, std::string& buf) const;

 private:
  bool android_ = false;
  std::unordered_map<uint32_t, std::string> names_;
};

// Android's name for uid (bionic's scheme); "" for an id Android does not name.
std::string_view android_user_name(uint32_t uid, std::string& buf);

}  // namespace vmitrace::output
