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
#include "integrations/load_control.h"
#include "integrations/redact.h"
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
  // A data row, its cells in the declared fields' order (for sources that find each field). Text
  // that is not UTF-8 (a Windows-1252 export) has each bad byte made U+FFFD here, so that no
  // output downstream ever meets it.
  void add_fields(size_t number, std::span<const std::string_view> cells);
  // A malformed row, rejected whole (`field` names the declared field at fault, or ""). `key`:
  // its key cell where it could still be read, so that its record counts as present.
  void reject(size_t number, const std::string& field, std::string reason, std::string_view key = {});
  // The key cell of a row in the source's column order, or "" when it has none.
  std::string_view key_cell(std::span<const std::string_view> cells) const;
  size_t rows() const;
  // More rows than the feed's max_records were given: the load has failed (its error says so).
  bool over_limit() const { return over_limit_; }
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
  std::vector<std::string_view> repaired_cells_;  // a row with bad UTF-8, its bad cells repaired
  std::vector<std::string> repaired_;             // by field: the repaired text
  std::vector<size_t> text_fields_;               // the string fields' indexes
  std::vector<size_t> accepted_numbers_;  // of the rows the builder accepted: where a duplicate key was
  bool over_limit_ = false;
  // Counts a row; false (and the load's error) once there are more than max_records.
  bool count_row();
  void remember_rejected_key(std::string_view key);
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
  size_t records_ = 0;  // after the header: a database row's number (a text cell may hold line breaks)
  bool last_short_ = false, last_terminated_ = true;
};

// CSV text that arrives in pieces (a file read a megabyte at a time, a database's COPY output)
// into CsvRows. A record still incomplete at the end of what has arrived is parsed again only
// once the buffer has doubled, so a file with no line breaks costs linear time; a record over
// kMaxCsvRecordBytes fails the load.
class CsvStream {
 public:
  static constexpr size_t kMaxCsvRecordBytes = 64 << 20;

  CsvStream(CsvRows& rows, FeedLoad& load) : rows_(rows), load_(load) {}
  // Where the next piece goes: append to it, then call parse().
  std::string& buffer() { return buffer_; }
  // Parses what is complete (everything, when `last`). False once reading should stop: the load
  // failed, or `limit` rows were read (a probe).
  bool parse(bool last, std::optional<size_t> limit, const FeedRows& rows);
  // Bytes parsed so far.
  size_t consumed() const { return consumed_; }

 private:
  CsvRows& rows_;
  FeedLoad& load_;
  std::string buffer_;
  size_t line_ = 1;
  size_t consumed_ = 0;
  size_t parse_at_ = 0;  // parse again once the buffer holds this much (or at the end)
};

// How a source may read: at most `limit` records (check --probe), within `control`. A source
// adds its secrets to `redact` (a token, a connection string, a URL): the load's error is passed
// through it, whatever step of the source wrote it.
struct ReadOptions {
  std::optional<size_t> limit;
  const LoadControl& control;
  Redactor& redact;
};

class FeedSource {
 public:
  virtual ~FeedSource() = default;
  // Reads the whole source into `rows`. A source that cannot be read sets the load's error,
  // naming the feed and the reason (never a secret: see redact.h). A source stops with the
  // control's reason as its error once the control says stop, and no wait of its own outlasts
  // the control's deadline.
  virtual void read(FeedRows& rows, FeedLoad& load, const ReadOptions& options) = 0;
};

// What load_feed does with the feed's own source, with any source (a fake, in tests).
FeedLoad load_from(FeedSource& source, const FeedConfig& feed, std::optional<size_t> last_accepted_records,
                   const LoadControl& control, std::optional<size_t> limit = std::nullopt);

std::unique_ptr<FeedSource> make_feed_source(const FeedConfig& feed);
std::unique_ptr<FeedSource> make_csv_source(const FeedConfig& feed);
std::unique_ptr<FeedSource> make_postgres_source(const FeedConfig& feed);
std::unique_ptr<FeedSource> make_json_http_source(const FeedConfig& feed);

// json_http's records: the array the feed's `records` pointer names, each element an object whose
// fields are found by their dotted `column` paths, numbered on from `number`. "" when read; "at
// limit" when `limit` records were reached; else why not (invalid JSON, nesting deeper than
// kMaxJsonDepth, no such array, more than max_records).
std::string read_json_records(std::istream& in, const FeedConfig& feed, FeedRows& rows, size_t& number,
                              std::optional<size_t> limit);
// The target of RFC 8288's rel="next" among Link header values, as written; "" when none.
std::string next_page_target(const std::vector<std::string>& link_headers);
// `reference` resolved against `base` as RFC 3986 section 5 says; "" when either is not a URL.
std::string resolve_url(const std::string& base, const std::string& reference);

// A hash of bytes read piece by piece, so that re-reading the same source is known to be the same:
// the same bytes give the same value however they were split between calls to add().
class ContentHash {
 public:
  ContentHash();
  void add(std::string_view bytes);
  uint64_t value() const;

 private:
  static constexpr size_t kBlock = 32;
  void block(const char* at);

  uint64_t a_, b_, c_, d_;  // the lanes, one 8-byte word of each block each
  uint64_t total_ = 0;      // bytes added
  char pending_[kBlock];    // the start of a block the next add() completes
  size_t pending_size_ = 0;
};

}  // namespace casewatch
