#include "integrations/feed_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <numeric>

#include "integrations/feed_source.h"
#include "rules/parallel.h"

namespace casewatch {

std::string RejectedRow::format(std::string_view source) const {
  std::string out = std::string(source) + ":" + std::to_string(line) + ": row rejected: ";
  if (!field.empty()) out += "field '" + field + "' (column \"" + column + "\"): ";
  return out + reason;
}

std::string feed_source_name(const FeedConfig& feed) {
  switch (feed.type) {
    case FeedType::Csv: return feed.path;
    case FeedType::Postgres: return "postgres feed '" + feed.name + "'";
    case FeedType::JsonHttp: return "json_http feed '" + feed.name + "'";
  }
  return feed.name;
}

namespace {

bool same_heading(std::string_view a, std::string_view b) {
  a = trim(a);
  b = trim(b);
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Refuses a load whose rejected rows or shrinkage exceed the feed's limits.
void apply_safety(const FeedConfig& feed, std::optional<size_t> last, FeedLoad& load, size_t accepted_rows) {
  // Ratios are compared as quotients, not products: 29 of 100 is exactly 0.29, but
  // 0.29 * 100 is 28.999999999999996 in doubles.
  if (load.rows_read > 0 &&
      static_cast<double>(load.rejected) / static_cast<double>(load.rows_read) > feed.max_rejected_ratio) {
    load.error = std::to_string(load.rejected) + " of " + std::to_string(load.rows_read) +
                 " rows rejected, more than max_rejected_ratio " + number_to_text(feed.max_rejected_ratio);
    return;
  }
  if (last && accepted_rows < *last &&
      static_cast<double>(*last - accepted_rows) / static_cast<double>(*last) > feed.max_shrink_ratio) {
    load.error = std::to_string(accepted_rows) + " records, down from " + std::to_string(*last) +
                 ": shrank by more than max_shrink_ratio " + number_to_text(feed.max_shrink_ratio);
    return;
  }
  load.accepted = true;
}

// At most 80 bytes of the names, and only those that look like headings (not a number or a
// date), so that even a first row that is a child's record shows no value.
std::string headings_preview(std::span<const std::string_view> names, const std::string& date_format) {
  constexpr size_t kLimit = 80;
  DateParser dates(date_format);
  std::string out;
  for (std::string_view cell : names) {
    cell = trim(cell);
    if (cell.empty() || parse_number_cell(cell) || dates.parse(cell)) continue;
    std::string quoted = (out.empty() ? "\"" : ", \"") + std::string(cell) + "\"";
    if (out.size() + quoted.size() > kLimit) {
      out += out.empty() ? "(headings too long to show)" : ", ...";
      break;
    }
    out += quoted;
  }
  return out.empty() ? "(no headings to show)" : out;
}

}  // namespace

void ContentHash::add(std::string_view bytes) {
  // Four independent lanes of StringInterner::hash's mix: one chain of multiplies over a whole
  // extract ran at little more than a byte per cycle, a tenth of a cold eval's time.
  constexpr uint64_t kOdd = 0x9e3779b97f4a7c15ull;
  const auto mix = &StringInterner::mix;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  auto word = [](const char* at) {
    uint64_t w;
    std::memcpy(&w, at, 8);
    return w;
  };
  // Named lanes rather than an array, which the compiler vectorised into slower 32-bit multiplies.
  uint64_t a = kOdd, b = 2 * kOdd, c = 3 * kOdd, d = 4 * kOdd;
  for (; end - p >= 32; p += 32) {
    a = mix(a, word(p));
    b = mix(b, word(p + 8));
    c = mix(c, word(p + 16));
    d = mix(d, word(p + 24));
  }
  uint64_t h = StringInterner::hash(std::string_view(p, static_cast<size_t>(end - p)));
  for (uint64_t lane : {a, b, c, d}) h = mix(h, lane);
  value_ = mix(value_ * kOdd, h ^ bytes.size());
}

FeedRows::FeedRows(const FeedConfig& feed, FeedLoad& load)
    : feed_(feed),
      load_(load),
      builder_(feed.schema, DateParser(feed.date_format), feed.valid_dates),
      position_(feed.fields.size(), SIZE_MAX),
      cells_(feed.fields.size()) {
  if (!feed.stored_fields.empty()) builder_.store_only(feed.stored_fields);
}

bool FeedRows::map_columns(std::span<const std::string_view> names, bool may_be_data) {
  columns_ = names.size();
  std::vector<std::string> missing;
  size_t found = 0;
  for (size_t f = 0; f < feed_.fields.size(); ++f) {
    position_[f] = SIZE_MAX;
    for (size_t c = 0; c < names.size(); ++c)
      if (same_heading(names[c], feed_.fields[f].column)) {
        position_[f] = c;
        break;
      }
    if (position_[f] == SIZE_MAX) missing.push_back("\"" + feed_.fields[f].column + "\"");
    else ++found;
  }
  if (missing.empty()) return true;
  std::string list;
  for (size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + missing[i];
  std::string count = std::to_string(names.size()) + " column" + (names.size() == 1 ? "" : "s");
  if (may_be_data && found == 0) {
    // Not one heading matched: the first row is most likely data (an extract without its
    // header row), and data about a child must not reach a log or a notification.
    load_.error = "the first row has none of the declared columns (it has " + count +
                  "): is the header row missing? Expected " + list;
    return false;
  }
  load_.error = std::string(missing.size() == 1 ? "missing column " : "missing columns ") + list + "; " +
                (may_be_data ? "the header row has " : "the result has ") + count + ", beginning " +
                headings_preview(names, feed_.date_format);
  return false;
}

void FeedRows::add(size_t number, std::span<const std::string_view> cells) {
  for (size_t f = 0; f < feed_.fields.size(); ++f) cells_[f] = position_[f] < cells.size() ? trim(cells[position_[f]]) : "";
  add_fields(number, cells_);
}

void FeedRows::add_fields(size_t number, std::span<const std::string_view> cells) {
  ++load_.rows_read;
  if (auto problem = builder_.add_row(cells)) {
    const FieldConfig& field = feed_.fields[problem->field];
    ++load_.rejected;
    if (load_.rejected_rows.size() < kMaxRejectedReported)
      load_.rejected_rows.push_back({number, field.name, field.column, problem->message});
  } else {
    accepted_numbers_.push_back(number);
  }
}

void FeedRows::reject(size_t number, const std::string& field, std::string reason) {
  ++load_.rows_read;
  ++load_.rejected;
  std::string column;
  for (const FieldConfig& f : feed_.fields)
    if (f.name == field) column = f.column;
  if (load_.rejected_rows.size() < kMaxRejectedReported)
    load_.rejected_rows.push_back({number, field, column, std::move(reason)});
}

size_t FeedRows::rows() const { return static_cast<size_t>(load_.rows_read); }

void FeedRows::reserve_rows(size_t rows) {
  // Only a guess: when the room cannot be had, the columns grow as they go instead.
  try {
    builder_.reserve_rows(rows);
    accepted_numbers_.reserve(rows);
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
}

void FeedRows::finish(std::optional<size_t> last_accepted_records) {
  const std::vector<size_t> duplicates = builder_.drop_duplicate_keys();
  if (!duplicates.empty()) {
    const FieldConfig& key = feed_.fields[feed_.schema->key];
    for (size_t row : duplicates)
      load_.rejected_rows.push_back({accepted_numbers_[row], key.name, key.column, std::string(TableBuilder::kDuplicateKey)});
    load_.rejected += duplicates.size();
    // Reported in the order of the source, as if each had been rejected when it was read.
    std::stable_sort(load_.rejected_rows.begin(), load_.rejected_rows.end(),
                     [](const RejectedRow& a, const RejectedRow& b) { return a.line < b.line; });
    if (load_.rejected_rows.size() > kMaxRejectedReported) load_.rejected_rows.resize(kMaxRejectedReported);
  }
  accepted_numbers_ = {};
  apply_safety(feed_, last_accepted_records, load_, builder_.rows());
  if (load_.accepted) load_.table = std::make_shared<const Table>(builder_.finish());
}

bool CsvRows::add(const csv::Record& record) {
  if (!header_read_) {
    header_read_ = true;
    if (!record.error.empty()) {
      load_.error = "header row: " + record.error;
      return false;
    }
    return rows_.map_columns(record.fields, by_line_);
  }
  const size_t number = by_line_ ? record.line : record.line - 1;
  last_number_ = number;
  last_short_ = record.fields.size() < rows_.columns() || !record.error.empty();
  last_terminated_ = record.terminated;
  if (!record.error.empty()) {
    rows_.reject(number, "", record.error);
    return true;
  }
  // A row with fewer cells than the header is malformed: its missing cells are not nulls.
  if (record.fields.size() < rows_.columns()) {
    rows_.reject(number, "", "the row has " + std::to_string(record.fields.size()) + " of the header's " +
                                 std::to_string(rows_.columns()) + " columns");
    return true;
  }
  rows_.add(number, record.fields);
  return true;
}

bool CsvRows::truncated() {
  if (!header_read_) {
    if (load_.error.empty()) load_.error = "no header row";
    return true;
  }
  // An extract cut off while it was being written: refused whole, so that the records it lost
  // cannot resolve their alerts (SPEC 4: a truncated extract must never resolve alerts).
  if (rows_.rows() > 0 && last_short_ && !last_terminated_) {
    load_.error = "the extract looks truncated: its last row (" + std::string(by_line_ ? "line " : "row ") +
                  std::to_string(last_number_) + ") is cut short and has no line end";
    return true;
  }
  return false;
}

FeedLoad load_csv(const FeedConfig& feed, std::string_view bytes, std::string_view /*source*/,
                  std::optional<size_t> last_accepted_records) {
  FeedLoad load;
  ContentHash hash;
  hash.add(bytes);
  load.content_hash = hash.value();
  FeedRows rows(feed, load);
  CsvRows csv_rows(rows, load, true);
  csv::Reader reader(bytes);
  csv::Record record;
  while (reader.next(record))
    if (!csv_rows.add(record)) return load;
  if (csv_rows.truncated()) return load;
  rows.finish(last_accepted_records);
  return load;
}

FeedLoad load_feed(const FeedConfig& feed, std::optional<size_t> last_accepted_records, std::optional<size_t> limit) {
  return load_from(*make_feed_source(feed), feed, last_accepted_records, limit);
}

FeedLoad load_from(FeedSource& source, const FeedConfig& feed, std::optional<size_t> last_accepted_records,
                   std::optional<size_t> limit) {
  FeedLoad load;
  FeedRows rows(feed, load);
  source.read(rows, load, limit);
  if (!load.error.empty()) return load;
  rows.finish(last_accepted_records);
  return load;
}

std::unique_ptr<FeedSource> make_feed_source(const FeedConfig& feed) {
  switch (feed.type) {
    case FeedType::Csv: return make_csv_source(feed);
    case FeedType::Postgres: return make_postgres_source(feed);
    case FeedType::JsonHttp: return make_json_http_source(feed);
  }
  return make_csv_source(feed);
}

std::vector<FeedLoad> load_feeds(const std::vector<const FeedConfig*>& feeds,
                                 const std::vector<std::optional<size_t>>& last_accepted_records) {
  std::vector<FeedLoad> loads(feeds.size());
  // Largest files first, so that one big extract does not start last and run alone.
  std::vector<size_t> order(feeds.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<off_t> sizes(feeds.size(), 0);
  for (size_t i = 0; i < feeds.size(); ++i) {
    struct stat st {};
    if (feeds[i]->type == FeedType::Csv && ::stat(feeds[i]->path.c_str(), &st) == 0) sizes[i] = st.st_size;
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  parallel_for_each(order, [&](size_t i) {
    std::optional<size_t> last = i < last_accepted_records.size() ? last_accepted_records[i] : std::nullopt;
    loads[i] = load_feed(*feeds[i], last);
  });
  return loads;
}

std::vector<FeedLoad> load_feeds(const std::vector<FeedConfig>& feeds) {
  std::vector<const FeedConfig*> pointers;
  for (const FeedConfig& feed : feeds) pointers.push_back(&feed);
  return load_feeds(pointers);
}

}  // namespace casewatch
