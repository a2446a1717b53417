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
#include <string_view>
#include <vector>
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

// A message with everything from its first double quote to its last left out: a data error quotes
// the offending value, and a connection string libpq cannot parse is quoted back, password and
// all. A quote inside what is quoted cannot make the rest show (one pair at a time could).
std::string without_quotes(const std::string& message) {
  const size_t first = message.find('"');
  if (first == std::string::npos) return message;
  const size_t last = message.rfind('"');
  if (last == first) return message.substr(0, first) + "\"...";
  return message.substr(0, first) + "\"...\"" + message.substr(last + 1);
}

// SQLSTATE classes whose built-in messages speak of the query, the session or the server, not of
// a row's values: connection, unsupported feature, transaction state, authorisation, catalog or
// schema name, syntax or access, rollback, resources, limits, prerequisite state, operator
// intervention (a statement timeout), system error.
bool speaks_of_the_query(std::string_view state) {
  static constexpr std::string_view kClasses[] = {"08", "0A", "25", "28", "3D", "3F", "40", "42", "53", "54", "55", "57", "58"};
  return std::any_of(std::begin(kClasses), std::end(kClasses), [&](std::string_view c) { return state.starts_with(c); });
}

// The server's reason, never a value from a row. A built-in error of a class that speaks of the
// query is given with its quoted parts left out (they may quote a value, or a name made from one);
// any other (a data error, which quotes values bare: "date field value out of range: 2001-02-31")
// and any error raised by the query's own code (RAISE, whatever SQLSTATE it chose, or a PL's own)
// may say anything, so only its SQLSTATE is given.
std::string reason_of(const PGresult* result, PGconn* connection) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const char* source = result ? PQresultErrorField(result, PG_DIAG_SOURCE_FILE) : nullptr;
  if (state) {
    const std::string_view code(state);
    // The PLs' sources are pl_exec.c (PL/pgSQL), plpy_*.c, plperl.c, pltcl.c.
    const bool raised = code.starts_with("P0") || (source && std::string_view(source).starts_with("pl"));
    if (raised) return std::string("an error raised by the query's own code, its text left out (SQLSTATE ") + state + ")";
    if (!speaks_of_the_query(code)) {
      const char* kind = code.starts_with("22")   ? "a data error"
                         : code.starts_with("23") ? "an integrity constraint error"
                                                  : "an error";
      return std::string(kind) + ", its text left out as it may quote a row (SQLSTATE " + state + ")";
    }
  }
  std::string message = primary ? primary : first_line(PQerrorMessage(connection));
  if (message.starts_with("ERROR:  ")) message.erase(0, 8);
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
  Session(PGconn* connection, const LoadControl& control, std::chrono::seconds timeout)
      : c_(connection), control_(control), timeout_(timeout) {}
  static constexpr std::chrono::seconds kStatementGrace{5};

  // Waits until the socket can be read (or written); "" when it can, else why not. `grace`: how
  // much longer than the feed's timeout to wait (for the server's own statement_timeout to speak).
  std::string wait(bool for_write, std::chrono::seconds grace = std::chrono::seconds(0)) {
    const auto started = std::chrono::steady_clock::now();
    const auto quiet_limit = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_ + grace);
    for (;;) {
      if (control_.stopped()) return control_.reason();
      const auto quiet = std::chrono::steady_clock::now() - started;
      if (quiet >= quiet_limit)
        return "the server sent nothing for " + std::to_string(quiet_limit.count() / 1000) + " s (the feed's timeout" +
               (grace.count() ? " and " + std::to_string(grace.count()) + " s for its statement_timeout)" : ")");
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
      if (std::string problem = wait(true); !problem.empty()) return problem;
    }
  }

  // The next result of the command sent, waiting as long as the server is busy (a query's rows
  // are computed before COPY sends any: up to the feed's timeout, with a little over for the
  // server's own statement_timeout to speak first). Null at the end of the command's results.
  Result next_result(std::string& problem) {
    while (PQisBusy(c_)) {
      if (problem = wait(false, kStatementGrace); !problem.empty()) return nullptr;
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
      if (problem = wait(false, kStatementGrace); !problem.empty()) return -2;
      if (!PQconsumeInput(c_)) {
        problem = first_line(PQerrorMessage(c_));
        return -2;
      }
    }
  }

 private:
  PGconn* c_;
  const LoadControl& control_;
  std::chrono::seconds timeout_;
};

