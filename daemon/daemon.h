// `casewatch run`: the event loop (Boost.Asio) that drives the Service: evaluation timer, feed
// file polling, signals (SIGHUP reload; SIGTERM/SIGINT stop), systemd notification and watchdog.
#pragma once

#include <optional>
#include <string>

namespace casewatch {

struct RunOptions {
  std::string config;
  std::string log_format = "text";  // text | json
  std::string log_level = "info";
  std::optional<std::string> listen;      // overrides server.listen (e.g. 127.0.0.1:0 in tests)
  std::optional<std::string> test_clock;  // start a manual clock at this DATE; tests only
  bool state_recover = false;             // move a damaged state file aside and begin afresh
};

int run_daemon(const RunOptions& options);

}  // namespace casewatch
