#include "integrations/feed_set.h"

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "integrations/log.h"

namespace casewatch {
namespace {

std::string feed_type_name(FeedType type) {
  switch (type) {
    case FeedType::Csv: return "csv";
    case FeedType::JsonHttp: return "json_http";
    case FeedType::Postgres: return "postgres";
  }
  return "?";
}

std::string definition_of(const FeedConfig& f) {
  std::string out = f.name + '\n' + feed_type_name(f.type) + '\n' + f.path + '\n' + f.url + '\n' + f.query + '\n' +
                    f.key + '\n' + f.date_format + '\n' + std::to_string(f.valid_dates.from) + ':' +
                    std::to_string(f.valid_dates.until) + '\n';
  for (const auto& field : f.fields) out += field.name + '=' + field.column + ':' + std::string(type_name(field.type)) + '\n';
  return out;
}

}  // namespace

FeedSet::FeedSet(const Config& config) {
  for (const FeedConfig& feed : config.feeds) {
    Feed f;
    f.config = &feed;
    f.status.name = feed.name;
    f.status.type = feed_type_name(feed.type);
    f.definition = definition_of(feed);
    feeds_.push_back(std::move(f));
  }
}

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
  feed.status.last_attempt = now;
  // Re-reading the same extract is the same load: its rejected rows are counted and logged once.
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

FeedSet::Refreshed FeedSet::refresh(int64_t now, bool force) {
  std::vector<Feed*> due;
  std::vector<Feed::Signature> signatures;
  for (Feed& feed : feeds_) {
    Feed::Signature signature = signature_of(*feed.config);
    if (force || feed.status.last_attempt == 0 || now - feed.status.last_attempt >= feed.config->refresh_seconds ||
        !(signature == feed.signature)) {
      due.push_back(&feed);
      signatures.push_back(signature);
    }
  }
  Refreshed result;
  if (due.empty()) return result;
  result.loaded = true;
  std::vector<const FeedConfig*> configs;
  std::vector<std::optional<size_t>> last;
  for (size_t i = 0; i < due.size(); ++i) {
    due[i]->signature = signatures[i];  // taken before reading: a change made while loading is seen next time
    configs.push_back(due[i]->config);
    last.push_back(due[i]->table ? std::optional<size_t>(due[i]->table->rows()) : std::nullopt);
  }
  std::vector<FeedLoad> loads = load_feeds(configs, last);
  for (size_t i = 0; i < due.size(); ++i) {
    const Table* before = due[i]->table.get();
    const bool was_up = due[i]->status.up;
    const std::string error = due[i]->status.last_error;
    accept(*due[i], std::move(loads[i]), now);
    result.snapshots = result.snapshots || due[i]->table.get() != before;
    result.status = result.status || due[i]->status.up != was_up || due[i]->status.last_error != error;
  }
  return result;
}

void FeedSet::adopt(const FeedSet& old) {
  for (Feed& feed : feeds_)
    for (const Feed& previous : old.feeds_)
      if (previous.definition == feed.definition) {
        feed.table = previous.table;
        feed.status = previous.status;
        feed.signature = previous.signature;
        feed.snapshot_hash = previous.snapshot_hash;
        feed.counted_hash = previous.counted_hash;
        feed.counted = previous.counted;
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
