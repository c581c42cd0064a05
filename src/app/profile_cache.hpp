// The profile `vmitrace run` builds from QEMU's -kernel image when no -r is given,
// cached in $XDG_CACHE_HOME/vmitrace/profiles (default ~/.cache/...), keyed by the
// image's path, size and mtime (and the debug file's): a rebuilt image gets a new
// profile, the cache never answers for a different file. Written with
// common/write_file.hpp, like `vmitrace profile -o`.
#pragma once
#include <string>
#include <vector>

namespace vmitrace::app {

// The -kernel IMAGE (or -kernel=IMAGE) of a QEMU command line; "" if none.
std::string find_kernel_arg(const std::vector<std::string>& qemu_args);

// The profile cache directory, created if missing ($XDG_CACHE_HOME/vmitrace/profiles,
// default ~/.cache/...). Throws Error when it cannot be placed or made. The QEMU
// module keeps the profiles it builds from guest memory there too.
std::string profile_cache_dir();

// The cached profile of image (built and stored first if there is none); prints
// which one on stderr. Throws Error naming the file at fault.
std::string profile_for_kernel(const std::string& image, const std::string& debug_file);

}  // namespace vmitrace::app
