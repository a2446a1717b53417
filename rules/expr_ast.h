// The expression language's tokens and syntax tree, shared by the lexer, parser, checker and
// evaluator. Internal to rules/.
#pragma once

#include <memory>
#include <re2/re2.h>
#include <string>
#include <vector>

#include "rules/expr.h"

namespace casewatch {

enum class TokenKind {
  End, Number, String, Identifier, True, False, Null,
  Or, And, Not, In,
  Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual,
  Plus, Minus, Star, Slash,
  LeftParen, RightParen, LeftBracket, RightBracket, Comma,
  Error,
};

struct Token {
  TokenKind kind = TokenKind::End;
  size_t offset = 0;
  size_t length = 0;
  std::string text;   // identifier name, decoded string literal, or error message
  double number = 0;
};

std::vector<Token> lex_expression(std::string_view source);
std::string_view token_kind_name(TokenKind kind);

enum class Function {
  Today, Date, DaysBetween, WorkingDaysBetween, AddDays, AddWorkingDays, AddMonths, AgeYears,
  Coalesce, IsNull, Lower, Upper, Contains, StartsWith, Matches, Lookup, FormatDate, Round,
  // aggregates
  Count, Sum, Avg, Min, Max, Ratio, CountDistinct, MaxCount, CountAtLeast,
};

enum class NodeKind { Literal, Field, Variable, List, Unary, Binary, Call, Aggregate };

// How deep an expression may nest (parentheses, operators, calls, a chain of || or +): the
// checker and the evaluator walk the tree recursively, and a config must never exhaust a stack.
inline constexpr size_t kMaxExprDepth = 256;

struct Node {
  NodeKind kind = NodeKind::Literal;
  size_t offset = 0;  // where the node starts in the source, for errors
  size_t height = 1;  // of the tree below and including this node
  StaticType type;

  Value literal;                               // Literal
  std::string name;                            // Field, Variable, Call: the identifier
  size_t slot = 0;                             // Field: schema field; Variable: slot; Aggregate: slot
  TokenKind op = TokenKind::End;               // Unary, Binary
  Function function = Function::Today;         // Call, Aggregate
  std::vector<std::unique_ptr<Node>> children;
  std::vector<Value> list_values;              // List of constants (owned by the node)
  std::string owned_text;                      // storage for a string literal's text
  std::shared_ptr<const RE2> regex;            // matches(): compiled once, linear-time matching
};

// Parses tokens into a tree; on a syntax error returns null and appends one error.
std::unique_ptr<Node> parse_expression(const std::vector<Token>& tokens, std::vector<ExprError>& errors);

// Resolves names and checks types; fills node types, slots and aggregate calls.
void check_expression(Node& root, const Scope& scope, std::vector<AggregateCall>& aggregates,
                      std::vector<ExprError>& errors);

Value eval_node(const Node& node, const EvalContext& context);

}  // namespace casewatch
