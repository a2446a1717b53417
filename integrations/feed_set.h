// The daemon's feeds: the snapshot in force for each, refreshed when its file changes or its
// refresh interval passes, with the load-safety rules of SPEC 4 (a bad load keeps the previous
// snapshot and marks the feed down). Not thread-safe: owned by the evaluation loop; readers get
// copies through status().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "integrations/feed_loader.h"

namespace casewatch {

struct FeedStatus {
  std::string name;
  std::string type;
  bool up = false;            // the last load was accepted and the snapshot is not stale
  bool stale = false;         // the snapshot's source is older than max_age
  size_t records = 0;         // of the snapshot in force
  size_t rejected_last = 0;   // rows rejected by the last distinct load
  uint64_t rejected_total = 0;  // rows rejected, counted once per distinct load
  int64_t last_success = 0;   // when new data was last accepted, seconds since the epoch; 0: never
  int64_t source_time = 0;    // when the snapshot's source last changed (a file's mtime); 0: unknown
  int64_t last_attempt = 0;
  std::string last_error;
};

class FeedSet {
 public:
  explicit FeedSet(const Config& config);

  struct Refreshed {
    bool snapshots = false;  // a snapshot changed: evaluate
    bool status = false;     // a feed went up or down: publish at once
    bool loaded = false;     // a feed was read (even if to the same snapshot)
  };
  // Reloads every feed whose source changed (size, modification time, or whether it can be
  // read) or whose refresh interval has passed (all of them when `force`).
  Refreshed refresh(int64_t now, bool force = false);
  // Carries the snapshots of feeds whose definition is unchanged over from `old` (after a reload).
  void adopt(const FeedSet& old);

  const Table* snapshot(size_t feed) const { return feeds_[feed].table.get(); }
  std::vector<const Table*> snapshots() const;
  std::vector<FeedStatus> status(int64_t now) const;

 private:
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
    std::string definition;  // for adopt(): a fingerprint of the feed's config
  };
  static Feed::Signature signature_of(const FeedConfig& feed);
  void accept(Feed& feed, FeedLoad load, int64_t now);

  std::vector<Feed> feeds_;
};

}  // namespace casewatch
