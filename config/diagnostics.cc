#include "config/diagnostics.h"

namespace casewatch {

std::string Diagnostic::format() const {
  if (line > 0) return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: " + message;
  return file + ": error: " + message;
}

void Diagnostics::error(std::string file, int line, int column, std::string message) {
  items_.push_back({std::move(file), line, column, std::move(message)});
}

void Diagnostics::error(std::string file, std::string message) {
  items_.push_back({std::move(file), 0, 0, std::move(message)});
}

void Diagnostics::print(std::ostream& out) const {
  for (const auto& d : items_) out << d.format() << '\n';
}

}  // namespace casewatch
