// Feeds that fail in any way stop nothing else (issue 27), at the level of one load: every load
// bounded in time, records, nesting and row length; text made valid; secrets kept out of
// messages; a rejected row still naming its record; the content hash of the bytes alone. The
// daemon-level faults (a paused database, an endless API) are in tests/integration/.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "config/config.h"
#include "integrations/feed_loader.h"
#include "integrations/feed_set.h"
#include "integrations/feed_source.h"
#include "integrations/redact.h"
#include "integrations/utf8.h"
#include "tests/feed_fixture.h"

namespace casewatch {
namespace {

using namespace std::chrono_literals;

FeedConfig feed_of(FeedType type, std::vector<FieldConfig> fields) {
  FeedConfig feed = test_feed("cases", type, std::move(fields));
  feed.date_format = "%d/%m/%Y";
  feed.max_rejected_ratio = 1;
  return feed;
}

FeedConfig csv_feed(const std::string& path) {
  FeedConfig feed = feed_of(FeedType::Csv, {{"id", "ID", Type::String}, {"done", "Done", Type::Date}, {"team", "Team", Type::String}});
  feed.path = path;
  return feed;
}

class TempDir {
 public:
  TempDir() : path_(std::filesystem::temp_directory_path() / ("casewatch_bounds_" + std::to_string(::getpid()) + "_" +
                                                              std::to_string(counter_++))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, const std::string& text) const {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// --- the content hash: the bytes alone decide it ---

TEST(ContentHash, TheSameBytesSplitAnyWayGiveTheSameValue) {
  std::mt19937 random(27);
  std::string bytes(5000, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  ContentHash whole;
  whole.add(bytes);
  for (int trial = 0; trial < 200; ++trial) {
    ContentHash pieces;
    for (size_t at = 0; at < bytes.size();) {
      const size_t n = std::min<size_t>(bytes.size() - at, random() % 70);
      pieces.add(std::string_view(bytes).substr(at, n));
      at += n;
    }
    ASSERT_EQ(pieces.value(), whole.value()) << "trial " << trial;
  }
  // And a different length of the same bytes is a different content.
  ContentHash shorter;
  shorter.add(std::string_view(bytes).substr(0, bytes.size() - 1));
  EXPECT_NE(shorter.value(), whole.value());
  ContentHash empty, zero;
  zero.add(std::string(1, '\0'));
  EXPECT_NE(empty.value(), zero.value());
}

TEST(ContentHash, AFileReadInPiecesHashesAsItsBytesInOne) {
  TempDir dir;
  std::string text = "ID,Done,Team\n";
  for (int i = 0; i < 150000; ++i) text += "C" + std::to_string(i) + ",,T\n";  // over two read pieces
  FeedConfig feed = csv_feed(dir.file("a.csv", text));
  FeedLoad from_file = load_feed(feed, std::nullopt, LoadControl());
  ASSERT_TRUE(from_file.accepted) << from_file.error;
  EXPECT_EQ(from_file.content_hash, load_csv(feed, text, "a.csv", std::nullopt).content_hash);
}

// --- bounds ---

TEST(FeedBounds, AFileWithNoLineBreaksFailsWithoutReadingItOverAndOver) {
  TempDir dir;
  // 80 MiB with no line end: the row is over the limit; parsed again only as the buffer doubles.
  std::string text = "ID,Done,Team\n" + std::string(80u << 20, 'x');
  FeedConfig feed = csv_feed(dir.file("one-line.csv", text));
  const auto started = std::chrono::steady_clock::now();
  FeedLoad load = load_feed(feed, std::nullopt, LoadControl());
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "line 2: a row longer than 64 MiB (no line end where one was expected): not a CSV extract");
  // Not a timing assertion of speed, only of the quadratic: 80 passes of a growing buffer take
  // minutes, a doubling series well under one. (bench/ measures the speed.)
  EXPECT_LT(seconds, 60.0);
}

TEST(FeedBounds, ALongRowUnderTheLimitIsReadWhole) {
  TempDir dir;
  std::string note(3u << 20, 'n');  // a 3 MiB quoted cell, across read pieces
  std::string text = "ID,Done,Team,Notes\nA1,,T,\"" + note + "\"\nA2,,T,short\n";
  FeedConfig feed = csv_feed(dir.file("long.csv", text));
  FeedLoad load = load_feed(feed, std::nullopt, LoadControl());
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 2u);
}

TEST(FeedBounds, MoreThanMaxRecordsFailsTheLoad) {
  TempDir dir;
  std::string text = "ID,Done,Team\n";
  for (int i = 0; i < 11; ++i) text += "C" + std::to_string(i) + ",,T\n";
  FeedConfig feed = csv_feed(dir.file("many.csv", text));
  feed.max_records = 10;
  FeedLoad load = load_feed(feed, std::nullopt, LoadControl());
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "more than max_records (10) records");
  feed.max_records = 11;
  EXPECT_TRUE(load_feed(feed, std::nullopt, LoadControl()).accepted);
}

TEST(FeedBounds, ALoadPastItsDeadlineStopsWithTheDeadlineAsItsReason) {
  TempDir dir;
  std::string text = "ID,Done,Team\n";
  for (int i = 0; i < 300000; ++i) text += "C" + std::to_string(i) + ",,T\n";
  FeedConfig feed = csv_feed(dir.file("big.csv", text));
  LoadControl expired(LoadControl::Clock::now() - 1s, "the load did not finish within load_timeout (1s)");
  FeedLoad load = load_feed(feed, std::nullopt, expired);
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, dir.path("big.csv") + ": the load did not finish within load_timeout (1s)");
  LoadControl cancelled;
  cancelled.cancel("the daemon is stopping");
  EXPECT_EQ(load_feed(feed, std::nullopt, cancelled).error, dir.path("big.csv") + ": the daemon is stopping");
}

TEST(FeedBounds, JsonNestingDeeperThanTheLimitIsRefusedAsItIsRead) {
  FeedConfig feed = feed_of(FeedType::JsonHttp, {{"id", "id", Type::String}});
  feed.records = "/data/items";
  FeedLoad load;
  FeedRows rows(feed, load);
  std::string bomb = "{\"data\":{\"items\":[" + std::string(5'000'000, '[');
  std::istringstream in(bomb);
  size_t number = 0;
  EXPECT_EQ(read_json_records(in, feed, rows, number, std::nullopt), "the JSON nests deeper than 64 levels");
  // Just inside the limit is fine.
  std::string deep = "{\"data\":{\"items\":[{\"id\":\"A\",\"x\":" + std::string(59, '[') + std::string(59, ']') + "}]}}";
  std::istringstream ok(deep);
  FeedLoad load2;
  FeedRows rows2(feed, load2);
  number = 0;
  EXPECT_EQ(read_json_records(ok, feed, rows2, number, std::nullopt), "");
}

TEST(FeedBounds, JsonRecordsOverMaxRecordsStopTheRead) {
  FeedConfig feed = feed_of(FeedType::JsonHttp, {{"id", "id", Type::String}});
  feed.max_records = 2;
  FeedLoad load;
  FeedRows rows(feed, load);
  std::istringstream in(R"([{"id": "A"}, {"id": "B"}, {"id": "C"}, {"id": "D"}])");
  size_t number = 0;
  read_json_records(in, feed, rows, number, std::nullopt);
  EXPECT_TRUE(rows.over_limit());
  EXPECT_EQ(load.error, "more than max_records (2) records");
}

// --- the kinds of file an extract is not ---

TEST(FeedBounds, AFifoIsNamedAsOneNotAsAMissingFile) {
  TempDir dir;
  const std::string path = dir.path("pipe.csv");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  errno = ENOENT;  // what an earlier call may have left: it must not become the message
  FeedLoad load = load_feed(csv_feed(path), std::nullopt, LoadControl());
  EXPECT_EQ(load.error, path + ": a named pipe (FIFO), not a regular file: an extract must be a file");
  FeedLoad dir_load = load_feed(csv_feed(dir.path("")), std::nullopt, LoadControl());
  EXPECT_NE(dir_load.error.find("Is a directory"), std::string::npos) << dir_load.error;
  EXPECT_EQ(load_feed(csv_feed("/dev/zero"), std::nullopt, LoadControl()).error,
            "/dev/zero: not a regular file (a device?)");  // never read: it would never end
}

// --- text ---

TEST(FeedText, EveryHighByteBecomesValidUtf8AtTheLoad) {
  std::string text = "ID,Done,Team\n";
  for (int byte = 0x80; byte <= 0xff; ++byte)
    text += "K" + std::to_string(byte) + ",,Bad" + std::string(1, static_cast<char>(byte)) + "Byte\n";
  text += "K\xE2\x82\xAC,,Caf\xC3\xA9\n";  // valid UTF-8 stays as it is
  FeedConfig feed = csv_feed("x.csv");
  FeedLoad load = load_csv(feed, text, "x.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  ASSERT_EQ(load.table->rows(), 129u);
  for (size_t row = 0; row < 128; ++row) {
    const std::string team(load.table->value(row, 2).text);
    EXPECT_TRUE(is_valid_utf8(team)) << row;
    EXPECT_EQ(team, "Bad\xEF\xBF\xBD" "Byte") << row;
  }
  EXPECT_EQ(load.table->value(128, 2).text, "Caf\xC3\xA9");
  EXPECT_EQ(load.table->key(128), "K\xE2\x82\xAC");
  // Two keys that differ only in their bad bytes are one key: the second row is a duplicate.
  FeedLoad twins = load_csv(feed, "ID,Done,Team\nK\x81,,T\nK\x82,,T\n", "x.csv", std::nullopt);
  ASSERT_TRUE(twins.accepted) << twins.error;
  EXPECT_EQ(twins.table->rows(), 1u);
  ASSERT_EQ(twins.rejected_rows.size(), 1u);
  EXPECT_EQ(twins.rejected_rows[0].reason, "duplicate key");
}

TEST(FeedText, IsValidUtf8AgreesWithTheByteByByteCheck) {
  std::mt19937 random(1252);
  for (int trial = 0; trial < 20000; ++trial) {
    std::string s(random() % 24, '\0');
    for (char& c : s) c = static_cast<char>(random() % 4 == 0 ? random() : 'a' + random() % 26);
    EXPECT_EQ(is_valid_utf8(s), valid_utf8(s) == s) << trial;
  }
}

// --- a rejected row still names its record ---

TEST(FeedRejectedRows, TheKeyOfARowRejectedForAnotherCellIsKept) {
  FeedConfig feed = csv_feed("x.csv");
  feed.valid_dates = {days_from_civil(1901, 1, 1), days_from_civil(2099, 12, 31)};
  const std::string text =
      "ID,Done,Team\n"
      "A1,01/01/1900,T\n"  // a placeholder date: rejected, but A1 is still in the extract
      "A2,02/01/2017,T\n"
      "A3,02/01/2017\n"    // short: rejected, its key still readable
      "\x01,02/01/2017,T\n" // a key that cannot name a record
      "A2,03/01/2017,T\n";  // a duplicate: A2 is present through its first row
  FeedLoad load = load_csv(feed, text, "x.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 1u);
  EXPECT_EQ(load.table->rejected_keys(), (std::vector<std::string>{"A1", "A3"}));
  EXPECT_TRUE(load.table->has_rejected_key("A1"));
  EXPECT_FALSE(load.table->has_rejected_key("A2"));
  EXPECT_FALSE(load.table->has_rejected_key("A9"));
}

// --- secrets ---

TEST(Redactor, TakesOutSecretsAndWhatLooksLikeThem) {
  Redactor redact;
  redact.add_secret("Sup3r%zzSecretPw");
  redact.add_secret("ab");  // too short to look for: would cut letters out of every word
  EXPECT_EQ(redact("invalid percent-encoded token: \"Sup3r%zzSecretPw\""), "invalid percent-encoded token: \"[redacted]\"");
  EXPECT_EQ(redact("could not reach postgresql://casewatch:pw@db.example/council"),
            "could not reach postgresql://[redacted]@db.example/council");
  EXPECT_EQ(redact("GET https://api.example/leavers?page=2&token=abc123 failed"),
            "GET https://api.example/leavers?[redacted] failed");
  EXPECT_EQ(redact("host=db password=hunter2 user=x"), "host=db password=[redacted] user=x");
  EXPECT_EQ(redact("sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x"), "sent Authorization: Bearer [redacted]");
  EXPECT_EQ(redact("Connection refused"), "Connection refused");
  // A secret found inside the words put in its place is not looked for there again.
  for (const char* inside : {"red", "act", "redacted", "[redacted]"}) {
    Redactor loop;
    loop.add_secret(inside);
    EXPECT_EQ(loop(std::string("user x: ") + inside + " failed"), "user x: [redacted] failed") << inside;
  }
}

// --- check and the query ---

TEST(QueryCheck, OnlyOneStandaloneReadingQueryIsAccepted) {
  for (const char* ok : {"SELECT * FROM v", "select 1;", "WITH a AS (SELECT 1) SELECT * FROM a", "VALUES (1), (2)",
                         "TABLE reporting.referrals", "SELECT * FROM v -- a comment at the end",
                         "SELECT ')' AS p, \"a)b\" FROM v", "SELECT $$ ) $$, $tag$ ; ) $tag$", "SELECT E'\\') x' FROM v",
                         "/* a (comment */ SELECT 1", "SELECT /* nested /* ) */ ) */ 1", "((SELECT 1))"})
    EXPECT_EQ(check_single_statement(ok), "") << ok;
  EXPECT_EQ(check_single_statement("SELECT * FROM v) TO '/some/file' --"), "'query' has a ')' that closes no '('");
  EXPECT_EQ(check_single_statement("SELECT (1"), "'query' leaves a '(' open");
  EXPECT_EQ(check_single_statement("SELECT 1; DROP TABLE x"), "'query' must be one SQL statement");
  EXPECT_EQ(check_single_statement("DELETE FROM x"), "'query' must be a read-only query beginning SELECT, WITH, VALUES or TABLE");
  EXPECT_EQ(check_single_statement("SELECT 'open"), "'query' has an unterminated quote");
  EXPECT_EQ(check_single_statement("SELECT 1 /* open"), "'query' has an unterminated /* comment");
  EXPECT_EQ(check_single_statement("SELECT $x$ open"), "'query' has an unterminated dollar quote $x$");
  EXPECT_EQ(check_single_statement("-- nothing"), "'query' holds no SQL");
}

TEST(Origins, AreWrittenOneWay) {
  EXPECT_EQ(url_origin("https://API.Example.gov.uk/v1/x?page=1"), "https://api.example.gov.uk:443");
  EXPECT_EQ(url_origin("http://10.0.0.5:8080/"), "http://10.0.0.5:8080");
  EXPECT_EQ(url_origin("https://[::1]:9443", false), "https://[::1]:9443");
  EXPECT_EQ(url_origin("https://api.example/v1", false), "");  // an origin has no path
  EXPECT_EQ(url_origin("https://user:pw@api.example", false), "");
  EXPECT_EQ(url_origin("ftp://api.example", false), "");
  EXPECT_EQ(url_origin("https://api.example:99999", false), "");
}

// --- the feed set never waits for a load ---

// A TCP port that accepts connections (the kernel's backlog) and never answers.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 16);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~SilentPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(FeedSetLoads, AStalledSourceNeitherBlocksPollingNorHoldsTheOtherFeeds) {
  TempDir dir;
  SilentPort silent;
  auto config = std::make_shared<Config>();
  FeedConfig stalled = feed_of(FeedType::JsonHttp, {{"id", "id", Type::String}});
  stalled.name = "stalled";
  stalled.url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/records";
  stalled.timeout_seconds = 60;
  stalled.load_timeout_seconds = 1;
  FeedConfig file = csv_feed(dir.file("a.csv", "ID,Done,Team\nA1,,T\n"));
  file.name = "file";
  config->feeds = {stalled, file};
  std::atomic<int> ended{0};
  FeedSet feeds(config, std::make_shared<LoadPool>(4), [&] { ++ended; });
  const int64_t now = ::time(nullptr);
  const auto started = std::chrono::steady_clock::now();
  feeds.poll(now);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);  // poll() starts loads, waits for none
  // The file's load ends on its own while the other hangs.
  while (ended.load() < 1) std::this_thread::sleep_for(5ms);
  FeedSet::Refreshed first = feeds.poll(now + 1);
  EXPECT_TRUE(first.snapshots);
  EXPECT_TRUE(feeds.status(now + 1)[1].up);
  EXPECT_NE(feeds.status(now + 1)[0].loading_since, 0);
  EXPECT_FALSE(feeds.settled());
  // Past its load_timeout: down with the reason, as soon as a poll looks.
  std::this_thread::sleep_for(1100ms);
  FeedSet::Refreshed late = feeds.poll(now + 2);
  EXPECT_TRUE(late.status);
  EXPECT_TRUE(feeds.settled());
  FeedStatus status = feeds.status(now + 2)[0];
  EXPECT_FALSE(status.up);
  // Marked by the poll, or already the worker's own result: the same words either way.
  EXPECT_EQ(status.last_error, "json_http feed 'stalled': the load did not finish within load_timeout (1s)");
  EXPECT_EQ(feeds.snapshot(0), nullptr);
  // The worker lets the source go within a fraction of a second, and the feed can load again.
  while (ended.load() < 2) std::this_thread::sleep_for(5ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  feeds.poll(now + 3);
  EXPECT_EQ(feeds.status(now + 3)[0].loading_since, 0);
  EXPECT_NE(feeds.status(now + 3)[0].last_error.find("load_timeout (1s)"), std::string::npos);
}

// A server that takes the connection and never says a word: the connection's own wait is bounded.
TEST(FeedSetLoads, APostgresServerThatNeverAnswersIsBoundedByTheDeadline) {
  TempDir dir;
  SilentPort silent;
  FeedConfig feed = feed_of(FeedType::Postgres, {{"id", "id", Type::String}});
  feed.dsn_file = dir.file("dsn", "host=127.0.0.1 port=" + std::to_string(silent.port()) + " user=x password=planted-pw dbname=x\n");
  feed.query = "SELECT 1 AS id";
  feed.timeout_seconds = 60;
  feed.load_timeout_seconds = 1;
  const auto started = std::chrono::steady_clock::now();
  FeedLoad load = load_feed(feed, std::nullopt, load_control_for(feed));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(load.error, "postgres feed 'cases': the load did not finish within load_timeout (1s)");
  // With the deadline far off, the feed's timeout bounds each wait instead.
  feed.timeout_seconds = 1;
  feed.load_timeout_seconds = 300;
  load = load_feed(feed, std::nullopt, load_control_for(feed));
  EXPECT_EQ(load.error, "postgres feed 'cases': cannot connect: the server sent nothing for 1 s (the feed's timeout)");
  EXPECT_EQ(load.error.find("planted-pw"), std::string::npos);
}

// A config of one json_http feed that stalls on `silent`.
std::shared_ptr<Config> stalled_feed_config(const SilentPort& silent, int64_t load_timeout, const std::string& path = "/records") {
  auto config = std::make_shared<Config>();
  FeedConfig stalled = feed_of(FeedType::JsonHttp, {{"id", "id", Type::String}});
  stalled.name = "stalled";
  stalled.url = "http://127.0.0.1:" + std::to_string(silent.port()) + path;
  stalled.timeout_seconds = 3600;
  stalled.load_timeout_seconds = load_timeout;
  config->feeds = {stalled};
  return config;
}

TEST(FeedSetLoads, AReloadTakesOverTheLoadsOfUnchangedFeeds) {
  SilentPort silent;
  auto make = [&](int64_t load_timeout, std::string path = "/records") {
    return stalled_feed_config(silent, load_timeout, path);
  };
  auto pool = std::make_shared<LoadPool>(2);
  std::atomic<int> ended{0};
  auto old = std::make_unique<FeedSet>(make(1), pool, [&] { ++ended; });
  old->poll(100);
  FeedSet same(make(1), pool, [&] { ++ended; });
  same.adopt(*old);
  old.reset();  // would cancel its loads: the adopted one is the new set's, and goes on
  EXPECT_NE(same.status(100)[0].loading_since, 0);
  while (ended.load() < 1) std::this_thread::sleep_for(5ms);
  same.poll(101);
  EXPECT_EQ(same.status(101)[0].last_error, "json_http feed 'stalled': the load did not finish within load_timeout (1s)");
  // A changed feed's load is cancelled with the old set.
  auto changed_old = std::make_unique<FeedSet>(make(30), pool, [&] { ++ended; });
  changed_old->poll(200);
  FeedSet changed(make(30, "/other"), pool, [&] { ++ended; });
  changed.adopt(*changed_old);
  const auto started = std::chrono::steady_clock::now();
  changed_old.reset();
  while (ended.load() < 2) std::this_thread::sleep_for(5ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);  // cancelled, not left to its 30 s
}

// A reload that changes what the same bytes mean (a JSON pointer, the timezone of a database's
// times, the fields kept) must not keep the snapshot read under the old meaning as "unchanged".
TEST(FeedSetLoads, AReloadThatChangesWhatTheBytesMeanDropsTheSnapshot) {
  TempDir dir;
  const std::string path = dir.file("a.csv", "ID,Done,Team\nA1,,T\n");
  auto make = [&](auto change) {
    auto config = std::make_shared<Config>();
    FeedConfig feed = csv_feed(path);
    feed.timezone = "Europe/London";
    change(feed);
    config->feeds = {feed};
    return config;
  };
  auto pool = std::make_shared<LoadPool>(2);
  FeedSet old(make([](FeedConfig&) {}), pool);
  old.refresh(100);
  ASSERT_NE(old.snapshot(0), nullptr);
  FeedSet same(make([](FeedConfig&) {}), pool);
  same.adopt(old);
  EXPECT_EQ(same.snapshot(0), old.snapshot(0));
  for (auto change : std::vector<std::function<void(FeedConfig&)>>{
           [](FeedConfig& f) { f.records = "/items"; }, [](FeedConfig& f) { f.timezone = "UTC"; },
           [](FeedConfig& f) { f.stored_fields = {true, false, true}; }}) {
    FeedSet changed(make(change), pool);
    changed.adopt(old);
    EXPECT_EQ(changed.snapshot(0), nullptr);
  }
}

// The same feed with a new load_timeout: the load under way had the old one, and is not kept.
TEST(FeedSetLoads, AReloadWithNewLimitsRestartsTheLoadUnderWay) {
  SilentPort silent;
  auto make = [&](int64_t load_timeout) { return stalled_feed_config(silent, load_timeout); };
  auto pool = std::make_shared<LoadPool>(2);
  std::atomic<int> ended{0};
  auto old = std::make_unique<FeedSet>(make(3600), pool, [&] { ++ended; });
  old->poll(100);
  FeedSet shorter(make(1), pool, [&] { ++ended; });
  shorter.adopt(*old);
  EXPECT_EQ(shorter.status(100)[0].loading_since, 0);  // stopped
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(shorter.poll(101).started);  // and a load with the new limit begins at once
  while (ended.load() < 2) std::this_thread::sleep_for(5ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  shorter.poll(102);
  EXPECT_EQ(shorter.status(102)[0].last_error, "json_http feed 'stalled': the load did not finish within load_timeout (1s)");
}

}  // namespace
}  // namespace casewatch
