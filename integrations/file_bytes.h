// Reading files: a whole file at once (FileBytes), or piece by piece (FileReader) for extracts
// too big to hold twice.
// Read, not memory-mapped: an extract truncated or rewritten in place while it is being parsed
// must give a bad load (refused by the load-safety checks), never a SIGBUS that stops the daemon.
// Movable, not copyable; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace casewatch {

// On failure, `error` is a message naming the file and the system's reason (e.g. "data/a.csv:
// No such file or directory").
class FileReader {
 public:
  FileReader() = default;
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader();

  // Opens `path`, which must be a regular file (a FIFO or directory is refused, never waited on).
  bool open(const std::string& path, std::string& error);
  // The size when opened (a file still growing is read to its end all the same).
  size_t size_hint() const { return size_hint_; }
  // The modification time when opened, in seconds since the epoch: when the extract was written.
  int64_t modified() const { return modified_; }
  // Appends up to `count` bytes to `out`; fewer only at the end of the file. -1 on error.
  long append(std::string& out, size_t count, std::string& error);

 private:
  int fd_ = -1;
  size_t size_hint_ = 0;
  int64_t modified_ = 0;
  std::string path_;
};

class FileBytes {
 public:
  // Reads `path` whole.
  bool open(const std::string& path, std::string& error);
  std::string_view bytes() const { return data_; }

 private:
  std::string data_;
};

}  // namespace casewatch
