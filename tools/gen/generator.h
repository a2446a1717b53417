// casewatch-gen's synthetic children's social care data: one local authority ("la") or all 152
// in England ("england"), written as the CSV extracts that examples/improvement-plan reads.
// Everything comes from the seed and the as-of date: no clock, no unordered iteration, our own
// PRNG and distributions, so the same arguments give the same bytes. Single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/gen/workdays.h"

namespace casewatch::gen {

enum class Profile { kLocalAuthority, kEngland };

struct GenOptions {
  Profile profile = Profile::kLocalAuthority;
  Day as_of = kNoDay;
  uint64_t seed = 1;
  std::string out_dir;
};

struct FileStats {
  std::string path;
  uint64_t rows = 0;
  uint64_t bytes = 0;
  uint64_t malformed_rows = 0;  // rows with a deliberately malformed date cell
};

// Writes every feed's CSV into options.out_dir (which must exist). Returns "" on success, else a
// message naming the file that could not be written.
std::string generate(const GenOptions& options, std::vector<FileStats>& stats);

}  // namespace casewatch::gen
