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
  // Each rule's matches are counted on its own core, reading only the two labels counted by.
  using Count = std::map<std::tuple<Day, std::string, std::string>, size_t>;  // day, team, worker
  std::vector<Count> each(input.rules.size());
  parallel_for_each(evaluation_order(input), [&](size_t r) {
    EvaluationResult result;
    for (Day day = from; day <= to; ++day) evaluate_due_on(with_cache, r, day, result);
    for (const Match& m : result.matches)
      ++each[r][{m.due_date, match_label(with_cache, m, "team"), match_label(with_cache, m, "worker")}];
  });
  std::map<std::tuple<Day, std::string, std::string, std::string>, size_t> counts;
  for (size_t r = 0; r < each.size(); ++r)
    for (const auto& [k, n] : each[r])
      counts[{std::get<0>(k), std::get<1>(k), std::get<2>(k), input.rules[r].spec.name}] += n;
  std::vector<ForecastCount> out;
  out.reserve(counts.size());
  for (const auto& [k, n] : counts) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), n});
  return out;
}

}  // namespace casewatch
