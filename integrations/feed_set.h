// The daemon's feeds: the snapshot in force for each, refreshed when its file changes or its
// refresh interval passes, with the load-safety rules of SPEC 4 (a bad load keeps the previous
// snapshot and marks the feed down). Each load runs on a LoadPool worker within its
// load_timeout; poll() never waits for one, so a stalled source holds up nothing else. Not
// thread-safe: owned by the evaluation loop; readers get copies through status().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "integrations/feed_loader.h"
#include "integrations/load_control.h"
#include "integrations/load_pool.h"

namespace casewatch {

struct FeedStatus {
  std::string name;
  std::string type;
  bool up = false;            // the last load was accepted and the snapshot is not stale
  bool stale = false;         // the snapshot's source is older than max_age
  size_t records = 0;         // of the snapshot in force
  size_t rejected_last = 0;   // rows rejected by the last distinct load
  uint64_t rejected_total = 0;  // rows rejected, counted once per distinct content
  int64_t last_success = 0;   // when new data was last accepted, seconds since the epoch; 0: never
  int64_t source_time = 0;    // when the snapshot's source last changed (a file's mtime); 0: unknown
  int64_t last_attempt = 0;   // when the last load started
  int64_t loading_since = 0;  // when the load under way started; 0: none is
  double last_load_seconds = 0;  // how long the last load that ended took
  std::string last_error;
};

class FeedSet {
 public:
  // `pool` runs the loads. `on_loaded` is called on the worker when a load ends (the owner then
  // polls, on its own thread); it must not block.
  FeedSet(std::shared_ptr<const Config> config, std::shared_ptr<LoadPool> pool, std::function<void()> on_loaded = {});
  FeedSet(const FeedSet&) = delete;
  FeedSet& operator=(const FeedSet&) = delete;
  // Stops its loads under way (their results are dropped).
  ~FeedSet();

  struct Refreshed {
    bool snapshots = false;  // a snapshot changed: evaluate
    bool status = false;     // a feed went up or down: publish at once
    bool loaded = false;     // a feed was read (even if to the same snapshot)
    bool started = false;    // a load started: its feed shows loading_since (publish, no need to evaluate)
    std::vector<std::pair<std::string, double>> load_seconds;  // each load that ended: feed, seconds
  };
  // Never waits. Takes in the loads that ended; marks a load past its load_timeout down (and
  // stops it); starts a load of each feed that is not loading whose source changed (size,
  // modification time, or whether it can be read) or whose refresh interval has passed (every
  // one when `force`).
  Refreshed poll(int64_t now, bool force = false);
  // poll(), then waits until every load under way has ended (each within its load_timeout) and
  // takes them in: for rounds that must see what their loads read (the manual test clock).
  Refreshed refresh(int64_t now, bool force = false);
  // Every feed's first load has ended or passed its deadline: the first evaluation may run.
  bool settled() const;
  // The feeds whose first load is still under way.
  std::vector<std::string> first_loads_under_way() const;
  // Asks every load under way to stop, `reason` its error.
  void cancel(const std::string& reason);
  // Takes over from `old` (after a reload) the snapshots, status and loads under way of feeds
  // whose definition is unchanged.
  void adopt(FeedSet& old);

  // The record count of each feed's last accepted load, kept in the state so that the shrink
  // check of the first load after a restart has something to compare with (a cut extract found
  // at start must not resolve alerts in bulk). `definition` tells a count of another feed of the
  // same name (changed since) from this one's.
  struct AcceptedCount {
    std::string feed;
    std::string definition;
    size_t records = 0;
  };
  // Before the first poll: the counts the state held.
  void remember(const std::vector<AcceptedCount>& counts);
  // The counts the state does not hold yet; each one saved is told back, so a failed save is tried again.
  std::vector<AcceptedCount> unsaved_counts() const;
  void count_saved(const AcceptedCount& count);

  const Table* snapshot(size_t feed) const { return feeds_[feed].table.get(); }
  std::vector<const Table*> snapshots() const;
  std::vector<FeedStatus> status(int64_t now) const;

 private:
  // A load under way: written by its worker, read by the loop once `done`.
  struct Loading {
    explicit Loading(const FeedConfig& feed) : control(load_control_for(feed)) {}
    LoadControl control;
    std::atomic<bool> done{false};
    FeedLoad result;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    bool overdue = false;  // the loop has marked the feed down for it
  };
  struct Feed {
    const FeedConfig* config;
    std::shared_ptr<const Table> table;
    FeedStatus status;
    // What the source looked like when last read; a difference means it changed.
    struct Signature {
      int64_t size = -1;  // -2: missing
      int64_t mtime_ns = -1, ctime_ns = -1;
      bool readable = false;
      bool operator==(const Signature&) const = default;
    } signature;
    uint64_t snapshot_hash = 0;  // content hash of the load in force
    uint64_t counted_hash = 0;   // content hash of the last load whose rejected rows were counted
    bool counted = false;
    bool first_load_ended = false;
    bool future_time_logged = false;
    std::shared_ptr<Loading> loading;
    std::string definition;  // for adopt(): a fingerprint of the feed's config
    std::string load_options;  // for adopt(): how it is read (limits, credentials); a change restarts a load under way
    std::optional<size_t> remembered_records;  // from the state, until this process accepts a load
    std::optional<size_t> saved_records;       // what the state holds
  };
  static Feed::Signature signature_of(const FeedConfig& feed);
  void start(Feed& feed);
  void accept(Feed& feed, FeedLoad load, int64_t now);

  std::shared_ptr<const Config> config_;
  std::shared_ptr<LoadPool> pool_;
  std::function<void()> on_loaded_;
  std::vector<Feed> feeds_;
};

}  // namespace casewatch
