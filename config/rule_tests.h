// Rule unit test files (SPEC 8), read into plain structs. Running them is the CLI's job.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "rules/rule.h"
#include "rules/string_map.h"

namespace casewatch {

struct SourcePosition {
  int line = 0;
  int column = 0;
};

struct RuleTestRow {
  std::vector<std::pair<std::string, std::string>> cells;  // field name, cell text
  std::vector<SourcePosition> positions;                    // of each cell's key
};

struct RuleTestFeed {
  std::string feed;
  SourcePosition position;
  std::vector<RuleTestRow> rows;
  std::optional<std::string> csv;  // CSV text with the feed's column headings
};

struct RuleTestExpect {
  std::string rule;
  std::string key;
  Severity severity = Severity::Warning;
  StringMap labels;                      // a subset
  std::optional<StringMap> annotations;  // exact when given
  SourcePosition position;
};

// An aggregate rule's value for one group: `value` absent means the group has none (null, or no
// record in it).
struct RuleTestValue {
  std::string rule;
  StringMap group;  // every group_by field, as text
  std::optional<double> value;
  double tolerance = 1e-9;  // absolute
  SourcePosition position;
};

struct RuleTestCase {
  std::string name;
  std::string at;  // DATE as written
  SourcePosition position;
  std::vector<RuleTestFeed> feeds;
  std::vector<RuleTestExpect> expects;
  std::vector<RuleTestValue> values;
};

struct RuleTestFile {
  std::string path;
  std::string config;              // resolved against the test file's folder
  std::vector<std::string> rules;  // empty: every rule of the config
  SourcePosition rules_position;
  std::vector<RuleTestCase> cases;
};

std::optional<RuleTestFile> load_rule_test_file(const std::string& path, Diagnostics& diagnostics);

}  // namespace casewatch
