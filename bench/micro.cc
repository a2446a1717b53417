// Micro-benchmarks, each beside a peer measured in the same run so that figures can be read as
// ratios: CSV parsing against a std::getline/stringstream split, expression evaluation against
// the same test written directly in C++, working-day arithmetic against a day-by-day loop, and a
// dispatcher tick with nothing changed (the example's routes: Alertmanager, email by team)
// against copying each alert once, the least a notification of every alert can cost, and the
// alert book's next day (new summaries only) against one hash lookup per key.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <sstream>
#include <unordered_map>
#include <string>
#include <vector>

#include "config/config.h"
#include "integrations/csv_reader.h"
#include "notify/alerts.h"
#include "notify/dispatcher.h"
#include "rules/calendar.h"
#include "rules/expr.h"
#include "rules/table.h"

namespace {

using namespace casewatch;

std::string make_csv(size_t rows) {
  std::string csv = "Referral ID,Child Unique ID,Date of referral,Allocated Team,Allocated Worker\r\n";
  for (size_t i = 0; i < rows; ++i) {
    csv += "R" + std::to_string(i) + ",C" + std::to_string(i / 3) + "," + std::to_string(1 + i % 28) + "/0" +
           std::to_string(1 + i % 9) + "/2017,Assessment,\"Smith, Jo" + std::to_string(i % 120) + "\"\r\n";
  }
  return csv;
}

void BM_CsvReader(benchmark::State& state) {
  std::string csv = make_csv(100000);
  for (auto _ : state) {
    csv::Reader reader(csv);
    csv::Record record;
    size_t fields = 0;
    while (reader.next(record)) fields += record.fields.size();
    benchmark::DoNotOptimize(fields);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * csv.size()));
}
BENCHMARK(BM_CsvReader);

// Peer: the common way, a stringstream and getline per line and per field (no quote handling).
void BM_CsvPeerGetline(benchmark::State& state) {
  std::string csv = make_csv(100000);
  for (auto _ : state) {
    std::istringstream in(csv);
    std::string line, field;
    size_t fields = 0;
    while (std::getline(in, line)) {
      std::istringstream cells(line);
      while (std::getline(cells, field, ',')) ++fields;
    }
    benchmark::DoNotOptimize(fields);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * csv.size()));
}
BENCHMARK(BM_CsvPeerGetline);

struct Records {
  std::shared_ptr<Schema> schema = std::make_shared<Schema>();
  Table table;
  Records() {
    schema->fields = {{"id", Type::String}, {"team", Type::String}, {"referral", Type::Date}, {"done", Type::Date}};
    TableBuilder builder(schema, DateParser("%d/%m/%Y"));
    const char* teams[] = {"Assessment", "Child Protection", "Corporate Parenting"};
    for (int i = 0; i < 100000; ++i) {
      std::string id = "A" + std::to_string(i);
      std::string referral = std::to_string(1 + i % 28) + "/06/2017";
      std::string cells[] = {id, teams[i % 3], referral, i % 4 ? "" : "20/06/2017"};
      std::string_view views[] = {cells[0], cells[1], cells[2], cells[3]};
      builder.add_row(views);
    }
    table = builder.finish();
  }
};

void BM_ExpressionPerRecord(benchmark::State& state) {
  static Records records;
  Calendar calendar(Calendar::england_and_wales_bank_holidays());
  Scope scope;
  scope.schema = records.schema.get();
  std::vector<ExprError> errors;
  auto e = Expression::compile(
      "team in ['Assessment', 'Child Protection'] && is_null(done) && add_working_days(referral, 10) < today()", scope, errors);
  EvalContext context{&records.table, 0, {}, {}, days_from_civil(2017, 6, 20), &calendar, nullptr, nullptr};
  for (auto _ : state) {
    size_t n = 0;
    for (size_t row = 0; row < records.table.rows(); ++row) {
      context.row = row;
      n += e->eval(context).truthy();
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.table.rows()));
}
BENCHMARK(BM_ExpressionPerRecord);

// Peer: the same test written directly against the columns.
void BM_ExpressionPeerNative(benchmark::State& state) {
  static Records records;
  Calendar calendar(Calendar::england_and_wales_bank_holidays());
  const Table& t = records.table;
  const Column& team = t.column(1);
  const Column& referral = t.column(2);
  const Column& done = t.column(3);
  Day today = days_from_civil(2017, 6, 20);
  for (auto _ : state) {
    size_t n = 0;
    for (size_t row = 0; row < t.rows(); ++row) {
      std::string_view name = team.codes[row] == kNullCode ? "" : team.dictionary[team.codes[row]];
      bool ok = (name == "Assessment" || name == "Child Protection") && done.days[row] == kNullDay &&
                referral.days[row] != kNullDay && calendar.add_working_days(referral.days[row], 10) < today;
      n += ok;
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * t.rows()));
}
BENCHMARK(BM_ExpressionPeerNative);

void BM_WorkingDays(benchmark::State& state) {
  Calendar calendar(Calendar::england_and_wales_bank_holidays());
  Day start = days_from_civil(2017, 1, 1);
  for (auto _ : state) {
    int64_t sum = 0;
    for (int i = 0; i < 1000; ++i) sum += calendar.add_working_days(start + i, 25) + calendar.working_days_between(start, start + i);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2000));
}
BENCHMARK(BM_WorkingDays);

