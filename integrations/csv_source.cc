// The csv source: an extract file, read a megabyte at a time (never whole beside its table),
// its modification time the feed's age.
#include "integrations/feed_source.h"
#include "integrations/file_bytes.h"

#include <algorithm>

namespace casewatch {
namespace {

constexpr size_t kReadChunk = 1 << 20;

class CsvSource final : public FeedSource {
 public:
  explicit CsvSource(const FeedConfig& feed) : feed_(feed) {}

  void read(FeedRows& rows, FeedLoad& load, const ReadOptions& options) override {
    FileReader file;
    if (!file.open(feed_.path, load.error)) return;
    load.source_time = file.modified();
    CsvRows csv_rows(rows, load, true);
    CsvStream stream(csv_rows, load);
    ContentHash hash;
    bool reserved = false;
    for (bool last = false; !last;) {
      if (options.control.stopped()) {
        load.error = options.control.reason();  // load_from words it as every stopped load is
        return;
      }
      std::string& buffer = stream.buffer();
      const size_t before = buffer.size();
      long n = file.append(buffer, kReadChunk, load.error);
      if (n < 0) return;
      hash.add(std::string_view(buffer).substr(before));
      last = static_cast<size_t>(n) < kReadChunk;
      if (!stream.parse(last, options.limit, rows)) return;
      // After the first piece, room for the whole file's rows as that piece ran (10% over).
      if (!reserved && !last && rows.rows() > 0) {
        const size_t bytes_per_row = std::max<size_t>(1, stream.consumed() / rows.rows());
        rows.reserve_rows(file.size_hint() / bytes_per_row / 10 * 11 + 1024);
        reserved = true;
      }
    }
    load.content_hash = hash.value();
    csv_rows.truncated();
  }

 private:
  const FeedConfig& feed_;
};

}  // namespace

std::unique_ptr<FeedSource> make_csv_source(const FeedConfig& feed) { return std::make_unique<CsvSource>(feed); }

}  // namespace casewatch
