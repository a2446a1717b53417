#include "notify/receivers/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "integrations/json_text.h"
#include "notify/receivers/common.h"
#include "notify/receivers/receiver.h"
#include "rules/date.h"

namespace casewatch {

using json = nlohmann::json;

namespace {

json time_or_null(int64_t seconds) { return seconds > 0 ? json(rfc3339_utc(seconds)) : json(nullptr); }

}  // namespace

json file_record(const Notification& n) {
  json alerts = json::array();
  for (const auto& na : n.alerts) {
    if (na.is_acknowledgement()) continue;  // not an alert's state: only for people
    const Alert& a = na.alert;
    alerts.push_back({{"fingerprint", a.fingerprint},
                      {"rule", a.rule},
                      {"key", a.key},
                      {"status", receiver_text::status_of(na)},
                      {"severity", std::string(severity_name(a.severity))},
                      {"state", std::string(alert_state_name(a.state))},
                      {"labels", a.labels()},
                      {"annotations", a.annotations()},
                      {"active_since", time_or_null(a.active_since)},
                      {"fired_at", time_or_null(a.fired_at)},
                      {"ends_at", time_or_null(na.ends_at)},
                      {"due_date", a.due_date == kNullDay ? json(nullptr) : json(format_iso(a.due_date))},
                      {"value", a.value ? json(*a.value) : json(nullptr)},
                      {"is_new", na.is_new}});
  }
  return {{"id", n.id},
          {"receiver", n.receiver},
          {"route", n.route},
          {"status", std::string(notification_status_name(n.status()))},
          {"group_key", n.group_key},
          {"group_labels", n.group_labels},
          {"digest", n.digest},
          {"created_at", time_or_null(n.created_at)},
          {"external_url", n.external_url},
          {"alerts", alerts}};
}

namespace {

class FileReceiver final : public Receiver {
 public:
  explicit FileReceiver(const ReceiverConfig& config) : Receiver(config) {}

  DeliveryResult deliver(const Notification& n, const std::string&, int64_t, const std::atomic<bool>&) const override {
    const ReceiverConfig& r = config_;
    if (r.path.empty()) return {false, true, "receiver '" + r.name + "' has no path"};
    std::string line = json_text(file_record(n)) + "\n";
    std::lock_guard lock(mutex_);
    int fd = ::open(r.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return {false, false, "receiver '" + r.name + "': " + r.path + ": " + std::strerror(errno)};
    struct stat before {};
    bool known_size = ::fstat(fd, &before) == 0;
    size_t written = 0;
    while (written < line.size()) {
      ssize_t w = ::write(fd, line.data() + written, line.size() - written);
      if (w < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        if (written > 0 && known_size) {
          // No half line left behind; if even that fails, the write's error is the one to report.
          [[maybe_unused]] int truncated = ::ftruncate(fd, before.st_size);
        }
        ::close(fd);
        return {false, false, "receiver '" + r.name + "': " + r.path + ": " + std::strerror(e)};
      }
      written += static_cast<size_t>(w);
    }
    if (::fsync(fd) != 0) {
      int e = errno;
      ::close(fd);
      return {false, false, "receiver '" + r.name + "': " + r.path + ": fsync: " + std::strerror(e)};
    }
    if (::close(fd) != 0)
      return {false, false, "receiver '" + r.name + "': " + r.path + ": close: " + std::strerror(errno)};
    return {true, false, ""};
  }

 private:
  mutable std::mutex mutex_;  // one appender at a time per receiver
};

}  // namespace

std::unique_ptr<Receiver> make_file_receiver(const ReceiverConfig& config, const ReceiverContext&) {
  return std::make_unique<FileReceiver>(config);
}

}  // namespace casewatch
