// The casewatch commands (SPEC 2). Each returns the process exit code: 0 success, 1 problems
// found, 2 bad usage. Output goes to the given streams so tests can capture it.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace casewatch {

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblems = 1;
inline constexpr int kExitUsage = 2;

struct EvalOptions {
  std::string config;
  std::optional<std::string> at;
  std::string format = "table";
  std::vector<std::string> rules;
};

struct BacktestOptions {
  std::string config;
  std::string from, to;
  std::string format = "table";
};

struct ForecastOptions {
  std::string config;
  std::optional<std::string> from, to;
  std::string format = "table";
};

struct PreviewOptions {
  std::string config;
  std::optional<std::string> at;
  std::string out;  // a folder: one file per message part
};

// `probe`: also read each feed's first rows from its source.
// `casewatch state backup|restore`: action is "backup" or "restore".
int run_state(const std::string& action, const std::string& config, const std::string& file, std::ostream& out,
              std::ostream& err);
int run_check(const std::string& config, std::istream& in, std::ostream& out, std::ostream& err, bool probe = false);
int run_eval(const EvalOptions& options, std::ostream& out, std::ostream& err);
int run_tests(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);
int run_backtest(const BacktestOptions& options, std::ostream& out, std::ostream& err);
int run_forecast(const ForecastOptions& options, std::ostream& out, std::ostream& err);
// Evaluates as `eval`, routes every alert as firing, and writes each message a person would read
// (email text and HTML, Teams and Slack JSON) into options.out, sending nothing.
int run_preview(const PreviewOptions& options, std::ostream& out, std::ostream& err);
// Reads a password (one line) from `in` and prints its bcrypt hash.
int run_hash_password(int cost, std::istream& in, std::ostream& out, std::ostream& err);

// Parses the command line and runs the command.
int casewatch_main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace casewatch
