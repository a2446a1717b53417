// Problems found in config, rule, test and data files, collected so that every one is reported,
// not only the first. Not thread-safe: one collector per load.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace casewatch {

struct Diagnostic {
  std::string file;
  int line = 0;    // 0: no position
  int column = 0;
  std::string message;

  // "FILE:LINE:COL: error: MESSAGE", or "FILE: error: MESSAGE" without a position.
  std::string format() const;
};

class Diagnostics {
 public:
  void error(std::string file, int line, int column, std::string message);
  void error(std::string file, std::string message);
  void add(Diagnostic diagnostic) { items_.push_back(std::move(diagnostic)); }

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // One per line, in the order found.
  void print(std::ostream& out) const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace casewatch
