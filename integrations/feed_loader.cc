#include "integrations/feed_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <numeric>

#include "integrations/csv_reader.h"
#include "integrations/file_bytes.h"
#include "rules/parallel.h"

namespace casewatch {

std::string RejectedRow::format(std::string_view source) const {
  std::string out = std::string(source) + ":" + std::to_string(line) + ": row rejected: ";
  if (!field.empty()) out += "field '" + field + "' (column \"" + column + "\"): ";
  return out + reason;
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

}  // namespace

namespace {

// Turns the records of one extract, header first, into a table.
class CsvFeedParser {
 public:
  CsvFeedParser(const FeedConfig& feed, FeedLoad& load)
      : feed_(feed), load_(load), builder_(feed.schema, DateParser(feed.date_format), feed.valid_dates), cells_(feed.fields.size()) {}

  // False once the load has failed (a bad header): nothing more need be read.
  bool add(const csv::Record& record) {
    if (!header_read_) return read_header(record);
    ++load_.rows_read;
    last_line_ = record.line;
    last_short_ = record.fields.size() < header_columns_ || !record.error.empty();
    last_terminated_ = record.terminated;
    if (!record.error.empty()) {
      reject({record.line, "", "", record.error});
      return true;
    }
    // A row with fewer cells than the header is malformed: its missing cells are not nulls.
    if (record.fields.size() < header_columns_) {
      reject({record.line, "", "", "the row has " + std::to_string(record.fields.size()) + " of the header's " +
                                       std::to_string(header_columns_) + " columns"});
      return true;
    }
    for (size_t f = 0; f < feed_.fields.size(); ++f) cells_[f] = trim(record.fields[position_[f]]);
    if (auto problem = builder_.add_row(cells_)) {
      const FieldConfig& field = feed_.fields[problem->field];
      reject({record.line, field.name, field.column, problem->message});
    }
    return true;
  }

  void finish(std::optional<size_t> last_accepted_records) {
    if (!header_read_) {
      if (load_.error.empty()) load_.error = "no header row";
      return;
    }
    // An extract cut off while it was being written: refused whole, so that the records it lost
    // cannot resolve their alerts (SPEC 4: a truncated extract must never resolve alerts).
    if (load_.rows_read > 0 && last_short_ && !last_terminated_) {
      load_.error = "the extract looks truncated: its last row (line " + std::to_string(last_line_) +
                    ") is cut short and has no line end";
      return;
    }
    apply_safety(feed_, last_accepted_records, load_, builder_.rows());
    if (load_.accepted) load_.table = std::make_shared<const Table>(builder_.finish());
  }

 private:
  bool read_header(const csv::Record& record) {
    header_read_ = true;
    header_columns_ = record.fields.size();
    if (!record.error.empty()) {
      load_.error = "header row: " + record.error;
      return false;
    }
    // Map each declared field to the position of its column.
    position_.assign(feed_.fields.size(), SIZE_MAX);
    std::vector<std::string> missing;
    size_t found = 0;
    for (size_t f = 0; f < feed_.fields.size(); ++f) {
      for (size_t c = 0; c < record.fields.size(); ++c)
        if (same_heading(record.fields[c], feed_.fields[f].column)) { position_[f] = c; break; }
      if (position_[f] == SIZE_MAX) missing.push_back("\"" + feed_.fields[f].column + "\"");
      else ++found;
    }
    if (missing.empty()) return true;
    std::string names;
    for (size_t i = 0; i < missing.size(); ++i) names += (i ? ", " : "") + missing[i];
    std::string columns = std::to_string(record.fields.size()) + " column" + (record.fields.size() == 1 ? "" : "s");
    if (found == 0) {
      // Not one heading matched: the first row is most likely data (an extract without its
      // header row), and data about a child must not reach a log or a notification.
      load_.error = "the first row has none of the declared columns (it has " + columns +
                    "): is the header row missing? Expected " + names;
      return false;
    }
    load_.error = std::string(missing.size() == 1 ? "missing column " : "missing columns ") + names +
                  "; the header row has " + columns + ", beginning " + headings_preview(record);
    return false;
  }

  // At most 80 bytes of the headings, and only cells that look like headings (not a number or a
  // date), so that even a header row with a data row's cells in it shows no value.
  std::string headings_preview(const csv::Record& record) const {
    constexpr size_t kLimit = 80;
    DateParser dates(feed_.date_format);
    std::string out;
    for (std::string_view cell : record.fields) {
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

  void reject(RejectedRow row) {
    ++load_.rejected;
    if (load_.rejected_rows.size() < kMaxRejectedReported) load_.rejected_rows.push_back(std::move(row));
  }

  const FeedConfig& feed_;
  FeedLoad& load_;
  TableBuilder builder_;
  bool header_read_ = false;
  size_t header_columns_ = 0;
  std::vector<size_t> position_;
  size_t last_line_ = 0;
  bool last_short_ = false, last_terminated_ = true;
  std::vector<std::string_view> cells_;
};

// Extracts are read a megabyte at a time: the whole file is never in memory beside its table,
// and the buffer stays in cache while it is parsed.
constexpr size_t kReadChunk = 1 << 20;

}  // namespace

FeedLoad load_csv(const FeedConfig& feed, std::string_view bytes, std::string_view /*source*/,
                  std::optional<size_t> last_accepted_records) {
  FeedLoad load;
  load.content_hash = StringInterner::hash(bytes);
  CsvFeedParser parser(feed, load);
  csv::Reader reader(bytes);
  csv::Record record;
  while (reader.next(record))
    if (!parser.add(record)) return load;
  parser.finish(last_accepted_records);
  return load;
}

FeedLoad load_feed(const FeedConfig& feed, std::optional<size_t> last_accepted_records) {
  FeedLoad load;
  if (feed.type != FeedType::Csv) {
    load.error = "feed type not supported yet by this build (only csv)";
    return load;
  }
  FileReader file;
  if (!file.open(feed.path, load.error)) return load;
  load.source_time = file.modified();
  CsvFeedParser parser(feed, load);
  uint64_t hash = 0;
  std::string buffer;  // the records not yet parsed, then the next piece read
  size_t line = 1;
  csv::Record record;
  for (bool last = false; !last;) {
    const size_t before = buffer.size();
    long n = file.append(buffer, kReadChunk, load.error);
    if (n < 0) return load;
    hash = StringInterner::hash(std::string_view(buffer).substr(before)) ^ (hash * 0x9e3779b97f4a7c15ull);
    last = static_cast<size_t>(n) < kReadChunk;
    csv::Reader reader(buffer, line, last);
    while (reader.next(record))
      if (!parser.add(record)) return load;
    line = reader.line();
    buffer.erase(0, reader.consumed());
  }
  load.content_hash = hash;
  parser.finish(last_accepted_records);
  return load;
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
