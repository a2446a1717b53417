// A whole file as read-only bytes (memory-mapped; empty files need no mapping).
// Not copyable; movable. The bytes stay valid while the object lives.
#pragma once

#include <string>
#include <string_view>

namespace casewatch {

class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Maps `path`. On failure returns false and sets `error` to a message naming the file and the
  // system's reason (e.g. "data/a.csv: No such file or directory").
  bool open(const std::string& path, std::string& error);
  std::string_view bytes() const { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace casewatch
