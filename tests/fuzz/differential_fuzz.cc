// libFuzzer target: the fuzzer's bytes choose a random case (feeds, rules, as-of steps) and the
// engine must agree with the reference evaluator on it; a disagreement aborts with its account.
#include <cstdio>
#include <cstdlib>

#include "tests/reference/differential.h"
#include "tests/reference/random_case.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  casewatch::difftest::Random random(data, size);
  casewatch::difftest::Case c = casewatch::difftest::make_case(random);
  std::string disagreement = casewatch::difftest::run_case(c);
  if (!disagreement.empty()) {
    std::fprintf(stderr, "%s\n", disagreement.c_str());
    std::abort();
  }
  return 0;
}
