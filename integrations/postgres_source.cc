// The postgres source: the feed's query, run read-only against a reporting database with libpq,
// its result streamed as COPY (query) TO STDOUT in CSV, so a million rows never sit twice in
// memory and every cell is parsed as a CSV cell is. The session sets its own DateStyle (ISO) and
// TimeZone (engine.timezone), so a server or role default (SQL, DMY) changes nothing: a date is
// 2017-06-14, a timestamp with time zone 2017-06-14 09:00:00+01 in the engine's zone (its date
// kept), a bool t or f. The connection string comes from dsn_file (TLS with
// sslmode=verify-full works through libpq); `timeout` bounds the connection, the query (the
// server's statement_timeout) and every wait for the server; load_timeout bounds the whole.
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "integrations/feed_source.h"
#include "integrations/redact.h"

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

// A message with its quoted parts left out: a data error quotes the offending value, and a
// connection string libpq cannot parse is quoted back, password and all.
std::string without_quotes(const std::string& message) {
  std::string out;
  bool quoted = false;
  for (char c : message) {
    if (c == '"') {
      out += quoted ? "...\"" : "\"";
      quoted = !quoted;
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
}

// The server's reason, never a value from a row: a data error (SQLSTATE class 22, 23) quotes the
// offending value, so its quoted parts are left out; the rest quote only names.
std::string reason_of(const PGresult* result, PGconn* connection) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? primary : first_line(PQerrorMessage(connection));
  if (message.starts_with("ERROR:  ")) message.erase(0, 8);
  if (state && (std::string_view(state).starts_with("22") || std::string_view(state).starts_with("23")))
    message = without_quotes(message);
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

// One session over a non-blocking connection: every wait is on the socket, bounded by the
// feed's timeout and by what is left of the load, so a server that stops answering (a paused
// backend, a dropped network) stops the load in time and never the thread for ever.
class Session {
 public:
  Session(PGconn* connection, const LoadControl& control, std::chrono::milliseconds timeout)
      : c_(connection), control_(control), timeout_(timeout) {}

  // Waits until the socket can be read (or written); "" when it can, else why not.
  std::string wait(bool for_write, std::chrono::milliseconds quiet_limit) {
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
      if (control_.stopped()) return control_.reason();
      const auto quiet = std::chrono::steady_clock::now() - started;
      if (quiet >= quiet_limit)
        return "the server sent nothing for " + std::to_string(quiet_limit.count() / 1000) + " s (the feed's timeout)";
      pollfd fd{PQsocket(c_), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
      if (fd.fd < 0) return "the connection is gone";
      const int ms = static_cast<int>(std::min(control_.remaining(std::chrono::milliseconds(100)),
                                               std::chrono::duration_cast<std::chrono::milliseconds>(quiet_limit - quiet))
                                          .count());
      const int ready = ::poll(&fd, 1, std::max(ms, 1));
      if (ready > 0) return "";
      if (ready < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
    }
  }

  // Sends what libpq has queued; "" when all of it went.
  std::string flush() {
    for (;;) {
      const int left = PQflush(c_);
      if (left == 0) return "";
      if (left < 0) return first_line(PQerrorMessage(c_));
      if (std::string problem = wait(true, timeout_); !problem.empty()) return problem;
    }
  }

  // The next result of the command sent, waiting as long as the server is busy (a query's rows
  // are computed before COPY sends any: up to the feed's timeout, with a little over for the
  // server's own statement_timeout to speak first). Null at the end of the command's results.
  Result next_result(std::string& problem) {
    while (PQisBusy(c_)) {
      if (problem = wait(false, timeout_ + std::chrono::seconds(5)); !problem.empty()) return nullptr;
      if (!PQconsumeInput(c_)) {
        problem = first_line(PQerrorMessage(c_));
        return nullptr;
      }
    }
    return Result(PQgetResult(c_));
  }

  // Runs a command sent with PQsend*: every result must have `expected` status; the first that
  // does not is returned (or null, with `problem`, when the server did not answer in time).
  Result finish_command(ExecStatusType expected, std::string& problem) {
    if (problem = flush(); !problem.empty()) return nullptr;
    Result bad;
    for (;;) {
      Result r = next_result(problem);
      if (!problem.empty()) return nullptr;
      if (!r) return bad;
      if (PQresultStatus(r.get()) != expected && !bad) bad = std::move(r);
    }
  }

  // The next chunk of COPY data: > 0 its size (free with PQfreemem), -1 at the end, -2 on error
  // (with `problem`).
  int copy_data(char** data, std::string& problem) {
    for (;;) {
      if (control_.stopped()) {
        problem = control_.reason();
        return -2;
      }
      const int n = PQgetCopyData(c_, data, 1);
      if (n != 0) {
        if (n == -2) problem = first_line(PQerrorMessage(c_));
        return n;
      }
      if (problem = wait(false, timeout_ + std::chrono::seconds(5)); !problem.empty()) return -2;
      if (!PQconsumeInput(c_)) {
        problem = first_line(PQerrorMessage(c_));
        return -2;
      }
    }
  }

 private:
  PGconn* c_;
  const LoadControl& control_;
  std::chrono::milliseconds timeout_;
};

class PostgresSource final : public FeedSource {
 public:
  explicit PostgresSource(const FeedConfig& feed) : feed_(feed) {}

  void read(FeedRows& rows, FeedLoad& load, const ReadOptions& options) override {
    Redactor& redact = options.redact;
    const std::string where = "postgres feed '" + feed_.name + "': ";
    std::ifstream in(feed_.dsn_file);
    if (!in) {
      load.error = where + feed_.dsn_file + ": cannot read the dsn_file";
      return;
    }
    std::stringstream dsn_text;
    dsn_text << in.rdbuf();
    const std::string dsn = first_line(dsn_text.str());
    redact.add_secret(dsn);
    // Parsed here first: libpq's own complaint about a malformed string quotes the string.
    char* parse_error = nullptr;
    PQconninfoOption* options_parsed = PQconninfoParse(dsn.c_str(), &parse_error);
    if (!options_parsed) {
      load.error = where + "the connection string in its dsn_file cannot be parsed (" +
                   without_quotes(first_line(parse_error ? parse_error : "out of memory")) + ")";
      if (parse_error) PQfreemem(parse_error);
      return;
    }
    for (PQconninfoOption* o = options_parsed; o->keyword; ++o)
      if (o->val && (std::string_view(o->keyword) == "password" || std::string_view(o->keyword) == "sslpassword"))
        redact.add_secret(o->val);
    PQconninfoFree(options_parsed);

    // The DSN first (a key=value string or a URI), then what casewatch insists on: its name,
    // keepalive probes, and a TCP user timeout, so a peer that vanishes is noticed.
    const int64_t timeout_seconds = std::max<int64_t>(1, feed_.timeout_seconds);
    const std::string timeout = std::to_string(timeout_seconds);
    const std::string user_timeout = std::to_string(timeout_seconds * 1000);
    const char* keys[] = {"dbname", "connect_timeout", "application_name", "keepalives", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout", nullptr};
    const char* values[] = {dsn.c_str(), timeout.c_str(), "casewatch", "1", "30", "10", "3", user_timeout.c_str(), nullptr};
    Connection connection(PQconnectStartParams(keys, values, 1));
    if (!connection || PQstatus(connection.get()) == CONNECTION_BAD) {
      load.error = where + "cannot connect: " + first_line(connection ? PQerrorMessage(connection.get()) : "out of memory");
      return;
    }
    PGconn* c = connection.get();
    Session session(c, options.control, std::chrono::seconds(timeout_seconds));
    // PQconnectPoll moves through the hosts the string names; each wait is bounded.
    for (PostgresPollingStatusType state = PGRES_POLLING_WRITING; state != PGRES_POLLING_OK;) {
      if (state == PGRES_POLLING_FAILED) {
        load.error = where + "cannot connect: " + first_line(PQerrorMessage(c));
        return;
      }
      if (std::string problem = session.wait(state == PGRES_POLLING_WRITING, std::chrono::seconds(timeout_seconds));
          !problem.empty()) {
        load.error = where + "cannot connect: " + problem;
        return;
      }
      state = PQconnectPoll(c);
    }
    PQsetnonblocking(c, 1);
    std::string problem;
    const std::string setup = "SET statement_timeout = " + literal(timeout + "s") +
                              "; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET TimeZone = " +
                              literal(feed_.timezone.empty() ? "UTC" : feed_.timezone) +
                              "; SET client_encoding = 'UTF8'; SET extra_float_digits = 1;"
                              " BEGIN TRANSACTION READ ONLY";
    if (!PQsendQuery(c, setup.c_str())) {
      load.error = where + "cannot start a read-only transaction: " + first_line(PQerrorMessage(c));
      return;
    }
    if (Result bad = session.finish_command(PGRES_COMMAND_OK, problem); bad || !problem.empty()) {
      load.error = where + "cannot start a read-only transaction: " + (problem.empty() ? reason_of(bad.get(), c) : problem);
      return;
    }
    // The query alone, prepared by the server (the extended protocol takes one statement only):
    // it must parse whole by itself before it is put inside COPY ( ... ), so nothing in it can
    // close the parenthesis and speak to COPY. The line breaks end any trailing -- comment.
    const std::string query = trimmed_query(feed_.query);
    if (!PQsendPrepare(c, "", query.c_str(), 0, nullptr)) {
      load.error = where + "the query failed: " + first_line(PQerrorMessage(c));
      return;
    }
    if (Result bad = session.finish_command(PGRES_COMMAND_OK, problem); bad || !problem.empty()) {
      load.error = where + "the query failed: " + (problem.empty() ? reason_of(bad.get(), c) : problem);
      return;
    }
    std::string copy = "COPY (\n" + query + "\n) TO STDOUT WITH (FORMAT csv, HEADER true)";
    if (options.limit)
      copy = "COPY (SELECT * FROM (\n" + query + "\n) AS probe LIMIT " + std::to_string(*options.limit) +
             ") TO STDOUT WITH (FORMAT csv, HEADER true)";
    if (!PQsendQueryParams(c, copy.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)) {
      load.error = where + "the query failed: " + first_line(PQerrorMessage(c));
      return;
    }
    if (problem = session.flush(); !problem.empty()) {
      load.error = where + "the query failed: " + problem;
      return;
    }
    Result started = session.next_result(problem);
    if (!problem.empty() || !started || PQresultStatus(started.get()) != PGRES_COPY_OUT) {
      load.error = where + "the query failed: " + (problem.empty() ? reason_of(started.get(), c) : problem);
      return;
    }
    // The result, a chunk at a time, through the CSV reader: the same cells as a CSV extract.
    CsvRows csv_rows(rows, load, false);
    CsvStream stream(csv_rows, load);
    ContentHash hash;
    for (;;) {
      char* data = nullptr;
      const int n = session.copy_data(&data, problem);
      if (n == -1) break;  // done
      if (n < 0) {
        load.error = where + "reading the result: " + problem;
        return;
      }
      hash.add(std::string_view(data, static_cast<size_t>(n)));
      stream.buffer().append(data, static_cast<size_t>(n));
      PQfreemem(data);
      if (!stream.parse(false, options.limit, rows)) {
        if (!load.error.empty()) load.error = where + load.error;
        return;  // a bad header, too many records, or a probe's rows: the connection closes
      }
    }
    Result finished = session.next_result(problem);
    if (!problem.empty() || !finished || PQresultStatus(finished.get()) != PGRES_COMMAND_OK) {
      load.error = where + "the query failed: " + (problem.empty() ? reason_of(finished.get(), c) : problem);
      return;
    }
    if (!stream.parse(true, options.limit, rows)) {
      if (!load.error.empty()) load.error = where + load.error;
      return;
    }
    if (!csv_rows.header_read()) {
      load.error = where + "the query returned no columns";
      return;
    }
    load.content_hash = hash.value();
  }

 private:
  const FeedConfig& feed_;
};

}  // namespace

std::unique_ptr<FeedSource> make_postgres_source(const FeedConfig& feed) {
  return std::make_unique<PostgresSource>(feed);
}

}  // namespace casewatch
