#include "integrations/feed_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <numeric>
#include <thread>

#include "integrations/csv_reader.h"
#include "integrations/file_bytes.h"

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

FeedLoad load_csv(const FeedConfig& feed, std::string_view bytes, std::string_view source,
                  std::optional<size_t> last_accepted_records) {
  FeedLoad load;
  csv::Reader reader(bytes);
  csv::Record record;
  if (!reader.next(record) || !record.error.empty()) {
    load.error = record.error.empty() ? "no header row" : "header row: " + record.error;
    return load;
  }
  // Map each declared field to the position of its column.
  std::vector<size_t> position(feed.fields.size(), SIZE_MAX);
  std::vector<std::string> missing;
  for (size_t f = 0; f < feed.fields.size(); ++f) {
    for (size_t c = 0; c < record.fields.size(); ++c)
      if (same_heading(record.fields[c], feed.fields[f].column)) { position[f] = c; break; }
    if (position[f] == SIZE_MAX) missing.push_back("\"" + feed.fields[f].column + "\"");
  }
  if (!missing.empty()) {
    std::string found;
    for (size_t c = 0; c < record.fields.size(); ++c)
      found += (c ? ", \"" : "\"") + std::string(trim(record.fields[c])) + "\"";
    std::string names;
    for (size_t i = 0; i < missing.size(); ++i) names += (i ? ", " : "") + missing[i];
    load.error = std::string(missing.size() == 1 ? "missing column " : "missing columns ") + names +
                 "; the columns found are " + found;
    return load;
  }

  TableBuilder builder(feed.schema, DateParser(feed.date_format));
  std::vector<std::string_view> cells(feed.fields.size());
  auto reject = [&](RejectedRow row) {
    ++load.rejected;
    if (load.rejected_rows.size() < kMaxRejectedReported) load.rejected_rows.push_back(std::move(row));
  };
  while (reader.next(record)) {
    ++load.rows_read;
    if (!record.error.empty()) {
      reject({record.line, "", "", record.error});
      continue;
    }
    for (size_t f = 0; f < feed.fields.size(); ++f)
      cells[f] = position[f] < record.fields.size() ? trim(record.fields[position[f]]) : std::string_view();
    if (auto problem = builder.add_row(cells)) {
      const FieldConfig& field = feed.fields[problem->field];
      reject({record.line, field.name, field.column, problem->message});
    }
  }
  size_t accepted_rows = builder.rows();
  apply_safety(feed, last_accepted_records, load, accepted_rows);
  if (load.accepted) load.table = std::make_shared<const Table>(builder.finish());
  return load;
}

FeedLoad load_feed(const FeedConfig& feed, std::optional<size_t> last_accepted_records) {
  if (feed.type != FeedType::Csv) {
    FeedLoad load;
    load.error = "feed type not supported yet by this build (only csv)";
    return load;
  }
  FileBytes file;
  std::string error;
  if (!file.open(feed.path, error)) {
    FeedLoad load;
    load.error = error;
    return load;
  }
  return load_csv(feed, file.bytes(), feed.path, last_accepted_records);
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
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k; (k = next++) < order.size();) {
      size_t i = order[k];
      std::optional<size_t> last = i < last_accepted_records.size() ? last_accepted_records[i] : std::nullopt;
      loads[i] = load_feed(*feeds[i], last);
    }
  };
  size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), feeds.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  return loads;
}

std::vector<FeedLoad> load_feeds(const std::vector<FeedConfig>& feeds) {
  std::vector<const FeedConfig*> pointers;
  for (const FeedConfig& feed : feeds) pointers.push_back(&feed);
  return load_feeds(pointers);
}

}  // namespace casewatch
