#include "rules/forecast.h"

#include <map>
#include <tuple>

#include "rules/parallel.h"

namespace casewatch {

std::vector<ForecastCount> forecast(const EvaluationInput& input, Day from, Day to) {
  // The deadline windows are worked out once for all the days (kept in the caller's cache when
  // it has one).
  EvaluationCache local(input.rules.size());
  EvaluationInput with_cache = input;
  if (!with_cache.cache) with_cache.cache = &local;
  std::vector<EvaluationResult> each(input.rules.size());
  parallel_for_each(evaluation_order(input), [&](size_t r) {
    for (Day day = from; day <= to; ++day) evaluate_due_on(with_cache, r, day, each[r]);
  });
  std::map<std::tuple<Day, std::string, std::string, std::string>, size_t> counts;
  for (const EvaluationResult& result : each)
    for (const Match& m : result.matches) {
      const MatchText text = match_text(with_cache, m);
      ++counts[{m.due_date, std::string(text.labels.value_or_empty("team")),
                std::string(text.labels.value_or_empty("worker")), input.rules[m.rule].spec.name}];
    }
  std::vector<ForecastCount> out;
  out.reserve(counts.size());
  for (const auto& [k, n] : counts) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), n});
  return out;
}

}  // namespace casewatch
