// File names of cached profiles (the -kernel image's, app/profile_cache.hpp, and the
// ones the QEMU module builds from guest memory, os/linux/profile_probe.hpp): one
// scheme, so that both live side by side in one directory.
#pragma once
#include <string>
#include <string_view>

namespace vmitrace::profile {

// "STEM-<16 hex digits>.json": the digits a hash (FNV-1a) of identity, which names
// what the profile was built from (a file's path, size and mtime; a kernel's banner
// and build id). Bytes of stem outside [A-Za-z0-9._+-] become '_' (a guest's
// release may hold anything).
std::string cache_file_name(std::string_view stem, std::string_view identity);

}  // namespace vmitrace::profile
