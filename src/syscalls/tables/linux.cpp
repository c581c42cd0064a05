// Lookups over the generated arrays (see linux_data.hpp): by number through a dense
// index (numbers above it: binary search of the number-sorted entries), by name through
// a name-sorted index (binary search).
#include "syscalls/tables/linux.hpp"

#include <algorithm>
#include <cstring>

#include "syscalls/tables/linux_data.hpp"

namespace vmitrace::syscalls {
namespace {

const data::TableData* table_of(event::Abi abi) {
  switch (abi) {
    case event::Abi::linux_x64: return &data::kLinuxX64;
    case event::Abi::linux_ia32: return &data::kLinuxIa32;
    case event::Abi::linux_arm64: return &data::kLinuxArm64;
    case event::Abi::linux_arm32: return &data::kLinuxArm32;
    default: return nullptr;  // Windows tables come later
  }
}

}  // namespace

const SyscallInfo* lookup(event::Abi abi, uint32_t nr) {
  const data::TableData* t = table_of(abi);
  if (!t) return nullptr;
  if (nr >= t->nr_limit) {  // ARM's private calls (0x0f0000 + n) and the like
    const SyscallInfo* end = t->entries + t->count;
    const SyscallInfo* it =
        std::lower_bound(t->entries, end, nr, [](const SyscallInfo& e, uint32_t n) { return e.nr < n; });
    return it != end && it->nr == nr ? it : nullptr;
  }
  int16_t i = t->by_nr[nr];
  return i < 0 ? nullptr : &t->entries[i];
}

const SyscallInfo* lookup(event::Abi abi, std::string_view name) {
  const data::TableData* t = table_of(abi);
  if (!t) return nullptr;
  const uint16_t* begin = t->by_name;
  const uint16_t* end = t->by_name + t->count;
  const uint16_t* it = std::lower_bound(begin, end, name, [t](uint16_t i, std::string_view n) {
    return std::string_view(t->entries[i].name) < n;
  });
  if (it == end || std::string_view(t->entries[*it].name) != name) return nullptr;
  return &t->entries[*it];
}

std::span<const SyscallInfo> table(event::Abi abi) {
  const data::TableData* t = table_of(abi);
  if (!t) return {};
  return {t->entries, t->count};
}

bool returns_fd(const SyscallInfo& info, const uint64_t* args, int64_t ret) {
  if (ret < 0 || ret > 0x7fffffff) return false;  // failed (or no int): no new fd
  switch (info.ret) {
    case RetKind::fd: return true;
    case RetKind::dupfd: {
      const uint32_t cmd = static_cast<uint32_t>(args[1]);
      return cmd == 0 /* F_DUPFD */ || cmd == 1030 /* F_DUPFD_CLOEXEC */;
    }
    case RetKind::value: break;
  }
  return false;
}

const char* abi_type_name(event::Abi abi) {
  switch (abi) {
    case event::Abi::linux_x64: return "x64";
    case event::Abi::linux_ia32: return "x32";
    case event::Abi::linux_arm64: return "arm64";
    case event::Abi::linux_arm32: return "arm32";
    case event::Abi::win_nt: return "nt";
    case event::Abi::win_win32k: return "win32k";
  }
  return "unknown";
}

}  // namespace vmitrace::syscalls
