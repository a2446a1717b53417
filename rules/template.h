// Templates: text with {{ EXPRESSION }} parts, compiled once. Immutable after compile.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/expr.h"

namespace casewatch {

class Template {
 public:
  // Errors carry offsets into `source` (the whole template text).
  static std::optional<Template> compile(std::string_view source, const Scope& scope,
                                         std::vector<ExprError>& errors);
  std::string render(const EvalContext& context) const;
  // Appends the rendered text to `out`: one buffer serves a match's labels and annotations.
  void render_to(const EvalContext& context, std::string& out) const;
  bool is_constant() const { return parts_.size() <= 1 && (parts_.empty() || !parts_[0].expression); }
  // The schema fields its expressions read.
  std::vector<size_t> fields_read() const;

 private:
  struct Part {
    std::string text;                       // literal text, or
    std::optional<Expression> expression;   // an expression to print
  };
  std::vector<Part> parts_;
};

}  // namespace casewatch
