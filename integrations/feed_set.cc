#include "integrations/feed_set.h"

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "integrations/log.h"
#include "integrations/utf8.h"

namespace casewatch {
namespace {

// A source time further ahead than this (clocks that disagree a little) counts as unknown.
constexpr int64_t kFutureSourceTolerance = 300;
// No extract was written before 2000-01-01: an earlier time (0, a negative one) is a clock or a
// copy that lost it.
constexpr int64_t kEarliestSourceTime = 946684800;

std::string feed_type_name(FeedType type) {
  switch (type) {
    case FeedType::Csv: return "csv";
    case FeedType::JsonHttp: return "json_http";
    case FeedType::Postgres: return "postgres";
  }
  return "?";
}

// Everything that decides what a source's bytes mean: a change makes the snapshot read under the
// old definition another feed's, even when the source's bytes are the same.
std::string definition_of(const FeedConfig& f) {
  std::string out = f.name + '\n' + feed_type_name(f.type) + '\n' + f.path + '\n' + f.url + '\n' + f.records + '\n' +
                    f.query + '\n' + f.timezone + '\n' + f.key + '\n' + f.date_format + '\n' +
                    std::to_string(f.valid_dates.from) + ':' + std::to_string(f.valid_dates.until) + '\n';
  for (const auto& field : f.fields) out += field.name + '=' + field.column + ':' + std::string(type_name(field.type)) + '\n';
  for (bool kept : f.stored_fields) out += kept ? '1' : '0';
  return out;
}

std::string load_options_of(const FeedConfig& f) {
  std::string out = std::to_string(f.load_timeout_seconds) + ' ' + std::to_string(f.timeout_seconds) + ' ' +
                    std::to_string(f.max_records) + ' ' + std::to_string(f.max_response_bytes) + ' ' +
                    std::to_string(f.max_pages) + '\n' + f.bearer_token_file + '\n' + f.ca_file + '\n' + f.dsn_file + '\n';
  for (const auto& [name, value] : f.headers) out += name + ':' + value + '\n';
  for (const auto& [name, file] : f.header_files) out += name + "<" + file + '\n';
  for (const std::string& origin : f.allowed_origins) out += origin + '\n';
  return out;
}

}  // namespace

FeedSet::FeedSet(std::shared_ptr<const Config> config, std::shared_ptr<LoadPool> pool, std::function<void()> on_loaded)
    : config_(std::move(config)), pool_(std::move(pool)), on_loaded_(std::move(on_loaded)) {
  for (const FeedConfig& feed : config_->feeds) {
    Feed f;
    f.config = &feed;
    f.status.name = feed.name;
    f.status.type = feed_type_name(feed.type);
    f.definition = definition_of(feed);
    f.load_options = load_options_of(feed);
    feeds_.push_back(std::move(f));
  }
}

FeedSet::~FeedSet() { cancel("the feed's configuration was replaced"); }

FeedSet::Feed::Signature FeedSet::signature_of(const FeedConfig& feed) {
  Feed::Signature signature;
  if (feed.type != FeedType::Csv) return signature;
  struct stat st {};
  if (::stat(feed.path.c_str(), &st) != 0) {
    signature.size = -2;
    return signature;
  }
  signature.size = st.st_size;
  signature.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  // chmod changes only ctime; readability is asked of the system, as the daemon's user.
  signature.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  signature.readable = ::access(feed.path.c_str(), R_OK) == 0;
  return signature;
}

void FeedSet::accept(Feed& feed, FeedLoad load, int64_t now) {
  const std::string& name = feed.config->name;
  LogContext context{{"feed", name}};
  // A header's cells may be any bytes: the message goes to logs, JSON and alerts.
  load.error = valid_utf8(load.error);
  // A source that says it changed in the future (a clock set wrong, a server's bad header) says
  // nothing about its age: the feed ages from its last new data instead.
  const bool ahead = load.source_time > now + kFutureSourceTolerance;
  if (ahead || (load.source_time != 0 && load.source_time < kEarliestSourceTime)) {
    if (!feed.future_time_logged)
      spdlog::warn("the source's modification time is {}: its age is counted from the last new data instead",
                   ahead ? "in the future (" + std::to_string(load.source_time - now) + " s ahead)" : std::string("before 2000"));
    feed.future_time_logged = true;
    load.source_time = 0;
  }
  // Re-reading the same content is the same load: its rejected rows are counted and logged once.
  if (!feed.counted || load.content_hash != feed.counted_hash) {
    feed.counted = true;
    feed.counted_hash = load.content_hash;
    feed.status.rejected_last = load.rejected;
    feed.status.rejected_total += load.rejected;
    for (const RejectedRow& row : load.rejected_rows) spdlog::warn("{}", row.format(feed_source_name(*feed.config)));
  }
  const bool was_up = feed.status.up;
  if (load.accepted) {
    if (feed.table && load.content_hash == feed.snapshot_hash) {
      // The same bytes again: the snapshot in force stays (and with it every cache made from it),
      // and the data is no newer than it was.
      spdlog::debug("unchanged");
    } else {
      feed.table = load.table;
      feed.snapshot_hash = load.content_hash;
      feed.status.records = load.table->rows();
      feed.status.last_success = now;
      spdlog::info("loaded {} records, {} rows rejected", feed.status.records, load.rejected);
    }
    feed.status.source_time = load.source_time;
    feed.status.up = true;
    feed.status.last_error.clear();
  } else {
    // The previous snapshot stays in force: a half-written extract must not resolve alerts.
    feed.status.up = false;
    if (was_up || feed.status.last_error != load.error)
      spdlog::error("load refused, keeping the previous snapshot: {}", load.error);
    feed.status.last_error = load.error;
  }
}

void FeedSet::start(Feed& feed) {
  auto loading = std::make_shared<Loading>(*feed.config);
  feed.loading = loading;
  std::optional<size_t> last = feed.table ? std::optional<size_t>(feed.table->rows()) : feed.remembered_records;
  // The job holds the config (so the feed's definition outlives a reload) and its own Loading.
  pool_->submit([config = config_, feed_config = feed.config, loading, last, on_loaded = on_loaded_] {
    try {
      loading->result = load_feed(*feed_config, last, loading->control);
    } catch (const std::exception& e) {  // bad_alloc, a library's exception: this load fails alone
      loading->result = FeedLoad();
      loading->result.error = feed_source_name(*feed_config) + ": the load failed: " + e.what();
    }
    loading->done.store(true, std::memory_order_release);
    if (on_loaded) on_loaded();
  });
}

FeedSet::Refreshed FeedSet::poll(int64_t now, bool force) {
  Refreshed result;
  for (Feed& feed : feeds_) {
    if (!feed.loading) continue;
    Loading& loading = *feed.loading;
    if (loading.done.load(std::memory_order_acquire)) {
      const Table* before = feed.table.get();
      const bool was_up = feed.status.up;
      const std::string error = feed.status.last_error;
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - loading.started).count();
      accept(feed, std::move(loading.result), now);
      feed.status.loading_since = 0;
      feed.status.last_load_seconds = seconds;
      feed.first_load_ended = true;
      feed.loading.reset();
      result.loaded = true;
      result.load_seconds.emplace_back(feed.config->name, seconds);
      result.snapshots = result.snapshots || feed.table.get() != before;
      result.status = result.status || feed.status.up != was_up || feed.status.last_error != error;
    } else if (!loading.overdue && loading.control.expired()) {
      // Shown at once, whatever the source is doing: the worker's own result follows when the
      // source lets it go.
      loading.overdue = true;
      feed.first_load_ended = true;
      LogContext context{{"feed", feed.config->name}};
      const std::string error = feed_source_name(*feed.config) + ": " + loading.control.reason();
      if (feed.status.up || feed.status.last_error != error)
        spdlog::error("load stopped, keeping the previous snapshot: {}", error);
      result.status = result.status || feed.status.up || feed.status.last_error != error;
      feed.status.up = false;
      feed.status.last_error = error;
    }
  }
  for (Feed& feed : feeds_) {
    if (feed.loading) continue;
    Feed::Signature signature = signature_of(*feed.config);
    if (force || feed.status.last_attempt == 0 || now - feed.status.last_attempt >= feed.config->refresh_seconds ||
        !(signature == feed.signature)) {
      feed.signature = signature;  // taken before reading: a change made while loading is seen next time
      feed.status.last_attempt = now;
      feed.status.loading_since = now;
      result.started = true;
      start(feed);
    }
  }
  return result;
}

