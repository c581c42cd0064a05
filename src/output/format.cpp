// The four line layouts. Each starts with DRAKVUF's own prefix for the format, then
// the remaining common fields of our specification in its order (TID, UserName,
// UserId, EventUID, whichever the prefix lacks), then the plugin's fields
// (syscall: ThreadName, Module, vCPU, CR3, Syscall, NArgs, Type, one per argument;
// sysret: Module, vCPU, CR3, Syscall, Ret, Info). Windows records (Os::windows) have
// the same prefixes with UserName on both kinds, and the fields of windows.hpp after
// Syscall. See docs/ARCHITECTURE.md.
#include "output/format.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"
#include "output/args.hpp"
#include "output/line.hpp"
#include "output/windows.hpp"
#include "syscalls/tables/constants.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::output {
namespace {

using event::Kind;
using event::Record;

// Everything a layout needs, derived once from the (untrusted) record.
struct Ctx {
  const Record& rec;
  uint64_t uid;  // EventUID
  bool entry;    // syscall (else sysret)
  const syscalls::SyscallInfo* info;
  const WinView* win;  // Windows records only (else nullptr)
  char method_buf[24];
  std::string_view method;
  uint64_t ret;        // sysret: value as printed (ia32: 32 bits)
  int64_t sret;        // sysret: signed value (ia32: sign-extended from 32 bits)
  std::string_view errno_name;
};

void append_time(std::string& out, uint64_t ns) {
  fmt::format_to(std::back_inserter(out), "{}.{:06}", ns / 1000000000u, (ns % 1000000000u) / 1000u);
}

void init(Ctx& c, WinView* win) {
  if (win) {
    init_windows(c.rec, *win);
    c.win = win;
    c.method = win->method_name;
    return;
  }
  c.info = syscalls::lookup(c.rec.abi, c.rec.nr);
  if (c.info) {
    c.method = c.info->name;
  } else {
    auto end = fmt::format_to_n(c.method_buf, sizeof(c.method_buf), "sys_{}", c.rec.nr).out;
    c.method = std::string_view(c.method_buf, end - c.method_buf);
  }
  // A 32-bit process sees eax: its return value is 32 bits wide.
  bool is32 = event::is_compat32(c.rec.abi);
  int64_t sret = is32 ? static_cast<int32_t>(c.rec.ret) : c.rec.ret;
  c.ret = is32 ? static_cast<uint32_t>(c.rec.ret) : static_cast<uint64_t>(c.rec.ret);
  c.sret = sret;
  c.errno_name = syscalls::errno_name(sret);
}

unsigned nargs_of(const Ctx& c) {
  if (c.info) return c.info->nargs;
  return std::min<unsigned>(c.rec.nargs, event::is_linux(c.rec.abi) ? 6u : event::kMaxArgs);
}

// The argument fields (syscall entries only).
void append_args(Line& line, const Ctx& c, const FormatOptions& opt) {
  const Record& r = c.rec;
  event::BlobView blobs[event::kMaxArgs] = {};
  bool blobs_ok = event::blobs(r, blobs);
  unsigned n = nargs_of(c);
  unsigned unknown_bits = event::is_compat32(r.abi) ? 32 : 64;
  char name_buf[8];
  for (unsigned i = 0; i < n; ++i) {
    ArgValue a{};
    a.raw = r.args[i];
    a.all = r.args;
    if (c.info) {
      a.info = &c.info->args[i];
      a.bits = a.info->bits;
      line.key(a.info->name);
    } else {
      a.bits = unknown_bits;
      auto end = fmt::format_to_n(name_buf, sizeof(name_buf), "arg{}", i).out;
      line.key(std::string_view(name_buf, end - name_buf));
    }
    // A state byte that is none of ours, or lengths that overrun the record: the
    // bytes are not trusted and the argument falls back to its raw value.
    if (blobs_ok && static_cast<uint8_t>(blobs[i].state) <= 3) a.blob = blobs[i];
    if (opt.args == ArgStyle::rich) append_rich_arg(line, a, opt);
    else append_arg(line, a, opt);
  }
  append_fd_paths(line, r, c.info);
}

// UserName is in every Windows event (DRAKVUF's Windows layout), in Linux entries only.
void append_user_name(Line& line, const Ctx& c, const FormatOptions& opt) {
  if (c.win) {
    line.field_str("UserName", windows_user_name(*c.win));
  } else if (c.entry) {
    std::string buf;
    line.field_str("UserName", opt.user_names ? opt.user_names->name(c.rec.uid, buf) : c.rec.user());
  }
}

// Plugin fields shared by all layouts.
void append_plugin_fields(Line& line, const Ctx& c, const FormatOptions& opt) {
  const Record& r = c.rec;
  if (c.win) {
    line.field_str("Module", r.module_name());
    line.field_dec("vCPU", r.vcpu);
    line.field_hex("CR3", r.cr3);
    line.field_dec("Syscall", r.nr);
    if (c.entry) append_windows_entry_fields(line, r, *c.win, opt);
    else append_windows_return_fields(line, r, *c.win, opt);
    return;
  }
  if (c.entry) line.field_str("ThreadName", r.thread());
  line.field_str("Module", r.module_name());
  line.field_dec("vCPU", r.vcpu);
  line.field_hex("CR3", r.cr3);
  line.field_dec("Syscall", r.nr);
  if (c.entry) {
    line.field_dec("NArgs", nargs_of(c));
    line.field_str("Type", syscalls::abi_type_name(r.abi));
    append_args(line, c, opt);
  } else {
    line.field_hex("Ret", c.ret);
    if (opt.args == ArgStyle::rich) {
      line.key("Info");
      append_rich_errno(line, c.sret);
    } else {
      line.field_str("Info", c.errno_name);
    }
    append_ret_path(line, r);
    append_out_args(line, r, c.info, opt);
  }
}

void format_json(const Ctx& c, const FormatOptions& opt, std::string& out) {
  const Record& r = c.rec;
  out += '{';
  Line line(out, Format::json);
  line.field_str("Plugin", c.entry ? "syscall" : "sysret");
  line.key("TimeStamp");
  out += '"';
  append_time(out, r.time_ns);
  out += '"';
  line.field_dec("PID", r.pid);
  line.field_dec("PPID", r.ppid);
  line.field_dec("TID", r.tid);
  append_user_name(line, c, opt);
  line.field_dec("UserId", r.uid);
  line.field_str("ProcessName", r.process());
  line.field_str("Method", c.method);
  line.field_hex("EventUID", c.uid);
  append_plugin_fields(line, c, opt);
  out += '}';
}

void format_kv(const Ctx& c, const FormatOptions& opt, std::string& out) {
  const Record& r = c.rec;
  out.append(c.entry ? "syscall " : "sysret ");
  Line line(out, Format::kv);
  line.key("Time");
  append_time(out, r.time_ns);
  line.field_dec("PID", r.pid);
  line.field_dec("PPID", r.ppid);
  line.field_dec("TID", r.tid);
  line.field_str("ProcessName", r.process());
  line.field_bare("Method", c.method);
  append_user_name(line, c, opt);
  line.field_dec("UserId", r.uid);
  line.field_hex("EventUID", c.uid);
  append_plugin_fields(line, c, opt);
}

void format_csv(const Ctx& c, const FormatOptions& opt, std::string& out) {
  const Record& r = c.rec;
  out.append(c.entry ? "syscall " : "sysret ");
  Line line(out, Format::csv);
  line.key("Time");
  append_time(out, r.time_ns);
  line.field_dec("VCPU", r.vcpu);
  line.field_hex("CR3", r.cr3);
  line.field_dec("UserId", r.uid);
  line.field_dec("PID", r.pid);
  line.field_dec("PPID", r.ppid);
  line.field_dec("TID", r.tid);
  line.field_str("ProcessName", r.process());
  line.field_bare("Method", c.method);
  append_user_name(line, c, opt);
  line.field_hex("EventUID", c.uid);
  append_plugin_fields(line, c, opt);
}

void format_default(const Ctx& c, const FormatOptions& opt, std::string& out) {
  const Record& r = c.rec;
  out.append(c.entry ? "[SYSCALL] " : "[SYSRET] ");
  Line line(out, Format::drakvuf_default);
  line.key("TIME");
  append_time(out, r.time_ns);
  line.field_dec("VCPU", r.vcpu);
  line.field_hex("CR3", r.cr3);
  out += ' ';  // DRAKVUF's "<ProcessName>":<Method> pair
  line.str(r.process());
  out += ':';
  out.append(c.method);
  line.field_dec("UID", r.uid);
  line.field_dec("PID", r.pid);
  line.field_dec("PPID", r.ppid);
  line.field_dec("TID", r.tid);
  append_user_name(line, c, opt);
  line.field_hex("EventUID", c.uid);
  append_plugin_fields(line, c, opt);
}

void format_line(const Ctx& c, const FormatOptions& opt, std::string& out) {
  switch (opt.format) {
    case Format::json: format_json(c, opt, out); break;
    case Format::kv: format_kv(c, opt, out); break;
    case Format::csv: format_csv(c, opt, out); break;
    case Format::drakvuf_default: format_default(c, opt, out); break;
  }
  out += '\n';
}

}  // namespace

Format parse_format(std::string_view s) {
  if (s == "json") return Format::json;
  if (s == "kv") return Format::kv;
  if (s == "csv") return Format::csv;
  if (s == "default") return Format::drakvuf_default;
  throw Error("--format", "unknown output format '" + std::string(s) +
                              "' (expected json, kv, csv or default)");
}

void format_event(const event::Record& rec, uint64_t event_uid, const FormatOptions& opt,
                  std::string& out) {
  Ctx c{rec, event_uid, rec.kind != Kind::sysret, nullptr, nullptr, {}, {}, 0, 0, {}};
  if (rec.os == event::Os::windows) {
    WinView win;  // only Windows records pay for its initialisation
    init(c, &win);
    format_line(c, opt, out);
  } else {
    init(c, nullptr);
    format_line(c, opt, out);
  }
}

}  // namespace vmitrace::output
