// Turns event records into text lines: json, kv, csv and DRAKVUF's default layout.
// Runs on the writer side (never on a vCPU thread).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "event/record.hpp"
#include "output/user_names.hpp"

namespace vmitrace::output {

enum class Format { json, kv, csv, drakvuf_default };
// Parses "json" | "kv" | "csv" | "default"; throws vmitrace::Error on anything else.
Format parse_format(std::string_view s);

enum class ArgStyle { raw, rich };

struct FormatOptions {
  Format format = Format::json;
  ArgStyle args = ArgStyle::raw;
  size_t string_limit = 256;
  // Linux UserName from the uid (--user-names); null: "root" for uid 0, else "".
  std::shared_ptr<const UserNames> user_names;
};

// Appends one line (with the trailing '\n') for rec to out. event_uid is the
// EventUID (one counter for all events of a run). Records with inconsistent blob
// lengths are still printed, with the affected arguments marked.
void format_event(const event::Record& rec, uint64_t event_uid, const FormatOptions& opt,
                  std::string& out);

}  // namespace vmitrace::output
