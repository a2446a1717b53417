// Rendering evaluation results for people (tables) and tools (JSON, CSV).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "rules/engine.h"

namespace casewatch {

struct FeedSummary {
  std::string name;
  bool up = false;
  size_t records = 0;
  size_t rejected = 0;
  std::string error;
};

// Indented by 2; bytes that are not UTF-8 become U+FFFD instead of throwing.

nlohmann::ordered_json value_json(const OwnedValue& value);
nlohmann::ordered_json group_value_json(const Config& config, const GroupValue& value);

// `source` is what the matches were evaluated with (its rules numbered as the config's): their
// labels and annotations are rendered from it as they are written.
void print_eval_json(const Config& config, const EvaluationInput& source, const EvaluationResult& result,
                     const std::string& evaluated_at, const std::vector<FeedSummary>& feeds, std::ostream& out);
void print_eval_table(const Config& config, const EvaluationInput& source, const EvaluationResult& result,
                      const std::string& evaluated_at, const std::vector<FeedSummary>& feeds, std::ostream& out);

// Left-aligned columns separated by two spaces.
void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out);
// One CSV field: quoted (with "" for ") when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& text);

}  // namespace casewatch
