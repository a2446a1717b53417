// casewatch-phases: times the phases of `casewatch eval` on one deployment, in one process:
// loading every feed (cold), evaluating every rule at an as-of date, evaluating again at the next
// day with the feeds unchanged (the daemon's steady state: an EvaluationCache kept between the
// two), and rendering the JSON output. Prints one JSON object; used by bench/macro.sh. Peak RSS
// is read from /proc at the end. With PHASES_RULES=1 in the environment it also prints, on
// stderr, each rule's warm evaluation and sorting time, one rule at a time.
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "cli/output.h"
#include "config/as_of.h"
#include "config/config.h"
#include "integrations/feed_loader.h"
#include "rules/engine.h"

using namespace casewatch;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long status_kb(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: casewatch-phases CONFIG DATE\n";
    return 2;
  }
  Diagnostics diagnostics;
  auto config = load_config(argv[1], diagnostics);
  if (!config) {
    diagnostics.print(std::cerr);
    return 1;
  }
  auto as_of = parse_as_of(argv[2], config->engine.timezone);
  if (!as_of) return 2;

  // As eval loads: only the columns the rules read.
  for (size_t f = 0; f < config->feeds.size(); ++f)
    config->feeds[f].stored_fields = fields_read(config->rules, f, config->feeds[f].fields.size());
  auto start = std::chrono::steady_clock::now();
  std::vector<FeedLoad> loads = load_feeds(config->feeds);
  double load_seconds = seconds_since(start);
  const long loaded_rss_kb = status_kb("VmRSS:");
  std::vector<const Table*> tables;
  size_t records = 0;
  for (const FeedLoad& load : loads) {
    tables.push_back(load.table.get());
    if (load.table) records += load.table->rows();
  }

  // As the daemon evaluates: with a cache kept from one evaluation to the next.
  EvaluationCache cache(config->rules.size());
  EvaluationInput input{config->rules, tables, as_of->day, config->calendar.get(), config->tables.get(), &cache};
  start = std::chrono::steady_clock::now();
  EvaluationResult first = evaluate(input);
  double eval_seconds = seconds_since(start);
  const long evaluated_rss_kb = status_kb("VmRSS:");

  input.as_of = as_of->day + 1;
  start = std::chrono::steady_clock::now();
  EvaluationResult second = evaluate(input);
  double warm_seconds = seconds_since(start);
  if (std::getenv("PHASES_RULES")) {
    for (size_t r = 0; r < config->rules.size(); ++r) {
      EvaluationResult one;
      auto t = std::chrono::steady_clock::now();
      evaluate_rule(input, r, one);
      double e = seconds_since(t);
      t = std::chrono::steady_clock::now();
      sort_result(config->rules, one);
      std::fprintf(stderr, "%-32s %8.4f s eval  %8.4f s sort  %zu matches\n", config->rules[r].spec.name.c_str(), e, seconds_since(t), one.matches.size());
    }
  }

  start = std::chrono::steady_clock::now();
  std::ostringstream json;
  print_eval_json(*config, input, first, format_rfc3339(*as_of), {}, json);
  double render_seconds = seconds_since(start);

  std::printf("{\"records\": %zu, \"load_seconds\": %.4f, \"eval_seconds\": %.4f, \"warm_eval_seconds\": %.4f, "
              "\"render_seconds\": %.4f, \"alerts\": %zu, \"values\": %zu, \"output_bytes\": %zu, \"loaded_rss_kb\": %ld, "
              "\"evaluated_rss_kb\": %ld, \"peak_rss_kb\": %ld}\n",
              records, load_seconds, eval_seconds, warm_seconds, render_seconds, first.matches.size(), first.values.size(),
              json.str().size(), loaded_rss_kb, evaluated_rss_kb, status_kb("VmHWM:"));
  return 0;
}
