// The differential test's judge: runs a random case through the engine (as `eval` runs it,
// without a cache, and as the daemon runs it, with one EvaluationCache kept across the as-of
// steps) and through the reference evaluator, and says where they disagree. Thread-safe.
#pragma once

#include <string>

#include "tests/reference/random_case.h"

namespace casewatch::difftest {

// "" when the engine and the reference agree on every step: the records each snapshot accepts,
// and every match (rule, key, severity, due date, value, labels, annotations) and every group's
// value. Otherwise an account of the first disagreement, with the case.
std::string run_case(const Case& c);

}  // namespace casewatch::difftest
