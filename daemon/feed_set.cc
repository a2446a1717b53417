#include "daemon/feed_set.h"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

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
                    f.key + '\n' + f.date_format + '\n';
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

bool FeedSet::changed_on_disk(Feed& feed) const {
  if (feed.config->type != FeedType::Csv) return false;
  struct stat st {};
  if (::stat(feed.config->path.c_str(), &st) != 0) return feed.size != -2;  // appeared or vanished
  int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return st.st_size != feed.size || mtime != feed.mtime_ns;
}

void FeedSet::record_stat(Feed& feed) const {
  struct stat st {};
  if (feed.config->type != FeedType::Csv) return;
  if (::stat(feed.config->path.c_str(), &st) == 0) {
    feed.size = st.st_size;
    feed.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  } else {
    feed.size = -2;
  }
}

void FeedSet::accept(Feed& feed, FeedLoad load, int64_t now) {
  feed.status.last_attempt = now;
  feed.status.rejected_last = load.rejected;
  feed.status.rejected_total += load.rejected;
  for (const RejectedRow& row : load.rejected_rows) spdlog::warn("feed {}: {}", feed.config->name, row.format(feed.config->path));
  if (load.accepted) {
    feed.table = load.table;
    feed.status.up = true;
    feed.status.records = load.table->rows();
    feed.status.last_success = now;
    feed.status.last_error.clear();
    spdlog::info("feed {}: loaded {} records, {} rows rejected", feed.config->name, feed.status.records, load.rejected);
  } else {
    // The previous snapshot stays in force: a half-written extract must not resolve alerts.
    feed.status.up = false;
    feed.status.last_error = load.error;
    spdlog::error("feed {}: load refused, keeping the previous snapshot: {}", feed.config->name, load.error);
  }
}

bool FeedSet::refresh(int64_t now, bool force) {
  std::vector<Feed*> due;
  for (Feed& feed : feeds_)
    if (force || feed.status.last_attempt == 0 || now - feed.status.last_attempt >= feed.config->refresh_seconds ||
        changed_on_disk(feed))
      due.push_back(&feed);
  if (due.empty()) return false;
  std::vector<const FeedConfig*> configs;
  std::vector<std::optional<size_t>> last;
  for (Feed* feed : due) {
    record_stat(*feed);  // before reading: a change made while loading is seen next time
    configs.push_back(feed->config);
    last.push_back(feed->table ? std::optional<size_t>(feed->table->rows()) : std::nullopt);
  }
  std::vector<FeedLoad> loads = load_feeds(configs, last);
  bool changed = false;
  for (size_t i = 0; i < due.size(); ++i) {
    const Table* before = due[i]->table.get();
    accept(*due[i], std::move(loads[i]), now);
    changed = changed || due[i]->table.get() != before;
  }
  return changed;
}

void FeedSet::adopt(const FeedSet& old) {
  for (Feed& feed : feeds_)
    for (const Feed& previous : old.feeds_)
      if (previous.definition == feed.definition) {
        feed.table = previous.table;
        feed.status = previous.status;
        feed.size = previous.size;
        feed.mtime_ns = previous.mtime_ns;
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
    s.stale = feed.config->max_age_seconds && s.last_success > 0 && now - s.last_success > *feed.config->max_age_seconds;
    if (s.stale) s.up = false;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace casewatch
