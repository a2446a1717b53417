// The postgres source against a real PostgreSQL, with what `check` would refuse: the source's own
// defences, not the config's. Run by tests/integration/test_feed_faults.py, which starts the
// server and sets CASEWATCH_TEST_POSTGRES_DSN (a superuser, who could write files on the server)
// and CASEWATCH_TEST_POSTGRES_DIR (a folder the server may write to); skipped without them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "integrations/feed_loader.h"
#include "tests/feed_fixture.h"

namespace casewatch {
namespace {

class PostgresLive : public testing::Test {
 protected:
  void SetUp() override {
    const char* dsn = std::getenv("CASEWATCH_TEST_POSTGRES_DSN");
    const char* dir = std::getenv("CASEWATCH_TEST_POSTGRES_DIR");
    if (!dsn || !dir) GTEST_SKIP() << "no PostgreSQL given (tests/integration/test_feed_faults.py gives one)";
    dir_ = dir;
    dsn_file_ = (std::filesystem::temp_directory_path() / ("casewatch_live_dsn_" + std::to_string(::getpid()))).string();
    std::ofstream(dsn_file_) << dsn << "\n";
  }
  void TearDown() override {
    if (!dsn_file_.empty()) std::filesystem::remove(dsn_file_);
  }

  FeedConfig feed(const std::string& query) const {
    FeedConfig f = test_feed("live", FeedType::Postgres, {{"id", "id", Type::String}});
    f.dsn_file = dsn_file_;
    f.query = query;
    f.timeout_seconds = 10;
    return f;
  }

  std::string dir_, dsn_file_;
};

TEST_F(PostgresLive, AQueryThatWouldCloseTheCopyWrapperWritesNoFile) {
  const std::string target = dir_ + "/escaped.csv";
  std::filesystem::remove(target);
  // Put inside COPY ( ... ) as text, this would be COPY (SELECT ...) TO 'target' -- ...: the
  // server, as a superuser, would write the file.
  FeedLoad load = load_feed(feed("SELECT 'x' AS id) TO '" + target + "' --"), std::nullopt, LoadControl());
  EXPECT_FALSE(load.accepted);
  EXPECT_NE(load.error.find("postgres feed 'live': the query failed: syntax error"), std::string::npos) << load.error;
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_F(PostgresLive, ATrailingCommentIsPartOfTheQueryOnly) {
  FeedLoad load = load_feed(feed("SELECT 'x' AS id -- the end"), std::nullopt, LoadControl());
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 1u);
}

TEST_F(PostgresLive, TwoStatementsAreRefusedByTheServer) {
  FeedLoad load = load_feed(feed("SELECT 'x' AS id; SELECT 'y' AS id"), std::nullopt, LoadControl());
  EXPECT_FALSE(load.accepted);
  EXPECT_NE(load.error.find("cannot insert multiple commands into a prepared statement"), std::string::npos) << load.error;
}

TEST_F(PostgresLive, AWriteIsRefusedInsideTheReadOnlyTransaction) {
  FeedLoad load = load_feed(feed("WITH w AS (INSERT INTO escape_probe VALUES ('z') RETURNING v) SELECT v AS id FROM w"),
                            std::nullopt, LoadControl());
  EXPECT_FALSE(load.accepted);
  EXPECT_NE(load.error.find("read-only transaction"), std::string::npos) << load.error;
}

}  // namespace
}  // namespace casewatch
