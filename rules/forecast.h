// What falls due if nothing is done: for each day ahead, the deadline rules' records whose due
// date is that day. Pure, like the engine: snapshots and days in, counts out.
#pragma once

#include <string>
#include <vector>

#include "rules/engine.h"

namespace casewatch {

struct ForecastCount {
  Day day = kNullDay;
  std::string team;    // the alert's `team` label ("" without one)
  std::string worker;  // its `worker` label
  std::string rule;
  size_t count = 0;
};

// For every day of [from, to]: the deadline matches due that day and not done, as the rules see
// them the day after (each would then be overdue by a day). `input.as_of` is ignored. Sorted by
// day, team, worker, rule. Only the matches due on one of the days are built (evaluate_due_on).
std::vector<ForecastCount> forecast(const EvaluationInput& input, Day from, Day to);

}  // namespace casewatch
