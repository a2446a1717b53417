// The daemon's log: text or JSON lines on stderr, with what a line is about (a rule, a feed, a
// receiver, an alert's key) as fields rather than inside the message, so central logging can
// filter on them and keep identifiers out of what it indexes. Under systemd (JOURNAL_STREAM
// names stderr) each line starts with its syslog priority, so `journalctl -p err` finds errors.
#pragma once

#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spdlog {
class formatter;
}

namespace casewatch {

struct LogField {
  std::string name;
  std::string value;
};

// Fields carried by every line logged on this thread while the context lives; contexts nest.
class LogContext {
 public:
  LogContext(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
  ~LogContext();
  LogContext(const LogContext&) = delete;
  LogContext& operator=(const LogContext&) = delete;

  static std::span<const LogField> current();

 private:
  size_t added_ = 0;
};

// The formatter of a log line: format "text" or "json"; null for any other.
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format, bool journal);

// Sets the default logger: format "text" or "json", level trace..critical or off. False when
// either is not one of those. `journal`: prefix lines with <N> syslog priorities.
bool setup_logging(const std::string& format, const std::string& level, bool journal);

// Whether stderr is the journal's stream (systemd's JOURNAL_STREAM holds its device and inode).
bool stderr_is_journal();

}  // namespace casewatch
