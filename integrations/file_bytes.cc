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

bool FileBytes::open(const std::string& path, std::string& error) {
  data_.clear();
  // O_NONBLOCK so that a FIFO given by mistake is refused below instead of blocking the open.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error = system_error(path, errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = errno;
    error = S_ISDIR(st.st_mode) ? system_error(path, EISDIR) : (err ? system_error(path, err) : path + ": not a regular file");
    ::close(fd);
    return false;
  }
  // One allocation of the size seen now; a file still growing is read to its end all the same.
  std::string data(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t used = 0;
  while (true) {
    if (used == data.size()) data.resize(data.size() * 2 + 4096);
    ssize_t n = ::read(fd, data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = system_error(path, errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(used);
  data_ = std::move(data);
  return true;
}

}  // namespace casewatch
