#include "app/config_file.hpp"

#include <sys/stat.h>

#include <map>
#include <set>
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

// Every occurrence of `from` in `text` replaced by `to`.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

// The value after '=' (already trimmed): "quoted" or 'quoted' (a '#' inside stays), or
// bare text up to a '#' that follows a space or tab (a trailing comment).
std::string parse_value(const std::string& raw, const std::string& where, const std::string& key) {
  if (!raw.empty() && (raw[0] == '"' || raw[0] == '\'')) {
    size_t close = raw.find(raw[0], 1);
    if (close == std::string::npos) throw Error(where, "'" + key + "': the quoted value has no closing quote");
    std::string rest = trim(raw.substr(close + 1));
    if (!rest.empty() && rest[0] != '#')
      throw Error(where, "'" + key + "': text after the closing quote: '" + excerpt(rest) + "'");
    return raw.substr(1, close - 1);
  }
  for (size_t i = 1; i < raw.size(); ++i)
    if (raw[i] == '#' && (raw[i - 1] == ' ' || raw[i - 1] == '\t')) return trim(raw.substr(0, i));
  return raw;
}

// Gives the value to the option as the command line would, so that a bad number, a
// range or an unknown choice is reported here, with the file and line; the option
// is then reset (the real parse comes later).
void check_value(CLI::Option& opt, const std::string& value, const std::string& where) {
  opt.add_result(value);
  try {
    opt.run_callback();
  } catch (const CLI::ParseError& e) {
    opt.clear();
    throw Error(where, replace_all(e.what(), value, excerpt(value)));
  }
  opt.clear();
}

struct Setting {
  const CLI::Option* option;
  std::string arg;  // as on the command line: --name=value, or --name for a flag
};

// The options of `cmd` named in the command-line arguments (before "--"). A value
// that looks like an option name is counted too; it only makes the file's lose.
std::set<const CLI::Option*> options_given(CLI::App& cmd, const std::vector<std::string>& args) {
  std::set<const CLI::Option*> given;
  for (const std::string& a : args) {
    if (a == "--") break;
    std::string name;
    if (a.rfind("--", 0) == 0) name = a.substr(0, a.find('='));
    else if (a.size() >= 2 && a[0] == '-') name = a.substr(0, 2);
    if (!name.empty())
      if (const CLI::Option* o = cmd.get_option_no_throw(name)) given.insert(o);
  }
  return given;
}

// `first` remembers where each option was set, across every config file given.
std::vector<Setting> read_config(CLI::App& cmd, const std::string& path,
                                 std::map<const CLI::Option*, std::string>& first) {
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
  std::vector<Setting> out;
  std::string line;
  bool any = false;
  for (unsigned n = 1; std::getline(in, line); ++n) {
    std::string l = trim(line);
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    std::string where = path + ":" + std::to_string(n);
    size_t eq = l.find('=');
    if (eq == std::string::npos) throw Error(where, "expected 'name = value', got '" + excerpt(l) + "'");
    std::string key = trim(l.substr(0, eq));
    if (key.empty()) throw Error(where, "missing option name before '='");
    if (key == "config") throw Error(where, "a config file cannot include another");
    CLI::Option* opt = cmd.get_option_no_throw("--" + key);
    if (!opt) throw Error(where, "unknown option '" + excerpt(key) + "' for '" + cmd.get_name() + "'");
    std::string value = parse_value(trim(l.substr(eq + 1)), where, key);
    // Aliases (string_limit, string-limit) are one option.
    auto [at, fresh] = first.emplace(opt, where);
    if (!fresh) throw Error(where, "'" + key + "' is given twice (also at " + at->second + ")");
    any = true;
    if (opt->get_expected_max() == 0) {  // a flag
      if (value == "true" || value == "1" || value == "yes" || value == "on") out.push_back({opt, "--" + key});
      else if (!(value == "false" || value == "0" || value == "no" || value == "off"))
        throw Error(where, "'" + key + "' is a flag: expected true or false, got '" + excerpt(value) + "'");
    } else {
      if (value.empty()) throw Error(where, "'" + key + "' needs a value");
      check_value(*opt, value, where);
      out.push_back({opt, "--" + key + "=" + value});
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
  std::vector<Setting> from_files;
  std::map<const CLI::Option*, std::string> first;
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
        auto settings = read_config(*cmd, path, first);
        from_files.insert(from_files.end(), settings.begin(), settings.end());
        // The subcommand keeps the file's name (e.g. to never write over it).
        if (cmd->get_option_no_throw("--config")) res.push_back("--config=" + path);
        continue;
      }
    }
    res.push_back(a);
  }
  if (from_files.empty()) {
    args = std::move(res);
    return;
  }
  // The command line wins over the files: a file's setting of an option that is also
  // on the command line is dropped.
  std::set<const CLI::Option*> given =
      options_given(*cmd, std::vector<std::string>(res.begin() + static_cast<long>(insert_at), res.end()));
  std::vector<std::string> kept;
  for (const Setting& s : from_files)
    if (!given.count(s.option)) kept.push_back(s.arg);
  res.insert(res.begin() + static_cast<long>(insert_at), kept.begin(), kept.end());
  args = std::move(res);
}

}  // namespace vmitrace::app
