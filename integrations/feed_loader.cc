#include "integrations/feed_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <numeric>
#include <random>

#include "config/toml_util.h"
#include "integrations/feed_source.h"
#include "integrations/utf8.h"
#include "rules/parallel.h"

namespace casewatch {
namespace {
// CSV is parsed a piece at a time at least this big (a file's reads, a database's rows).
constexpr size_t kParsePiece = 1 << 20;
}  // namespace

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

namespace {
constexpr uint64_t kHashOdd = 0x9e3779b97f4a7c15ull;
uint64_t hash_word(const char* at) {
  uint64_t w;
  std::memcpy(&w, at, 8);
  return w;
}
}  // namespace

// The lanes start from a key drawn once per process: whoever writes a cell of an extract cannot
// compute, offline, bytes that make a changed extract hash as the one in force (which would keep
// the old snapshot, "unchanged"). Not a cryptographic hash (SHA-256 would cost a cold eval of the
// England profile a third more), but a keyed one; the value is never stored or shown.
namespace {
struct HashKey {
  uint64_t lanes[4];
  HashKey() {
    std::random_device random;
    for (uint64_t& lane : lanes) lane = (static_cast<uint64_t>(random()) << 32 | random()) | 1;
  }
};
const HashKey& hash_key() {
  static const HashKey key;
  return key;
}
}  // namespace

ContentHash::ContentHash()
    : a_(hash_key().lanes[0]), b_(hash_key().lanes[1]), c_(hash_key().lanes[2]), d_(hash_key().lanes[3]) {}

void ContentHash::add(std::string_view bytes) {
  // Four independent lanes of StringInterner::hash's mix: one chain of multiplies over a whole
  // extract ran at little more than a byte per cycle, a tenth of a cold eval's time. The bytes
  // alone decide the value, not how they arrived: a block split between two calls waits in
  // pending_ (an API's pages come in pieces of whatever size the network gives).
  const auto mix = &StringInterner::mix;
  total_ += bytes.size();
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  if (pending_size_ > 0) {
    const size_t take = std::min<size_t>(kBlock - pending_size_, static_cast<size_t>(end - p));
    std::memcpy(pending_ + pending_size_, p, take);
    pending_size_ += take;
    p += take;
    if (pending_size_ < kBlock) return;
    block(pending_);
    pending_size_ = 0;
  }
  // Named lanes rather than an array, which the compiler vectorised into slower 32-bit multiplies.
  uint64_t a = a_, b = b_, c = c_, d = d_;
  for (; end - p >= static_cast<std::ptrdiff_t>(kBlock); p += kBlock) {
    a = mix(a, hash_word(p));
    b = mix(b, hash_word(p + 8));
    c = mix(c, hash_word(p + 16));
    d = mix(d, hash_word(p + 24));
  }
  a_ = a, b_ = b, c_ = c, d_ = d;
  pending_size_ = static_cast<size_t>(end - p);
  std::memcpy(pending_, p, pending_size_);
}

void ContentHash::block(const char* at) {
  const auto mix = &StringInterner::mix;
  a_ = mix(a_, hash_word(at));
  b_ = mix(b_, hash_word(at + 8));
  c_ = mix(c_, hash_word(at + 16));
  d_ = mix(d_, hash_word(at + 24));
}

uint64_t ContentHash::value() const {
  const auto mix = &StringInterner::mix;
  uint64_t h = StringInterner::hash(std::string_view(pending_, pending_size_));
  for (uint64_t lane : {a_, b_, c_, d_}) h = mix(h, lane);
  return mix(h * kHashOdd, total_);
}

FeedRows::FeedRows(const FeedConfig& feed, FeedLoad& load)
    : feed_(feed),
      load_(load),
      builder_(feed.schema, DateParser(feed.date_format), feed.valid_dates),
      position_(feed.fields.size(), SIZE_MAX),
      cells_(feed.fields.size()),
      repaired_(feed.fields.size()) {
  if (!feed.stored_fields.empty()) builder_.store_only(feed.stored_fields);
  // A column not kept (eval keeps only what its rules read) needs no repair: only its type is checked.
  for (size_t f = 0; f < feed.fields.size(); ++f)
    if (feed.fields[f].type == Type::String && (feed.stored_fields.empty() || feed.stored_fields[f] || f == feed.schema->key))
      text_fields_.push_back(f);
}

bool FeedRows::map_columns(std::span<const std::string_view> names, bool may_be_data) {
  columns_ = names.size();
  std::vector<std::string> missing;
  size_t found = 0;
  for (size_t f = 0; f < feed_.fields.size(); ++f) {
    position_[f] = SIZE_MAX;
    for (size_t c = 0; c < names.size(); ++c) {
      if (!same_heading(names[c], feed_.fields[f].column)) continue;
      if (position_[f] != SIZE_MAX) {
        // "Cases" and " cases": whichever were taken, the other's values would be lost unseen.
        load_.error = "column \"" + feed_.fields[f].column + "\" matches two headings (columns " +
                      std::to_string(position_[f] + 1) + " and " + std::to_string(c + 1) + "): which one is meant is unclear";
        return false;
      }
      position_[f] = c;
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

bool FeedRows::count_row() {
  ++load_.rows_read;
  if (load_.rows_read <= static_cast<size_t>(feed_.max_records)) return true;
  if (!over_limit_) {
    over_limit_ = true;
    load_.error = "more than max_records (" + std::to_string(feed_.max_records) + ") records";
  }
  return false;
}

void FeedRows::remember_rejected_key(std::string_view key) {
  // A key the builder would refuse (empty, a control character) cannot name a record.
  key = trim(key);
  if (key.empty() || std::any_of(key.begin(), key.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return;
  if (!is_valid_utf8(key)) builder_.add_rejected_key(valid_utf8(key));
  else builder_.add_rejected_key(key);
}

void FeedRows::add_fields(size_t number, std::span<const std::string_view> cells) {
  if (!count_row()) return;
  for (size_t f : text_fields_) {
    if (is_valid_utf8(cells[f])) continue;
    if (repaired_cells_.empty() || cells.data() != repaired_cells_.data()) {
      repaired_cells_.assign(cells.begin(), cells.end());
      cells = repaired_cells_;
    }
    repaired_[f] = valid_utf8(cells[f]);
    repaired_cells_[f] = repaired_[f];
  }
  if (auto problem = builder_.add_row(cells)) {
    const FieldConfig& field = feed_.fields[problem->field];
    ++load_.rejected;
    if (load_.rejected_rows.size() < kMaxRejectedReported)
      load_.rejected_rows.push_back({number, field.name, field.column, problem->message});
    if (problem->field != feed_.schema->key) remember_rejected_key(cells[feed_.schema->key]);
  } else {
    accepted_numbers_.push_back(number);
  }
}

void FeedRows::reject(size_t number, const std::string& field, std::string reason, std::string_view key) {
  if (!count_row()) return;
  ++load_.rejected;
  std::string column;
  for (const FieldConfig& f : feed_.fields)
    if (f.name == field) column = f.column;
  if (load_.rejected_rows.size() < kMaxRejectedReported)
    load_.rejected_rows.push_back({number, field, column, std::move(reason)});
  if (field != feed_.fields[feed_.schema->key].name) remember_rejected_key(key);
}

std::string_view FeedRows::key_cell(std::span<const std::string_view> cells) const {
  const size_t at = position_[feed_.schema->key];
  return at < cells.size() ? cells[at] : std::string_view();
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
  ++records_;
  const size_t number = by_line_ ? record.line : records_;
  last_number_ = number;
  last_short_ = record.fields.size() < rows_.columns() || !record.error.empty();
  last_terminated_ = record.terminated;
  if (!record.error.empty()) {
    // Its cells after the fault are not to be trusted, but its key, read before it, still names it.
    rows_.reject(number, "", record.error, rows_.key_cell(record.fields));
    return !rows_.over_limit();
  }
  // A row with fewer cells than the header is malformed: its missing cells are not nulls.
  if (record.fields.size() < rows_.columns()) {
    rows_.reject(number, "", "the row has " + std::to_string(record.fields.size()) + " of the header's " +
                                 std::to_string(rows_.columns()) + " columns", rows_.key_cell(record.fields));
    return !rows_.over_limit();
  }
  // More cells than headings: an unquoted comma ("1,200") has shifted every cell after it. Empty
  // extra cells are only trailing separators.
  if (record.fields.size() > rows_.columns() &&
      std::any_of(record.fields.begin() + static_cast<std::ptrdiff_t>(rows_.columns()), record.fields.end(),
                  [](std::string_view cell) { return !trim(cell).empty(); })) {
    rows_.reject(number, "", "the row has " + std::to_string(record.fields.size()) + " cells, more than the header's " +
                                 std::to_string(rows_.columns()) + " columns", rows_.key_cell(record.fields));
    return !rows_.over_limit();
  }
  rows_.add(number, record.fields);
  return !rows_.over_limit();
}

bool CsvStream::parse(bool last, std::optional<size_t> limit, const FeedRows& rows) {
  // A record longer than the limit is found as soon as the buffer is: parsed at every piece then.
  if (!last && buffer_.size() < parse_at_ && buffer_.size() <= kMaxCsvRecordBytes) return true;
  csv::Reader reader(buffer_, line_, last);
  csv::Record record;
  while (reader.next(record)) {
    if (!rows_.add(record)) return false;
    if (limit && rows.rows() >= *limit) return false;  // a probe: enough rows seen
  }
  line_ = reader.line();
  consumed_ += reader.consumed();
  buffer_.erase(0, reader.consumed());
  if (!last && buffer_.size() > kMaxCsvRecordBytes) {
    load_.error = "line " + std::to_string(line_) + ": a row longer than " + std::to_string(kMaxCsvRecordBytes >> 20) +
                  " MiB (no line end where one was expected): not a CSV extract";
    return false;
  }
  // What is left is the start of one record: read it again only once as much again has come.
  parse_at_ = std::max<size_t>(kParsePiece, 2 * buffer_.size());
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

LoadControl load_control_for(const FeedConfig& feed) {
  return LoadControl(LoadControl::Clock::now() + std::chrono::seconds(feed.load_timeout_seconds),
                     "the load did not finish within load_timeout (" + format_interval(feed.load_timeout_seconds) + ")");
}

FeedLoad load_feed(const FeedConfig& feed, std::optional<size_t> last_accepted_records, const LoadControl& control,
                   std::optional<size_t> limit) {
  return load_from(*make_feed_source(feed), feed, last_accepted_records, control, limit);
}

FeedLoad load_from(FeedSource& source, const FeedConfig& feed, std::optional<size_t> last_accepted_records,
                   const LoadControl& control, std::optional<size_t> limit) {
  FeedLoad load;
  FeedRows rows(feed, load);
  Redactor redact;
  source.read(rows, load, ReadOptions{limit, control, redact});
  load.error = redact(load.error);
  // A load the control stopped fails with the control's reason in one wording, whichever step of
  // the source it stopped at (the daemon shows the same words the moment the deadline passes).
  if (control.stopped() && !load.error.empty()) load.error = feed_source_name(feed) + ": " + control.reason();
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
    loads[i] = load_feed(*feeds[i], last, load_control_for(*feeds[i]));
  });
  return loads;
}

std::vector<FeedLoad> load_feeds(const std::vector<FeedConfig>& feeds) {
  std::vector<const FeedConfig*> pointers;
  for (const FeedConfig& feed : feeds) pointers.push_back(&feed);
  return load_feeds(pointers);
}

}  // namespace casewatch
