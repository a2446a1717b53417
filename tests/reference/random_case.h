// Random cases for the differential test: feeds (typed records rendered as the text cells an
// extract holds, with nulls, bad cells, duplicate and empty keys), rules of every kind using
// every function in every place an expression can stand, lookup tables, closure days, and a
// sequence of as-of dates with snapshot changes between them. Deterministic for a seed (or for
// a fuzzer's bytes). Not thread-safe: one Random per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rules/date.h"
#include "rules/value.h"
#include "tests/reference/reference.h"

namespace casewatch::difftest {

// A source of choices: a seeded generator, or the bytes of a fuzzer's input (zeros once they are
// used up, so that every input makes a finite, valid case).
class Random {
 public:
  explicit Random(uint64_t seed);
  Random(const uint8_t* data, size_t size) : data_(data), size_(size), from_bytes_(true) {}

  uint64_t next();
  int uniform(int lo, int hi);  // inclusive
  bool chance(int percent) { return uniform(0, 99) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& items) { return items[static_cast<size_t>(uniform(0, static_cast<int>(items.size()) - 1))]; }

 private:
  uint64_t state_ = 0;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0, used_ = 0;
  bool from_bytes_ = false;
};

struct FieldDef {
  std::string name;
  Type type = Type::String;
};

// One cell as the generator meant it: its text in the extract, and the value the loader must
// read from it (nullopt: a bad cell, which rejects its row).
struct Cell {
  std::string text;
  std::optional<reference::Val> value;
};

struct Snapshot {
  std::vector<std::vector<Cell>> rows;  // in extract order, one cell per field
};

struct FeedCase {
  std::string name;
  std::vector<FieldDef> fields;
  size_t key = 0;           // the key field (a string)
  std::string date_format;  // empty: ISO only
};

// A rule as text, in both the engine's and the reference's terms.
using RuleCase = reference::RuleText;

struct Step {
  Day as_of = 0;
  std::vector<Snapshot> snapshots;  // by feed
  std::vector<bool> changed;        // by feed: a new snapshot since the previous step
};

struct TableEntry {
  std::string table, key;
  reference::Val value;
};

struct Case {
  uint64_t seed = 0;
  std::vector<FeedCase> feeds;
  std::vector<RuleCase> rules;
  std::vector<std::string> table_names;  // every table, the empty ones too
  std::vector<TableEntry> table_entries;
  std::vector<Day> extra_non_working_days;
  Day valid_from = 0, valid_until = 0;  // dates outside are bad cells
  std::vector<Step> steps;
};

Case make_case(Random& random);

// The accepted records of a snapshot as the reference sees them: bad cells, empty keys and
// repeated keys reject their row, as SPEC 4 says.
reference::FeedData accepted_records(const FeedCase& feed, const Snapshot& snapshot);

// A readable account of the case, for failure messages.
std::string describe(const Case& c, size_t step);

}  // namespace casewatch::difftest
