#include "rules/template.h"

#include <algorithm>

namespace casewatch {

std::optional<Template> Template::compile(std::string_view source, const Scope& scope,
                                          std::vector<ExprError>& errors) {
  Template result;
  size_t before = errors.size();
  size_t pos = 0;
  while (pos < source.size()) {
    size_t open = source.find("{{", pos);
    if (open == std::string_view::npos) {
      result.parts_.push_back({std::string(source.substr(pos)), std::nullopt});
      break;
    }
    if (open > pos) result.parts_.push_back({std::string(source.substr(pos, open - pos)), std::nullopt});
    size_t close = source.find("}}", open + 2);
    if (close == std::string_view::npos) {
      errors.push_back({open, "'{{' without a matching '}}'"});
      break;
    }
    std::string_view inner = source.substr(open + 2, close - open - 2);
    std::vector<ExprError> inner_errors;
    auto expression = Expression::compile(inner, scope, inner_errors);
    for (auto& e : inner_errors) errors.push_back({e.offset + open + 2, std::move(e.message)});
    if (expression) result.parts_.push_back({"", std::move(expression)});
    pos = close + 2;
  }
  if (errors.size() != before) return std::nullopt;
  return result;
}

std::vector<size_t> Template::fields_read() const {
  std::vector<size_t> out;
  for (const auto& part : parts_)
    if (part.expression) out.insert(out.end(), part.expression->fields_read().begin(), part.expression->fields_read().end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string Template::render(const EvalContext& context) const {
  std::string out;
  render_to(context, out);
  return out;
}

void Template::render_to(const EvalContext& context, std::string& out) const {
  for (const auto& part : parts_) {
    if (!part.expression) {
      out += part.text;
      continue;
    }
    const Value value = part.expression->eval(context);
    if (value.type == Type::String) out += value.text;  // most fields: no string made on the way
    else out += value_to_text(value);
  }
}

}  // namespace casewatch