// Splits libpq's comma-separated list ("a,b"); one value serves every host, as in libpq.
std::vector<std::string> comma_list(const char* text) {
  std::vector<std::string> out;
  if (!text) return out;
  std::string_view rest(text);
  for (;;) {
    const size_t comma = rest.find(',');
    out.emplace_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

// Connects without blocking, each wait bounded by the feed's timeout and the load's control; a
// connection string naming several hosts is tried host by host, so one that takes the connection
// and never answers does not keep the others from being tried. "" in `error` when connected.
Connection connect(const std::string& dsn, const PQconninfoOption* parsed, int64_t timeout_seconds,
                   const LoadControl& control, std::string& error) {
  const char* host = nullptr;
  const char* hostaddr = nullptr;
  const char* port = nullptr;
  for (const PQconninfoOption* o = parsed; o->keyword; ++o) {
    if (std::string_view(o->keyword) == "host") host = o->val;
    if (std::string_view(o->keyword) == "hostaddr") hostaddr = o->val;
    if (std::string_view(o->keyword) == "port") port = o->val;
  }
  const std::vector<std::string> hosts = comma_list(host), addresses = comma_list(hostaddr), ports = comma_list(port);
  const size_t attempts = std::max<size_t>({1, hosts.size(), addresses.size()});
  // The DSN first (a key=value string or a URI), then what casewatch insists on: its name,
  // keepalive probes, and a TCP user timeout, so a peer that vanishes is noticed; then the host.
  const std::string timeout = std::to_string(timeout_seconds);
  const std::string user_timeout = std::to_string(timeout_seconds * 1000);
  std::string reasons;
  for (size_t i = 0; i < attempts; ++i) {
    std::vector<const char*> keys = {"dbname", "connect_timeout", "application_name", "keepalives", "keepalives_idle",
                                     "keepalives_interval", "keepalives_count", "tcp_user_timeout"};
    std::vector<const char*> values = {dsn.c_str(), timeout.c_str(), "casewatch", "1", "30", "10", "3", user_timeout.c_str()};
    auto pick = [&](const std::vector<std::string>& list, const char* key) {
      if (attempts == 1 || list.empty()) return;
      keys.push_back(key);
      values.push_back(list[list.size() == 1 ? 0 : std::min(i, list.size() - 1)].c_str());
    };
    pick(hosts, "host");
    pick(addresses, "hostaddr");
    pick(ports, "port");
    keys.push_back(nullptr);
    values.push_back(nullptr);
    Connection connection(PQconnectStartParams(keys.data(), values.data(), 1));
    std::string reason;
    if (!connection || PQstatus(connection.get()) == CONNECTION_BAD) {
      reason = first_line(connection ? PQerrorMessage(connection.get()) : "out of memory");
    } else {
      // No notice goes to stderr as libpq would send it: a RAISE NOTICE may name a child.
      PQsetNoticeProcessor(connection.get(), [](void*, const char*) {}, nullptr);
      Session session(connection.get(), control, std::chrono::seconds(timeout_seconds));
      for (PostgresPollingStatusType state = PGRES_POLLING_WRITING; reason.empty() && state != PGRES_POLLING_OK;) {
        if (state == PGRES_POLLING_FAILED) reason = first_line(PQerrorMessage(connection.get()));
        else if (reason = session.wait(state == PGRES_POLLING_WRITING); reason.empty()) state = PQconnectPoll(connection.get());
      }
      if (reason.empty()) return connection;
    }
    if (control.stopped()) {
      error = control.reason();
      return nullptr;
    }
    const std::string name = attempts == 1 ? "" : (hosts.size() > i ? hosts[i] : addresses[i]) + ": ";
    reasons += (reasons.empty() ? "" : "; ") + name + reason;
  }
  error = "cannot connect: " + reasons;
  return nullptr;
}

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
    // An empty string would connect with libpq's defaults (PGHOST, the local socket, ~/.pgpass).
    if (dsn.find_first_not_of(" \t") == std::string::npos) {
      load.error = where + feed_.dsn_file + ": its first line is empty: no connection string";
      return;
    }
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
    const int64_t timeout_seconds = std::max<int64_t>(1, feed_.timeout_seconds);
    const std::string timeout = std::to_string(timeout_seconds);
    std::string problem;
    Connection connection = connect(dsn, options_parsed, timeout_seconds, options.control, problem);
    PQconninfoFree(options_parsed);
    if (!connection) {
      load.error = where + problem;
      return;
    }
    PGconn* c = connection.get();
    Session session(c, options.control, std::chrono::seconds(timeout_seconds));
    PQsetnonblocking(c, 1);
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
