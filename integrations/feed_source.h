// Where a feed's records come from: a CSV file, a PostgreSQL query, JSON over HTTP(S). Each
// source turns what it reads into the same snapshot through FeedRows: the same field mapping,
// cell parsing, bad-cell rejection, duplicate-key check and load-safety rules. One file per
// source in integrations/; a new source touches this folder and the config loader only.
// A source is used by one load at a time; separate sources may load on separate threads.
#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "integrations/csv_reader.h"
#include "integrations/feed_loader.h"
#include "rules/table.h"

namespace casewatch {

class FeedRows {
 public:
  FeedRows(const FeedConfig& feed, FeedLoad& load);

  // The source's column names, in order. Each declared field's column is found among them
  // (trimmed, ignoring case); false, with the load's error, when one is missing. `may_be_data`:
  // the names are a CSV's first row, which may be a child's record when the header is missing,
  // so the error never shows more than a few cells that look like headings.
  bool map_columns(std::span<const std::string_view> names, bool may_be_data);
  size_t columns() const { return columns_; }
  // A data row, its cells in the source's column order (after map_columns).
  void add(size_t number, std::span<const std::string_view> cells);
  // A data row, its cells in the declared fields' order (for sources that find each field).
  void add_fields(size_t number, std::span<const std::string_view> cells);
  // A malformed row, rejected whole (`field` names the declared field at fault, or "").
  void reject(size_t number, const std::string& field, std::string reason);
  size_t rows() const;
  // Room for about `rows` data rows in all (see TableBuilder::reserve_rows).
  void reserve_rows(size_t rows);
  // Applies the load-safety rules and, when they pass, builds the table.
  void finish(std::optional<size_t> last_accepted_records);

 private:
  const FeedConfig& feed_;
  FeedLoad& load_;
  TableBuilder builder_;
  std::vector<size_t> position_;  // by declared field: its column in the source
  size_t columns_ = 0;
  std::vector<std::string_view> cells_;
  std::vector<size_t> accepted_numbers_;  // of the rows the builder accepted: where a duplicate key was
};

// CSV text, header first, into FeedRows: for CSV files and for PostgreSQL's COPY output. Rows
// are numbered by line (files) or by record (a database's rows: the header is not one).
class CsvRows {
 public:
  CsvRows(FeedRows& rows, FeedLoad& load, bool number_by_line) : rows_(rows), load_(load), by_line_(number_by_line) {}
  // False once the load has failed (a bad header): nothing more need be read.
  bool add(const csv::Record& record);
  // Refuses an extract whose last row was cut short (no line end, fewer cells than the header).
  bool truncated();
  bool header_read() const { return header_read_; }

 private:
  FeedRows& rows_;
  FeedLoad& load_;
  bool by_line_;
  bool header_read_ = false;
  size_t last_number_ = 0;
  bool last_short_ = false, last_terminated_ = true;
};

class FeedSource {
 public:
  virtual ~FeedSource() = default;
  // Reads the whole source (at most `limit` records when given, for check --probe) into `rows`.
  // A source that cannot be read sets the load's error, naming the feed and the reason.
  virtual void read(FeedRows& rows, FeedLoad& load, std::optional<size_t> limit) = 0;
};

// What load_feed does with the feed's own source, with any source (a fake, in tests).
FeedLoad load_from(FeedSource& source, const FeedConfig& feed, std::optional<size_t> last_accepted_records,
                   std::optional<size_t> limit = std::nullopt);

std::unique_ptr<FeedSource> make_feed_source(const FeedConfig& feed);
std::unique_ptr<FeedSource> make_csv_source(const FeedConfig& feed);
std::unique_ptr<FeedSource> make_postgres_source(const FeedConfig& feed);
std::unique_ptr<FeedSource> make_json_http_source(const FeedConfig& feed);

// json_http's records: the array the feed's `records` pointer names, each element an object whose
// fields are found by their dotted `column` paths, numbered on from `number`. "" when read; "at
// limit" when `limit` records were reached; else why not (invalid JSON, no such array).
std::string read_json_records(std::istream& in, const FeedConfig& feed, FeedRows& rows, size_t& number,
                              std::optional<size_t> limit);
// The URL of RFC 8288's rel="next" among Link header values, resolved against `base`; "" when none.
std::string next_page_link(const std::vector<std::string>& link_headers, const std::string& base);

// A hash of bytes read piece by piece, so that re-reading the same source is known to be the same.
class ContentHash {
 public:
  void add(std::string_view bytes);
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

}  // namespace casewatch