// Peer: stepping day by day, checking each day against the holiday list.
void BM_WorkingDaysPeerLoop(benchmark::State& state) {
  std::vector<Day> holidays = Calendar::england_and_wales_bank_holidays();
  auto working = [&](Day d) {
    return weekday(d) < 5 && !std::binary_search(holidays.begin(), holidays.end(), d);
  };
  Day start = days_from_civil(2017, 1, 1);
  for (auto _ : state) {
    int64_t sum = 0;
    for (int i = 0; i < 1000; ++i) {
      Day d = start + i;
      for (int n = 0; n < 25;) n += working(++d);
      int count = 0;
      for (Day x = start + 1; x <= start + i; ++x) count += working(x);
      sum += d + count;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2000));
}
BENCHMARK(BM_WorkingDaysPeerLoop);

constexpr int64_t kDispatchNow = 1700000000;

std::vector<Alert> make_alerts(size_t count) {
  std::vector<Alert> alerts(count);
  for (size_t i = 0; i < count; ++i) {
    Alert& a = alerts[i];
    a.rule = "assessment_timescale";
    a.key = "C" + std::to_string(i);
    a.fingerprint = alert_fingerprint(a.rule, a.key);
    a.severity = i % 5 ? Severity::Warning : Severity::Critical;
    a.state = AlertState::Firing;
    a.active_since = a.fired_at = kDispatchNow - 86400;
    a.set_text({{"alertname", a.rule}, {"key", a.key}, {"severity", i % 5 ? "warning" : "critical"},
                {"team", "Team " + std::to_string(i % 25)}, {"worker", "Worker " + std::to_string(i % 900)}},
               {{"summary", "Assessment for " + a.key + " is due"}, {"due", "2023-11-20"}});
  }
  return alerts;
}

void BM_DispatcherTickUnchanged(benchmark::State& state) {
  Config config;
  config.engine.timezone = "UTC";
  config.calendar = std::make_shared<Calendar>(Calendar::england_and_wales_bank_holidays());
  ReceiverConfig am, email;
  am.name = "am";
  am.type = ReceiverType::Alertmanager;
  email.name = "email";
  email.type = ReceiverType::Email;
  config.receivers = {am, email};
  RouteConfig to_am, to_email;
  to_am.name = "route 1";
  to_am.receiver = "am";
  to_am.continue_matching = true;
  to_email.name = "route 2";
  to_email.receiver = "email";
  to_email.group_by = {"team"};
  config.routes = {to_am, to_email};
  const std::vector<Alert> alerts = make_alerts(static_cast<size_t>(state.range(0)));
  Dispatcher dispatcher(config, "http://casewatch.example/", [] { return std::string("id"); });
  DispatchInput in;
  for (const Alert& a : alerts) in.alerts.push_back(&a);
  in.today = days_from_civil(2023, 11, 14);
  in.after_evaluation = true;
  in.alertmanager_ends_in = 1200;
  for (int round = 0; round < 2; ++round) {  // first sends, then steady
    in.now = kDispatchNow + round * 300;
    dispatcher.tick(in);
  }
  for (auto _ : state) {
    in.now += 300;
    DispatchOutput out = dispatcher.tick(in);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_DispatcherTickUnchanged)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_DispatcherPeerCopyAlerts(benchmark::State& state) {
  const std::vector<Alert> alerts = make_alerts(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    std::vector<Alert> copy;
    copy.reserve(alerts.size());
    for (const Alert& a : alerts) copy.push_back(a);
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_DispatcherPeerCopyAlerts)->Arg(100000)->Unit(benchmark::kMillisecond);

// The daemon's next day for the alert book: every alert matched again with a new summary (the
// working days from today), nothing else changed. Reports the heap bytes the book holds per alert.
// Peer: finding each alert's key once in a hash map of the keys, the least a round can cost.
std::vector<Match> next_day_matches(size_t count, std::vector<std::shared_ptr<const MatchText>>& texts, int day) {
  std::vector<Match> matches(count);
  texts.clear();
  for (size_t i = 0; i < count; ++i) {
    matches[i].key = "203-C" + std::to_string(100000 + i);
    matches[i].severity = Severity::Warning;
    matches[i].due_date = 20000 + static_cast<Day>(i % 30);
    texts.push_back(std::make_shared<const MatchText>(MatchText{
        {{"alertname", "cin_child_seen"}, {"key", matches[i].key}, {"severity", "warning"},
         {"team", "Child in Need " + std::to_string(i % 25)}, {"worker", "Worker, Number " + std::to_string(i % 900)}},
        {{"summary", "Child " + matches[i].key + " was last seen on 02/11/2026: the next visit is due by 30/11/2026, " +
                         std::to_string(day) + " working days from today"}}}));
  }
  return matches;
}

void BM_AlertBookNextDay(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  Rule rule;
  rule.spec.name = "cin_child_seen";
  std::vector<std::shared_ptr<const MatchText>> texts;
  const size_t heap_before = mallinfo2().uordblks;
  AlertBook book;
  {
    std::vector<Match> matches = next_day_matches(count, texts, 10);
    book.apply(rule, matches, texts, kDispatchNow);
    texts.clear();
  }
  const double bytes_per_alert = static_cast<double>(mallinfo2().uordblks - heap_before) / static_cast<double>(count);
  int day = 9;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Match> matches = next_day_matches(count, texts, day--);
    state.ResumeTiming();
    auto changes = book.apply(rule, matches, texts, kDispatchNow + 86400);
    benchmark::DoNotOptimize(changes);
  }
  state.counters["heap_bytes_per_alert"] = bytes_per_alert;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AlertBookNextDay)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_AlertBookPeerKeyLookups(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  std::vector<std::shared_ptr<const MatchText>> texts;
  const std::vector<Match> matches = next_day_matches(count, texts, 10);
  std::unordered_map<std::string, size_t> keys;
  for (size_t i = 0; i < count; ++i) keys.emplace(matches[i].key, i);
  for (auto _ : state) {
    size_t found = 0;
    for (const Match& m : matches) found += keys.find(m.key)->second;
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AlertBookPeerKeyLookups)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
