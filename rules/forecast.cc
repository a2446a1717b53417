#include "rules/forecast.h"

#include <map>
#include <tuple>

namespace casewatch {

std::vector<ForecastCount> forecast(const EvaluationInput& input, Day from, Day to) {
  std::map<std::tuple<Day, std::string, std::string, std::string>, size_t> counts;
  auto label = [](const Match& m, const char* name) {
    auto it = m.labels.find(name);
    return it == m.labels.end() ? std::string() : it->second;
  };
  for (Day day = from; day <= to; ++day) {
    // Evaluated the day after: a deadline due on `day` and not done is then overdue, whatever
    // its warning window (a rule without warn_before says nothing on the due day itself).
    EvaluationInput next = input;
    next.as_of = day + 1;
    EvaluationResult result;
    for (size_t r = 0; r < input.rules.size(); ++r) {
      const Rule& rule = input.rules[r];
      if (rule.spec.kind != RuleKind::Deadline || !rule.spec.enabled || !input.feeds[rule.feed]) continue;
      evaluate_rule(next, r, result);
    }
    for (const Match& m : result.matches)
      if (m.due_date == day) ++counts[{day, label(m, "team"), label(m, "worker"), input.rules[m.rule].spec.name}];
  }
  std::vector<ForecastCount> out;
  out.reserve(counts.size());
  for (const auto& [k, n] : counts) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), n});
  return out;
}

}  // namespace casewatch
