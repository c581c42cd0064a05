// DWARF -> BTF through pahole (Debian's dwarves). pahole runs as a child process
// with an argument vector (no shell), writing into a private temporary directory;
// it dies with vmitrace (common/child_process.hpp).
#include "profile/dwarf_btf.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/file.hpp"

namespace vmitrace::profile {
namespace {

// A temporary directory removed with everything in it when the scope ends.
struct TempDir {
  std::string path;
  TempDir() {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/vmitrace-pahole.XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw Error(tmpl, std::string("cannot create: ") + std::strerror(errno));
    path = tmpl;
  }
  ~TempDir() {
    for (const char* f : {"/btf", "/log"}) ::unlink((path + f).c_str());
    ::rmdir(path.c_str());
  }
};

// First non-empty line of pahole's output, for the error message.
std::string first_line(const std::string& log_path) {
  std::string text;
  try {
    std::vector<uint8_t> b = read_file(log_path);
    text.assign(b.begin(), b.end());
  } catch (const Error&) {
    return {};
  }
  size_t start = text.find_first_not_of(" \n");
  if (start == std::string::npos) return {};
  size_t end = text.find('\n', start);
  std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (line.size() > 200) line.resize(200);
  return line;
}

}  // namespace

std::optional<std::string> elf_build_id(const uint8_t* data, const ElfImage& elf) {
  for (const auto& s : elf.sections())
    if (s.type == 7 /* SHT_NOTE */ && s.size != 0)
      if (auto id = gnu_build_id(data + s.offset, size_t(s.size))) return id;
  return std::nullopt;
}

std::vector<uint8_t> btf_from_dwarf(const std::string& debug_path, const ElfImage& elf) {
  // ElfImage already refused sections running past the end of the file (truncation).
  for (const char* need : {".debug_info", ".debug_abbrev", ".debug_str"}) {
    const ElfSection* s = elf.section(need);
    if (!s || s->size == 0)
      throw Error(debug_path, std::string("no ") + need +
                                  " section: not a kernel with DWARF debug information (the vmlinux of "
                                  "the linux-image-*-dbg package)");
  }
  TempDir tmp;
  const std::string out = tmp.path + "/btf", log = tmp.path + "/log";
  std::string encode = "--btf_encode_detached=" + out;
  // -j: pahole's DWARF loading is per compilation unit and scales with threads.
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_t pid = 0;
  int rc = null_fd < 0 || log_fd < 0 ? errno
                                     : spawn_tied_child(&pid, {"pahole", "-j", encode, debug_path},
                                                        ChildIo{null_fd, log_fd, log_fd});
  if (null_fd >= 0) ::close(null_fd);
  if (log_fd >= 0) ::close(log_fd);
  if (rc != 0)
    throw Error(debug_path, std::string("cannot run pahole (") + std::strerror(rc) +
                                "): install Debian's dwarves package (scripts/install-deps.sh)");
  int status = 0;
  if (!wait_child(pid, &status))
    throw Error(debug_path, std::string("waiting for pahole: ") + std::strerror(errno));
  std::vector<uint8_t> btf;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && ::access(out.c_str(), R_OK) == 0) btf = read_file(out);
  if (btf.size() < 24) {
    std::string why = first_line(log);
    if (WIFSIGNALED(status)) why = "killed by signal " + std::to_string(WTERMSIG(status));
    throw Error(debug_path, "pahole could not convert its DWARF to BTF (corrupt or truncated debug information?)" +
                                (why.empty() ? std::string() : ": " + why));
  }
  return btf;
}

}  // namespace vmitrace::profile
