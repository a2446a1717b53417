// The daemon's feed set and service (issue 14), on files in a temporary folder, in-memory state
// and a manual clock: refreshes and their health, an unchanged re-read, a state that cannot be
// written showing in what the service publishes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "service/service.h"
#include "integrations/feed_set.h"
#include "notify/state.h"

namespace casewatch {
namespace {

constexpr int64_t kStart = 1497427200;  // Wednesday 14 June 2017, 09:00 BST

class ServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("casewatch_service_test_" + std::to_string(::getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/rules");
    write("casewatch.toml", R"t(rule_files = ["rules/*.toml"]
[[feed]]
name = "assessments"
path = "data.csv"
key = "id"
max_age = "26h"
max_rejected_ratio = 0.5
[feed.fields]
id = { column = "ID" }
referral = { column = "Referral", type = "date" }
)t");
    write("rules/a.toml", R"t([[rule]]
name = "timescale"
kind = "deadline"
feed = "assessments"
start = "referral"
due_in = "10 working days"
)t");
    write("data.csv", "ID,Referral\nA1,2017-05-01\nA2,bad\n");
    Diagnostics d;
    auto loaded = load_config(dir_ + "/casewatch.toml", d);
    ASSERT_TRUE(loaded);
    config_ = std::make_shared<const Config>(std::move(*loaded));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }
  void touch(const std::string& name, int64_t seconds) {
    std::filesystem::last_write_time(dir_ + "/" + name,
                                     std::filesystem::file_time_type::clock::now() -
                                         std::chrono::seconds(::time(nullptr) - seconds));
  }

  std::string dir_;
  std::shared_ptr<const Config> config_;
};

TEST_F(ServiceTest, FeedSetRefreshesCountsOnceAndAgesFromTheSource) {
  FeedSet feeds(config_, std::make_shared<LoadPool>(2));
  touch("data.csv", kStart - 3600);
  auto first = feeds.refresh(kStart);
  EXPECT_TRUE(first.snapshots);
  EXPECT_TRUE(first.loaded);
  EXPECT_FALSE(feeds.refresh(kStart + 10).loaded);  // neither changed nor due
  auto status = feeds.status(kStart)[0];
  EXPECT_TRUE(status.up);
  EXPECT_EQ(status.records, 1u);
  EXPECT_EQ(status.rejected_total, 1u);
  EXPECT_EQ(status.source_time, kStart - 3600);
  const Table* table = feeds.snapshot(0);
  // The refresh interval passes; the same bytes again: the same snapshot, counted once.
  auto again = feeds.refresh(kStart + 301);
  EXPECT_FALSE(again.snapshots);
  EXPECT_TRUE(again.loaded);  // read, and dropped: the daemon gives the memory back
  EXPECT_EQ(feeds.snapshot(0), table);
  EXPECT_EQ(feeds.status(kStart + 301)[0].rejected_total, 1u);
  EXPECT_EQ(feeds.status(kStart + 301)[0].last_success, kStart);
  // Stale from its modification time, however often it was read.
  EXPECT_TRUE(feeds.status(kStart + 26 * 3600)[0].stale);
  EXPECT_FALSE(feeds.status(kStart + 26 * 3600)[0].up);
  // Gone: down at the next refresh, the snapshot kept.
  std::filesystem::remove(dir_ + "/data.csv");
  auto gone = feeds.refresh(kStart + 400);
  EXPECT_TRUE(gone.status);
  EXPECT_FALSE(gone.snapshots);
  EXPECT_FALSE(feeds.status(kStart + 400)[0].up);
  EXPECT_EQ(feeds.snapshot(0), table);
}

TEST_F(ServiceTest, AStateThatCannotBeWrittenShowsInTheSnapshotAndMetrics) {
  auto alerts = std::make_unique<MemoryAlertStore>();
  MemoryAlertStore* store = alerts.get();
  ManualClock clock(kStart);
  auto metrics = std::make_shared<Metrics>();
  Service service(config_, clock, std::move(alerts), std::make_unique<MemoryOutbox>(), metrics);
  ASSERT_TRUE(service.restore().ok());
  service.evaluate(Service::FeedLoads::Wait);
  auto snapshot = service.snapshot();
  ASSERT_EQ(snapshot->alerts->size(), 1u);
  EXPECT_TRUE(snapshot->state_error.empty());
  EXPECT_EQ(snapshot->rules[0].health, RuleHealth::Ok);

  store->fail_saves(true);
  write("data.csv", "ID,Referral\nA1,2017-05-01\nA3,2017-05-02\n");
  clock.advance(60);
  service.evaluate(Service::FeedLoads::Reload);
  snapshot = service.snapshot();
  EXPECT_NE(snapshot->state_error.find("could not save 1 alert changes: disk I/O error"), std::string::npos)
      << snapshot->state_error;
  // Two writes failed: the alert changes and the feed's new record count.
  EXPECT_NE(metrics->render().find("casewatch_state_write_failures_total 2"), std::string::npos);

  store->fail_saves(false);
  clock.advance(60);
  write("data.csv", "ID,Referral\nA1,2017-05-01\n");
  service.evaluate(Service::FeedLoads::Reload);
  EXPECT_TRUE(service.snapshot()->state_error.empty());
}

}  // namespace
}  // namespace casewatch
