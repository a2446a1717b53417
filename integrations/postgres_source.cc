// The postgres source: the feed's query, run read-only against a reporting database with libpq,
// its result streamed as COPY (query) TO STDOUT in CSV, so a million rows never sit twice in
// memory and every cell is parsed as a CSV cell is. The session sets its own DateStyle (ISO) and
// TimeZone (engine.timezone), so a server or role default (SQL, DMY) changes nothing: a date is
// 2017-06-14, a timestamp with time zone 2017-06-14 09:00:00+01 in the engine's zone (its date
// kept), a bool t or f. The connection string comes from dsn_file (TLS with
// sslmode=verify-full works through libpq); `timeout` bounds the connection and the query.
#include <libpq-fe.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include "integrations/feed_source.h"

namespace casewatch {
namespace {

struct ConnectionDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Connection = std::unique_ptr<PGconn, ConnectionDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string first_line(std::string text) {
  size_t end = text.find('\n');
  if (end != std::string::npos) text.erase(end);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.pop_back();
  return text;
}

// The server's reason, never a value from a row: a data error (SQLSTATE class 22, 23) quotes the
// offending value, so its quoted parts are left out; the rest quote only names.
std::string reason_of(const PGresult* result, PGconn* connection) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? primary : first_line(PQerrorMessage(connection));
  if (message.starts_with("ERROR:  ")) message.erase(0, 8);
  if (state && (std::string_view(state).starts_with("22") || std::string_view(state).starts_with("23"))) {
    std::string redacted;
    bool quoted = false;
    for (char c : message) {
      if (c == '"') {
        redacted += quoted ? "...\"" : "\"";
        quoted = !quoted;
      } else if (!quoted) {
        redacted += c;
      }
    }
    message = redacted;
  }
  return state ? message + " (SQLSTATE " + state + ")" : message;
}

std::string trimmed_query(std::string query) {
  while (!query.empty() && (std::isspace(static_cast<unsigned char>(query.back())) || query.back() == ';')) query.pop_back();
  return query;
}

// 'text' with its quotes doubled, for a SET command.
std::string literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

class PostgresSource final : public FeedSource {
 public:
  explicit PostgresSource(const FeedConfig& feed) : feed_(feed) {}

  void read(FeedRows& rows, FeedLoad& load, std::optional<size_t> limit) override {
    const std::string where = "postgres feed '" + feed_.name + "': ";
    std::ifstream in(feed_.dsn_file);
    if (!in) {
      load.error = where + feed_.dsn_file + ": cannot read the dsn_file";
      return;
    }
    std::stringstream dsn_text;
    dsn_text << in.rdbuf();
    std::string dsn = first_line(dsn_text.str());
    // The DSN first (a key=value string or a URI), then what casewatch insists on.
    const std::string timeout = std::to_string(std::max<int64_t>(1, feed_.timeout_seconds));
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {dsn.c_str(), timeout.c_str(), "casewatch", nullptr};
    Connection connection(PQconnectdbParams(keys, values, 1));
    if (!connection || PQstatus(connection.get()) != CONNECTION_OK) {
      load.error = where + "cannot connect: " + first_line(connection ? PQerrorMessage(connection.get()) : "out of memory");
      return;
    }
    PGconn* c = connection.get();
    const std::string setup = "SET statement_timeout = " + literal(timeout + "s") +
                              "; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET TimeZone = " +
                              literal(feed_.timezone.empty() ? "UTC" : feed_.timezone) +
                              "; SET client_encoding = 'UTF8'; SET extra_float_digits = 1;"
                              " BEGIN TRANSACTION READ ONLY";
    Result set(PQexec(c, setup.c_str()));
    if (PQresultStatus(set.get()) != PGRES_COMMAND_OK) {
      load.error = where + "cannot start a read-only transaction: " + reason_of(set.get(), c);
      return;
    }
    std::string copy = "COPY (" + trimmed_query(feed_.query) + ") TO STDOUT WITH (FORMAT csv, HEADER true)";
    if (limit) copy = "COPY (SELECT * FROM (" + trimmed_query(feed_.query) + ") AS probe LIMIT " +
                      std::to_string(*limit) + ") TO STDOUT WITH (FORMAT csv, HEADER true)";
    Result started(PQexec(c, copy.c_str()));
    if (PQresultStatus(started.get()) != PGRES_COPY_OUT) {
      load.error = where + "the query failed: " + reason_of(started.get(), c);
      return;
    }
    // The result, a chunk at a time, through the CSV reader: the same cells as a CSV extract.
    CsvRows csv_rows(rows, load, false);
    ContentHash hash;
    std::string buffer;
    size_t line = 1;
    csv::Record record;
    bool stopped = false;
    for (;;) {
      char* data = nullptr;
      int n = PQgetCopyData(c, &data, 0);
      if (n == -1) break;  // done
      if (n < 0) {
        load.error = where + "reading the result: " + first_line(PQerrorMessage(c));
        return;
      }
      if (!stopped) {
        hash.add(std::string_view(data, static_cast<size_t>(n)));
        buffer.append(data, static_cast<size_t>(n));
      }
      PQfreemem(data);
      if (stopped || buffer.size() < (1 << 20)) continue;
      csv::Reader reader(buffer, line, false);
      while (reader.next(record))
        if (!csv_rows.add(record)) stopped = true;  // a bad header: read on only to finish the COPY
      line = reader.line();
      buffer.erase(0, reader.consumed());
    }
    Result finished(PQgetResult(c));
    if (PQresultStatus(finished.get()) != PGRES_COMMAND_OK) {
      load.error = where + "the query failed: " + reason_of(finished.get(), c);
      return;
    }
    if (stopped) {
      load.error = where + load.error;
      return;
    }
    csv::Reader reader(buffer, line, true);
    while (reader.next(record))
      if (!csv_rows.add(record)) {
        load.error = where + load.error;
        return;
      }
    if (!csv_rows.header_read()) {
      load.error = where + "the query returned no columns";
      return;
    }
    load.content_hash = hash.value();
    PQclear(PQexec(c, "ROLLBACK"));
  }

 private:
  const FeedConfig& feed_;
};

}  // namespace

std::unique_ptr<FeedSource> make_postgres_source(const FeedConfig& feed) {
  return std::make_unique<PostgresSource>(feed);
}

}  // namespace casewatch
