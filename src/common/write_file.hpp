// Writing a whole file the user named, without destroying anything else.
//
// write_file(path, text):
// - PATH does not exist, or is a regular file: the text goes to a new temporary file
//   in PATH's directory (created with O_EXCL: never a file or link someone else put
//   there), which is then renamed over PATH. An interrupted write leaves PATH as it
//   was; an existing PATH keeps its permission bits.
// - PATH is a symbolic link to a regular file: the link's target is replaced the same
//   way (the link stays a link). A link that leads nowhere is refused.
// - PATH is not a regular file (a terminal, a pipe, /dev/null, /dev/stdout): written
//   directly, never replaced or created.
//
// refuse_input_as_output(output, inputs): an output that is the same file (device and
// inode, whatever the names) as one of the inputs is refused before anything is
// written.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmitrace {

// Throws Error("PATH: problem").
void write_file(const std::string& path, std::string_view text);

// A named input: {what it is (e.g. "the profile (-r)"), its path}; empty paths are
// skipped. Throws Error("OUTPUT: is also WHAT, the tracer would destroy it") when
// OUTPUT exists as a regular file that one of the inputs also names.
struct NamedInput {
  std::string what;
  std::string path;
};
void refuse_input_as_output(const std::string& output, const std::vector<NamedInput>& inputs);

}  // namespace vmitrace
