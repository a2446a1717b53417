// casewatch-gen: writes deterministic synthetic CSV extracts for examples/improvement-plan and
// for benchmarks. Same arguments, same bytes.
//
//   casewatch-gen --profile la|england --as-of YYYY-MM-DD --seed N --out DIR

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/gen/generator.h"
#include "tools/gen/workdays.h"

int main(int argc, char** argv) {
  using namespace casewatch::gen;
  CLI::App app{"casewatch-gen: deterministic synthetic children's social care extracts"};
  std::string profile = "la", as_of, out_dir;
  uint64_t seed = 1;
  bool quiet = false;
  app.add_option("--profile", profile, "la: one local authority; england: all 152")
      ->check(CLI::IsMember({"la", "england"}));
  app.add_option("--as-of", as_of, "the extract date, YYYY-MM-DD")->required();
  app.add_option("--seed", seed, "random seed (default 1)");
  app.add_option("--out", out_dir, "output folder (created if missing)")->required();
  app.add_flag("-q,--quiet", quiet, "print nothing on success");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return e.get_exit_code() == 0 ? code : 2;
  }

  GenOptions options;
  options.profile = profile == "england" ? Profile::kEngland : Profile::kLocalAuthority;
  options.seed = seed;
  options.out_dir = out_dir;
  const auto day = parse_iso(as_of);
  if (!day || civil_from_days(*day).year < 2000 || civil_from_days(*day).year > 2035) {
    std::fprintf(stderr, "casewatch-gen: error: --as-of must be a date YYYY-MM-DD between 2000 and 2035\n");
    return 2;
  }
  options.as_of = *day;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "casewatch-gen: error: cannot create %s: %s\n", out_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }

  std::vector<FileStats> stats;
  const std::string error = generate(options, stats);
  if (!error.empty()) {
    std::fprintf(stderr, "casewatch-gen: error: %s\n", error.c_str());
    return 1;
  }
  if (!quiet) {
    uint64_t rows = 0, bytes = 0;
    for (const FileStats& s : stats) {
      std::fprintf(stderr, "%-48s %9llu rows %12llu bytes %6llu malformed\n", s.path.c_str(),
                   static_cast<unsigned long long>(s.rows), static_cast<unsigned long long>(s.bytes),
                   static_cast<unsigned long long>(s.malformed_rows));
      rows += s.rows;
      bytes += s.bytes;
    }
    std::fprintf(stderr, "%-48s %9llu rows %12llu bytes\n", "total", static_cast<unsigned long long>(rows),
                 static_cast<unsigned long long>(bytes));
  }
  return 0;
}
