#include "common/write_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <random>

#include "common/error.hpp"

namespace vmitrace {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

void write_all(int fd, std::string_view text, const std::string& name) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(name, "write failed: " + errno_text(errno));
    }
    off += size_t(n);
  }
}

// A device, FIFO or terminal: written in place (opening it never creates anything).
void write_in_place(const std::string& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw Error(path, "cannot open: " + errno_text(errno));
  struct stat st {};
  // Replaced by a regular file since we looked: do not write into it unannounced.
  if (::fstat(fd, &st) != 0 || S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path, "changed while being opened; not written");
  }
  try {
    write_all(fd, text, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw Error(path, "write failed: " + errno_text(errno));
}

// A new file next to `target` (O_EXCL: never one that exists, never through a link),
// filled, flushed, then renamed over target.
void replace_file(const std::string& target, const struct stat* old, std::string_view text) {
  size_t slash = target.rfind('/');
  std::string dir = slash == std::string::npos ? "" : target.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
  std::random_device rd;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, ".tmp-%08x", rd());
    tmp = dir + "." + base + suffix;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) throw Error(target, "cannot create a file next to it: " + errno_text(errno));
  }
  if (fd < 0) throw Error(target, "cannot create a temporary file next to it (16 names taken)");
  try {
    // The replacement keeps the permission bits of the file it replaces.
    if (old && ::fchmod(fd, old->st_mode & 07777) != 0)
      throw Error(target, "cannot copy its permissions: " + errno_text(errno));
    write_all(fd, text, target);
    if (::fsync(fd) != 0) throw Error(target, "write failed: " + errno_text(errno));
    int rc = ::close(fd);
    fd = -1;
    if (rc != 0) throw Error(target, "write failed: " + errno_text(errno));
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      throw Error(target, "cannot rename the temporary file over it: " + errno_text(errno));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace

void write_file(const std::string& path, std::string_view text) {
  if (path.empty()) throw Error("output", "empty file name");
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    if (errno != ENOENT) throw Error(path, errno_text(errno));
    replace_file(path, nullptr, text);
    return;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && S_ISLNK(lst.st_mode))
      throw Error(path, "is a symbolic link to a file that does not exist; not followed");
    throw Error(path, errno_text(errno));
  }
  if (S_ISDIR(st.st_mode)) throw Error(path, "is a directory");
  if (!S_ISREG(st.st_mode)) {
    write_in_place(path, text);
    return;
  }
  if (!S_ISLNK(lst.st_mode)) {
    replace_file(path, &st, text);
    return;
  }
  // A link to a regular file: replace the file it leads to, under its own name. The
  // name must still be that file (a /proc/self/fd link to a deleted file has none).
  char buf[PATH_MAX];
  struct stat rst {};
  if (!::realpath(path.c_str(), buf) || ::lstat(buf, &rst) != 0 || !S_ISREG(rst.st_mode) ||
      rst.st_dev != st.st_dev || rst.st_ino != st.st_ino)
    throw Error(path, "is a symbolic link whose target has no usable name; not written");
  replace_file(buf, &st, text);
}

void refuse_input_as_output(const std::string& output, const std::vector<NamedInput>& inputs) {
  struct stat out {};
  // Not there yet (created by the run), or a device or pipe: nothing to destroy.
  if (output.empty() || ::stat(output.c_str(), &out) != 0 || !S_ISREG(out.st_mode)) return;
  for (const NamedInput& in : inputs) {
    struct stat st {};
    if (in.path.empty() || ::stat(in.path.c_str(), &st) != 0) continue;
    if (st.st_dev == out.st_dev && st.st_ino == out.st_ino)
      throw Error(output, "is also " + in.what + " (" + in.path + "); refusing to overwrite an input");
  }
}

}  // namespace vmitrace
