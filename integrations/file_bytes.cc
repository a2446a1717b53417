#include "integrations/file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace casewatch {
namespace {

std::string system_error(const std::string& path, int err) { return path + ": " + std::strerror(err); }

}  // namespace

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileReader::open(const std::string& path, std::string& error) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  path_ = path;
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
    // errno says nothing here (fstat succeeded): the kind of file is the reason.
    error = S_ISDIR(st.st_mode)    ? system_error(path, EISDIR)
            : S_ISFIFO(st.st_mode) ? path + ": a named pipe (FIFO), not a regular file: an extract must be a file"
            : S_ISSOCK(st.st_mode) ? path + ": a socket, not a regular file"
                                   : path + ": not a regular file (a device?)";
    ::close(fd);
    return false;
  }
  fd_ = fd;
  size_hint_ = static_cast<size_t>(st.st_size);
  modified_ = static_cast<int64_t>(st.st_mtim.tv_sec);
  return true;
}

long FileReader::append(std::string& out, size_t count, std::string& error) {
  const size_t start = out.size();
  out.resize(start + count);
  size_t used = 0;
  while (used < count) {
    ssize_t n = ::read(fd_, out.data() + start + used, count - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = system_error(path_, errno);
      out.resize(start);
      return -1;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  out.resize(start + used);
  return static_cast<long>(used);
}

bool FileBytes::open(const std::string& path, std::string& error) {
  data_.clear();
  FileReader file;
  if (!file.open(path, error)) return false;
  std::string data;
  // One allocation of the size seen now, then more for a file still growing.
  for (size_t chunk = file.size_hint() + 1;; chunk = data.size() + 4096) {
    long n = file.append(data, chunk, error);
    if (n < 0) return false;
    if (static_cast<size_t>(n) < chunk) break;
  }
  data_ = std::move(data);
  return true;
}

}  // namespace casewatch
