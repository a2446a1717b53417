// Loading a feed's source into a Table snapshot, with per-row rejection and the load-safety
// thresholds of SPEC 4. Stateless: the caller keeps the last accepted snapshot. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "integrations/load_control.h"
#include "rules/table.h"

namespace casewatch {

struct RejectedRow {
  size_t line = 0;      // the line (a file) or the record's number (a database, JSON)
  std::string field;    // empty when the row as a whole is malformed
  std::string column;
  std::string reason;   // never the cell's value: logs must not carry personal data

  // "FILE:LINE: row rejected: field 'x' (column "Y"): REASON"
  std::string format(std::string_view source) const;
};

struct FeedLoad {
  bool accepted = false;
  std::string error;                     // why the load was refused; never a cell's value
  std::shared_ptr<const Table> table;    // set when accepted
  size_t rows_read = 0;                  // data rows, rejected ones included
  size_t rejected = 0;
  std::vector<RejectedRow> rejected_rows;  // the first kMaxRejectedReported of them
  // When the source last changed (a file's modification time), seconds since the epoch; 0 when
  // unknown. A feed's age is measured from it: re-reading an extract that stopped arriving does
  // not make it fresh.
  int64_t source_time = 0;
  // A hash of the bytes read, so that re-reading the same extract is known to be the same load.
  uint64_t content_hash = 0;
};

inline constexpr size_t kMaxRejectedReported = 100;

// How messages name a feed's source: a CSV feed's file; "postgres feed 'NAME'" or
// "json_http feed 'NAME'" (never a URL or a connection string: they may hold secrets).
std::string feed_source_name(const FeedConfig& feed);

// Parses CSV bytes (`source` names them in messages). `last_accepted_records` is the record count
// of the snapshot in force, for the shrink check; nullopt on the first load.
FeedLoad load_csv(const FeedConfig& feed, std::string_view bytes, std::string_view source,
                  std::optional<size_t> last_accepted_records);

// A control whose deadline is the feed's load_timeout from now.
LoadControl load_control_for(const FeedConfig& feed);

// Reads the feed's source (a file, a database query, an HTTP resource) and loads it within
// `control`; `limit` stops after that many records (check --probe).
FeedLoad load_feed(const FeedConfig& feed, std::optional<size_t> last_accepted_records, const LoadControl& control,
                   std::optional<size_t> limit = std::nullopt);

// Loads several feeds at once, each on one of up to hardware_concurrency() threads, largest
// files first, each within its load_timeout. `last_accepted_records` is by position (empty:
// first loads). Results by position.
std::vector<FeedLoad> load_feeds(const std::vector<const FeedConfig*>& feeds,
                                 const std::vector<std::optional<size_t>>& last_accepted_records = {});
std::vector<FeedLoad> load_feeds(const std::vector<FeedConfig>& feeds);

}  // namespace casewatch
