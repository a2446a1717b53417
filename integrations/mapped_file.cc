#include "integrations/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace casewatch {

namespace {

std::string system_error(const std::string& path, int err) { return path + ": " + std::strerror(err); }

}  // namespace

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    MappedFile old(std::move(*this));  // unmaps our current mapping on scope exit
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, false);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

bool MappedFile::open(const std::string& path, std::string& error) {
  *this = MappedFile();

  // O_NONBLOCK so that a FIFO given by mistake is refused below instead of blocking the open.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error = system_error(path, errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = system_error(path, errno);
    ::close(fd);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = S_ISDIR(st.st_mode) ? system_error(path, EISDIR) : path + ": not a regular file";
    ::close(fd);
    return false;
  }
  if (st.st_size == 0) {  // mmap refuses a zero length
    ::close(fd);
    return true;
  }

  const size_t size = static_cast<size_t>(st.st_size);
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file referenced
  if (addr == MAP_FAILED) {
    error = system_error(path, map_errno);
    return false;
  }
  ::madvise(addr, size, MADV_SEQUENTIAL);  // only a hint: failure is harmless
  data_ = static_cast<const char*>(addr);
  size_ = size;
  mapped_ = true;
  return true;
}

}  // namespace casewatch
