#include "integrations/log.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "integrations/json_text.h"
#include "integrations/utf8.h"

namespace casewatch {
namespace {

thread_local std::vector<LogField> context_fields;

// sd-daemon(3)'s priorities: debug 7, info 6, warning 4, error 3, critical 2.
int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    default: return 2;
  }
}

// %P: "<N>" before a line the journal reads, nothing otherwise.
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit PriorityFlag(bool journal) : journal_(journal) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    if (!journal_) return;
    char prefix[4] = {'<', static_cast<char>('0' + syslog_priority(msg.level)), '>', 0};
    dest.append(prefix, prefix + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PriorityFlag>(journal_); }

 private:
  bool journal_;
};

void append(spdlog::memory_buf_t& dest, std::string_view text) { dest.append(text.data(), text.data() + text.size()); }

// %j: the message and the context's fields as JSON members; a message is valid UTF-8 and a
// newline inside it is escaped, so no value can start a line of its own.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    append(dest, "\"message\":");
    append(dest, json_text(nlohmann::json(valid_utf8(std::string_view(msg.payload.data(), msg.payload.size())))));
    for (const LogField& field : context_fields) {
      append(dest, ",");
      append(dest, json_text(nlohmann::json(field.name)));
      append(dest, ":");
      append(dest, json_text(nlohmann::json(valid_utf8(field.value))));
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

// %q: the message, then the fields as name=value (quoted when they hold a space), control
// characters escaped.
class TextMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    append(dest, log_safe(std::string_view(msg.payload.data(), msg.payload.size())));
    for (const LogField& field : context_fields) {
      append(dest, " ");
      append(dest, field.name);
      append(dest, "=");
      std::string value = log_safe(field.value);
      if (needs_quotes(value)) {
        std::string quoted = "\"";
        for (char c : value) quoted += c == '"' ? std::string("\\\"") : std::string(1, c);
        value = quoted + "\"";
      }
      append(dest, value);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<TextMessageFlag>(); }
};

}  // namespace

LogContext::LogContext(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  for (const auto& [name, value] : fields) context_fields.push_back({std::string(name), std::string(value)});
  added_ = fields.size();
}

LogContext::~LogContext() { context_fields.resize(context_fields.size() - added_); }

std::span<const LogField> LogContext::current() { return context_fields; }

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  return ::fstat(2, &st) == 0 && static_cast<unsigned long long>(st.st_dev) == device &&
         static_cast<unsigned long long>(st.st_ino) == inode;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format, bool journal) {
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<PriorityFlag>('P', journal).add_flag<JsonMessageFlag>('j').set_pattern(
        R"(%P{"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%j})");
    return formatter;
  }
  if (format == "text") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<PriorityFlag>('P', journal).add_flag<TextMessageFlag>('q').set_pattern(
        "%P%Y-%m-%dT%H:%M:%S.%e%z %l %q");
    return formatter;
  }
  return nullptr;
}

bool setup_logging(const std::string& format, const std::string& level, bool journal) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return false;
  auto formatter = make_log_formatter(format, journal);
  if (!formatter) return false;
  auto logger = spdlog::get("casewatch");
  if (!logger) logger = spdlog::stderr_logger_mt("casewatch");
  spdlog::set_default_logger(logger);
  spdlog::set_level(parsed);
  logger->set_formatter(std::move(formatter));
  return true;
}

}  // namespace casewatch
