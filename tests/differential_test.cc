// The differential test: thousands of random cases (feeds with nulls, bad cells and dates around
// bank holidays, month ends and leap days; rules of every kind using every function in every
// place an expression can stand; as-of dates moving forward and back with snapshot changes)
// through the engine, with and without a kept EvaluationCache, and through the naive reference
// evaluator of tests/reference/. Every optimisation of the engine is only as trusted as this.
//
// CASEWATCH_DIFFERENTIAL_CASES sets the number of cases (default 3000, 300 under the sanitizers)
// and CASEWATCH_DIFFERENTIAL_SEED the first seed (default 1), for longer runs by hand.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tests/reference/differential.h"
#include "tests/reference/random_case.h"

namespace casewatch::difftest {
namespace {

uint64_t setting(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

TEST(Differential, EngineAgreesWithTheReferenceEvaluator) {
  const uint64_t cases = setting("CASEWATCH_DIFFERENTIAL_CASES", CASEWATCH_DIFFERENTIAL_CASES_DEFAULT);
  const uint64_t first = setting("CASEWATCH_DIFFERENTIAL_SEED", 1);
  size_t steps = 0, rules = 0;
  for (uint64_t seed = first; seed < first + cases; ++seed) {
    Random random(seed);
    Case c = make_case(random);
    c.seed = seed;
    steps += c.steps.size();
    rules += c.rules.size();
    std::string disagreement = run_case(c);
    ASSERT_TRUE(disagreement.empty()) << disagreement << "(rerun with CASEWATCH_DIFFERENTIAL_SEED=" << seed
                                      << " CASEWATCH_DIFFERENTIAL_CASES=1)";
  }
  RecordProperty("cases", static_cast<int>(cases));
  std::printf("%llu cases, %zu rules, %zu as-of steps agreed\n", static_cast<unsigned long long>(cases), rules, steps);
}

// The generator itself: the same seed makes the same case, so that a failure can be replayed.
TEST(Differential, CasesAreReproducible) {
  Random a(42), b(42);
  EXPECT_EQ(describe(make_case(a), 0), describe(make_case(b), 0));
}

}  // namespace
}  // namespace casewatch::difftest
