// A feed's snapshot: typed columns, one per declared field, with strings dictionary-encoded and
// dates as day numbers. Built once by a TableBuilder, then immutable: safe to read from many
// threads.
#pragma once

#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/date.h"
#include "rules/value.h"

namespace casewatch {

struct FieldSpec {
  std::string name;
  Type type = Type::String;
  bool personal = false;  // about a child: must never reach /metrics (the key always is)
};

struct Schema {
  std::vector<FieldSpec> fields;
  size_t key = 0;  // index of the key field (always a string column)

  // -1 when absent.
  int field_index(std::string_view name) const;
};

inline constexpr uint32_t kNullCode = 0xffffffffu;

// Tells the system that the whole pages within [from, to) hold nothing (they read as zeros if
// touched again): spare capacity of a vector whose memory may have been used before.
void release_pages(const void* from, const void* to);

// Gives back a vector's spare capacity. More than an eighth of it: by shrinking (a copy). Less
// (what a reservation from a good guess leaves): its pages are released where they lie, since
// copying every element into fresh pages would cost more than the whole slack.
template <class Vector>
void give_back_spare(Vector& cells) {
  if ((cells.capacity() - cells.size()) * 8 > cells.capacity()) cells.shrink_to_fit();
  else release_pages(cells.data() + cells.size(), cells.data() + cells.capacity());
}

// The strings of a string column, end to end in one buffer: a code's text is found from its end
// offset and the previous one. Eight bytes per entry and no pointer per string, so a column of
// a million identifiers costs little more than its text.
class StringDictionary {
 public:
  size_t size() const { return ends_.size(); }
  std::string_view operator[](uint32_t code) const {
    const uint64_t begin = code == 0 ? 0 : ends_[code - 1];
    return {bytes_.data() + begin, static_cast<size_t>(ends_[code] - begin)};
  }
  // Appends `text` and returns its code.
  uint32_t add(std::string_view text) {
    bytes_.insert(bytes_.end(), text.begin(), text.end());
    ends_.push_back(bytes_.size());
    return static_cast<uint32_t>(ends_.size() - 1);
  }
  // Room for `strings` more strings of `bytes` in all: one allocation instead of a doubling
  // series, each step of which touches fresh pages and copies the last.
  void reserve_more(size_t strings, size_t bytes) {
    ends_.reserve(ends_.size() + strings);
    bytes_.reserve(bytes_.size() + bytes);
  }
  // The bytes of its strings, together.
  size_t byte_size() const { return bytes_.size(); }
  void shrink_to_fit() {
    give_back_spare(bytes_);
    give_back_spare(ends_);
  }

 private:
  std::vector<char> bytes_;
  std::vector<uint64_t> ends_;
};

struct Column {
  Type type = Type::String;
  std::vector<double> numbers;   // Number: NaN is null (cells never parse to NaN)
  std::vector<Day> days;         // Date: kNullDay is null
  std::vector<int8_t> bools;     // Bool: -1 is null
  std::vector<uint32_t> codes;   // String: index into dictionary, kNullCode is null
  StringDictionary dictionary;
  // False when the table was built without this column (TableBuilder::store_only): its vectors
  // are empty.
  bool stored = true;
  // Whether equal strings always have equal codes. A column whose values are nearly all
  // different (an identifier that is not the key) is stored cell by cell without looking each
  // one up: looking up millions of strings that are never found costs more than it saves.
  bool distinct_codes = true;
};

class Table {
 public:
  Table() = default;
  explicit Table(std::shared_ptr<const Schema> schema);

  const Schema& schema() const { return *schema_; }
  std::shared_ptr<const Schema> schema_ptr() const { return schema_; }
  size_t rows() const { return rows_; }
  // Unique to each table built in this process: tells a cache which snapshot it was made from.
  uint64_t id() const { return id_; }
  const Column& column(size_t field) const { return columns_[field]; }
  std::string_view key(size_t row) const {
    const Column& c = columns_[schema_->key];
    return c.dictionary[c.codes[row]];
  }

  // The keys of rows that were rejected (a bad cell) although their key could be read, sorted:
  // their records are in the source, so they are not missing, only unreadable this time.
  const std::vector<std::string>& rejected_keys() const { return rejected_keys_; }
  bool has_rejected_key(std::string_view key) const;

  Value value(size_t row, size_t field) const {
    const Column& c = columns_[field];
    switch (c.type) {
      case Type::Number: return std::isnan(c.numbers[row]) ? Value() : Value::of_number(c.numbers[row]);
      case Type::Date: return Value::of_date(c.days[row]);
      case Type::Bool: return c.bools[row] < 0 ? Value() : Value::of_bool(c.bools[row] != 0);
      case Type::String: return c.codes[row] == kNullCode ? Value() : Value::of_string(c.dictionary[c.codes[row]]);
      default: return {};
    }
  }