FeedSet::Refreshed FeedSet::refresh(int64_t now, bool force) {
  Refreshed result = poll(now, force);
  for (;;) {
    bool waiting = false;
    for (const Feed& feed : feeds_)
      waiting = waiting || (feed.loading && !feed.loading->done.load(std::memory_order_acquire) && !feed.loading->overdue &&
                            !feed.loading->control.expired());
    if (!waiting) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Takes in what ended; starts nothing new unless a source changed while it was read.
  Refreshed ended = poll(now);
  result.snapshots = result.snapshots || ended.snapshots;
  result.status = result.status || ended.status;
  result.loaded = result.loaded || ended.loaded;
  result.started = result.started || ended.started;
  result.load_seconds.insert(result.load_seconds.end(), ended.load_seconds.begin(), ended.load_seconds.end());
  return result;
}

bool FeedSet::settled() const {
  return std::all_of(feeds_.begin(), feeds_.end(), [](const Feed& f) { return f.first_load_ended; });
}

static std::string definition_hash(const std::string& definition) {
  return std::to_string(StringInterner::hash(definition));
}

void FeedSet::remember(const std::vector<AcceptedCount>& counts) {
  for (Feed& feed : feeds_)
    for (const AcceptedCount& count : counts)
      if (count.feed == feed.config->name && count.definition == definition_hash(feed.definition)) {
        feed.remembered_records = feed.saved_records = count.records;
      }
}

std::vector<FeedSet::AcceptedCount> FeedSet::unsaved_counts() const {
  std::vector<AcceptedCount> out;
  for (const Feed& feed : feeds_)
    if (feed.table && feed.saved_records != feed.table->rows())
      out.push_back({feed.config->name, definition_hash(feed.definition), feed.table->rows()});
  return out;
}

void FeedSet::count_saved(const AcceptedCount& count) {
  for (Feed& feed : feeds_)
    if (feed.config->name == count.feed) feed.saved_records = count.records;
}

std::vector<std::string> FeedSet::first_loads_under_way() const {
  std::vector<std::string> out;
  for (const Feed& f : feeds_)
    if (!f.first_load_ended) out.push_back(f.config->name);
  return out;
}

void FeedSet::cancel(const std::string& reason) {
  for (Feed& feed : feeds_)
    if (feed.loading) feed.loading->control.cancel(reason);
}

void FeedSet::adopt(FeedSet& old) {
  for (Feed& feed : feeds_)
    for (Feed& previous : old.feeds_)
      if (previous.definition == feed.definition) {
        feed.table = previous.table;
        feed.status = previous.status;
        feed.signature = previous.signature;
        feed.snapshot_hash = previous.snapshot_hash;
        feed.counted_hash = previous.counted_hash;
        feed.counted = previous.counted;
        feed.first_load_ended = previous.first_load_ended;
        feed.future_time_logged = previous.future_time_logged;
        if (previous.loading && previous.load_options != feed.load_options) {
          // Read with the old limits or credentials: stopped, and a load with the new ones starts at once.
          previous.loading->control.cancel("the feed's configuration changed while it was read");
          feed.status.loading_since = 0;
          feed.status.last_attempt = 0;
        } else {
          feed.loading = std::move(previous.loading);  // its result is this feed's
        }
        feed.remembered_records = previous.remembered_records;
        feed.saved_records = previous.saved_records;
      }
}

std::vector<const Table*> FeedSet::snapshots() const {
  std::vector<const Table*> out;
  for (const Feed& feed : feeds_) out.push_back(feed.table.get());
  return out;
}

std::vector<FeedStatus> FeedSet::status(int64_t now) const {
  std::vector<FeedStatus> out;
  for (const Feed& feed : feeds_) {
    FeedStatus s = feed.status;
    // A feed's age runs from when its source last changed, not from when it was last read.
    const int64_t since = s.source_time > 0 ? s.source_time : s.last_success;
    s.stale = feed.config->max_age_seconds && since > 0 && now - since > *feed.config->max_age_seconds;
    if (s.stale) s.up = false;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace casewatch
