#include "app/config_file.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/file.hpp"

namespace vmitrace::app {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string unquote(const std::string& v) {
  if (v.size() >= 2 && ((v.front() == '"' && v.back() == '"') || (v.front() == '\'' && v.back() == '\'')))
    return v.substr(1, v.size() - 2);
  return v;
}

// The options of `cmd` that a config file may set, looked up by key.
const CLI::Option* find_option(CLI::App& cmd, const std::string& key) {
  for (const std::string& name : {"--" + key}) {
    if (const CLI::Option* o = cmd.get_option_no_throw(name)) return o;
  }
  return nullptr;
}

std::vector<std::string> read_config(CLI::App& cmd, const std::string& path) {
  // A config is a small text file: refuse devices and FIFOs (/dev/zero would never
  // end) and anything large, before reading.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    if (!S_ISREG(st.st_mode)) throw Error(path, "not a regular file");
    if (st.st_size > (1 << 20)) throw Error(path, "too large for a config file (over 1 MiB)");
  }
  std::vector<uint8_t> bytes = read_file(path);  // errors name the file
  std::string text(bytes.begin(), bytes.end());
  std::istringstream in(text);
  std::vector<std::string> out;
  std::string line;
  bool any = false;
  for (unsigned n = 1; std::getline(in, line); ++n) {
    std::string l = trim(line);
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    std::string where = path + ":" + std::to_string(n);
    size_t eq = l.find('=');
    if (eq == std::string::npos) throw Error(where, "expected 'name = value', got '" + l + "'");
    std::string key = trim(l.substr(0, eq));
    std::string value = unquote(trim(l.substr(eq + 1)));
    if (key.empty()) throw Error(where, "missing option name before '='");
    if (key == "config") throw Error(where, "a config file cannot include another");
    const CLI::Option* opt = find_option(cmd, key);
    if (!opt) throw Error(where, "unknown option '" + key + "' for '" + cmd.get_name() + "'");
    any = true;
    if (opt->get_expected_max() == 0) {  // a flag
      if (value == "true" || value == "1" || value == "yes" || value == "on") out.push_back("--" + key);
      else if (!(value == "false" || value == "0" || value == "no" || value == "off"))
        throw Error(where, "'" + key + "' is a flag: expected true or false, got '" + value + "'");
    } else {
      if (value.empty()) throw Error(where, "'" + key + "' needs a value");
      out.push_back("--" + key + "=" + value);
    }
  }
  // An empty file (or only comments) is most likely the wrong file or a truncated one.
  if (!any) throw Error(path, "no 'name = value' line: not a vmitrace config file?");
  return out;
}

CLI::App* find_subcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->check_name(name)) return sub;
  return nullptr;
}

}  // namespace

void expand_config_files(CLI::App& app, std::vector<std::string>& args) {
  CLI::App* cmd = nullptr;
  std::vector<std::string> res;
  std::vector<std::string> from_files;
  size_t insert_at = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {  // the rest belongs to the command being traced
      res.insert(res.end(), args.begin() + static_cast<long>(i), args.end());
      break;
    }
    if (!cmd) {
      if (CLI::App* sub = find_subcommand(app, a)) {
        cmd = sub;
        res.push_back(a);
        insert_at = res.size();
        continue;
      }
    } else {
      std::string path;
      if (a == "--config") {
        if (i + 1 >= args.size() || args[i + 1] == "--") throw Error("--config", "needs a file name");
        path = args[++i];
      } else if (a.rfind("--config=", 0) == 0) {
        path = a.substr(9);
      }
      if (!path.empty()) {
        auto opts = read_config(*cmd, path);
        from_files.insert(from_files.end(), opts.begin(), opts.end());
        continue;
      }
    }
    res.push_back(a);
  }
  res.insert(res.begin() + static_cast<long>(insert_at), from_files.begin(), from_files.end());
  args = std::move(res);
}

}  // namespace vmitrace::app