 private:
  friend class TableBuilder;
  std::shared_ptr<const Schema> schema_;
  std::vector<Column> columns_;
  size_t rows_ = 0;
  uint64_t id_ = 0;
  std::vector<std::string> rejected_keys_;
};

// Maps strings to dense codes: open addressing over a power-of-two table of codes, so that
// interning millions of cells costs one hash and usually one comparison, with no node per
// entry. The strings themselves live in the column's dictionary.
class StringInterner {
 public:
  static uint64_t hash(std::string_view text);
  // The step `hash` folds each 8-byte word in with: a multiply and an xorshift, well mixed in the
  // high bits. Shared with the hash of whole extracts (ContentHash).
  static uint64_t mix(uint64_t h, uint64_t word) {
    h = (h ^ word) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 32);
  }
  // The code of `text` (whose hash is `h`) in `dictionary`, or kNullCode when absent.
  uint32_t find(uint64_t h, std::string_view text, const StringDictionary& dictionary) const {
    return find_if(h, [&](uint32_t code) { return dictionary[code] == text; });
  }
  // The code whose hash is `h` and for which `same(code)` holds, or kNullCode. `same` is called
  // only on a slot whose hash bits match, so a string it reads is fetched only then.
  template <class Same>
  uint32_t find_if(uint64_t h, Same same) const {
    if (slots_.empty()) return kNullCode;
    const uint64_t tag = h >> 32;
    const size_t mask = slots_.size() - 1;
    for (size_t i = tag & mask;; i = (i + 1) & mask) {
      const uint64_t slot = slots_[i];
      if (slot == 0) return kNullCode;
      if ((slot >> 32) == tag && same(static_cast<uint32_t>(slot) - 1)) return static_cast<uint32_t>(slot) - 1;
    }
  }
  // Records that the string hashed `h` has `code` (it must be absent).
  void insert(uint64_t h, uint32_t code);
  // Forgets every string, with room for `strings` before it grows (keeping the slots it has).
  void clear(size_t strings);

 private:
  void grow();
  // Each slot: the hash's high 32 bits (which also choose the slot), then code + 1 (0: empty).
  // The check against the hash needs no string compare and no second memory access, and
  // growing re-places slots without hashing any string again.
  std::vector<uint64_t> slots_;
  size_t used_ = 0;
};

// Parses cells into a Table. Cells are the raw texts of one row, one per schema field, already
// trimmed; an empty cell is null. A row with a cell that does not parse, a date outside
// `valid_dates`, an empty key or a key with a control character is rejected alone by add_row. A
// row whose key an earlier row has is dropped once every row is in (drop_duplicate_keys): one
// pass over the keys in cache-sized parts costs far less than a lookup per row in a table of
// millions.
class TableBuilder {
 public:
  TableBuilder(std::shared_ptr<const Schema> schema, DateParser dates, DateRange valid_dates = {});

  struct RowError {
    size_t field;         // the schema field at fault
    std::string message;  // e.g. "not a date"; never the cell's value
  };
  // Keeps only the columns of the fields marked true (by schema index; the key's always), before
  // the first add_row. The cells of the others are still checked against their types, so the
  // same rows are rejected, but nothing of them is kept: a string cell costs no interning at all.
  void store_only(const std::vector<bool>& fields);
  // Every check but the duplicate key's.
  std::optional<RowError> add_row(std::span<const std::string_view> cells);
  size_t rows() const { return table_.rows_; }
  // Room for about `rows` rows in all (a guess from the source's size; a wrong guess costs
  // only time). Pages reserved but never filled are never touched, so never resident.
  void reserve_rows(size_t rows);
  // Drops every row whose key an earlier row has, after the last add_row, and returns them by
  // their places among the rows add_row accepted (0 for the first), in order. Each is rejected
  // as kDuplicateKey of the key field. finish() does it when it has not been done.
  std::vector<size_t> drop_duplicate_keys();
  static constexpr std::string_view kDuplicateKey = "duplicate key";
  // The key of a row rejected for another cell (Table::rejected_keys).
  void add_rejected_key(std::string_view key) { table_.rejected_keys_.emplace_back(key); }
  Table finish();

 private:
  uint32_t intern(size_t field, std::string_view text);
  // dates_.parse(text), remembered for ten-character cells: a date column holds a few thousand
  // days over millions of rows, and the same bytes always read as the same day.
  std::optional<Day> parse_date(std::string_view text);
  // Stops interning string columns that turn out to hold mostly distinct values.
  void review_cardinality();
  // Removes the rows `dropped` (sorted) from every column.
  void erase_rows(const std::vector<size_t>& dropped);

  Table table_;
  DateParser dates_;
  DateRange valid_dates_;
  std::vector<StringInterner> interners_;  // the key's is unused: its check is drop_duplicate_keys
  bool keys_checked_ = false;
  // Parsed cells of the row being added, committed only when the whole row is good.
  std::vector<double> numbers_;
  std::vector<Day> days_;
  std::vector<int8_t> bools_;
  struct RememberedDate {
    uint64_t head = 0;  // the cell's first eight bytes
    uint32_t tail = 0;  // its last two, with bit 16 set once the entry holds a day
    Day day = 0;
  };
  std::vector<RememberedDate> remembered_dates_;  // direct-mapped by the cell's bytes
};

// Cell parsing shared by feeds and rule tests.
std::optional<double> parse_number_cell(std::string_view text);
std::optional<bool> parse_bool_cell(std::string_view text);

}  // namespace casewatch
