// A whole file read into memory in one pass.
// Read, not memory-mapped: an extract truncated or rewritten in place while it is being parsed
// must give a bad load (refused by the load-safety checks), never a SIGBUS that stops the daemon.
// Movable, not copyable; not thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace casewatch {

class FileBytes {
 public:
  // Reads `path`. On failure returns false and sets `error` to a message naming the file and the
  // system's reason (e.g. "data/a.csv: No such file or directory").
  bool open(const std::string& path, std::string& error);
  std::string_view bytes() const { return data_; }

 private:
  std::string data_;
};

}  // namespace casewatch
