// Recursive descent, one function per precedence level, loosest first:
// || , && , ! , comparisons , in , + - , * / , unary - , primary.
#include "rules/expr_ast.h"

#include <algorithm>

namespace casewatch {
namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, std::vector<ExprError>& errors)
      : tokens_(tokens), errors_(errors) {}

  std::unique_ptr<Node> parse() {
    auto node = parse_or();
    if (!node) return nullptr;
    if (peek().kind != TokenKind::End) return fail(peek(), "unexpected " + describe(peek()));
    return node;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool accept(TokenKind kind) {
    if (peek().kind != kind) return false;
    advance();
    return true;
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::Identifier: return "name '" + t.text + "'";
      case TokenKind::String: return "string";
      case TokenKind::Number: return "number";
      default: return std::string(token_kind_name(t.kind));
    }
  }

  std::unique_ptr<Node> fail(const Token& at, std::string message) {
    if (!failed_) {
      // A lexical error is the real cause: report it rather than what the parser saw after.
      if (at.kind == TokenKind::Error) errors_.push_back({at.offset, at.text});
      else errors_.push_back({at.offset, std::move(message)});
    }
    failed_ = true;
    return nullptr;
  }

  static std::unique_ptr<Node> make(NodeKind kind, size_t offset) {
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->offset = offset;
    return node;
  }

  std::unique_ptr<Node> binary(TokenKind op, size_t offset, std::unique_ptr<Node> l, std::unique_ptr<Node> r) {
    auto node = make(NodeKind::Binary, offset);
    node->op = op;
    node->children.push_back(std::move(l));
    node->children.push_back(std::move(r));
    return measured(std::move(node));
  }

  // Sets the node's height from its children's, and refuses a tree that grew too deep.
  std::unique_ptr<Node> measured(std::unique_ptr<Node> node) {
    for (const auto& child : node->children) node->height = std::max(node->height, child->height + 1);
    if (node->height > kMaxExprDepth) return too_deep(node->offset);
    return node;
  }
  std::unique_ptr<Node> too_deep(size_t offset) {
    Token at;
    at.offset = offset;
    return fail(at, "the expression nests more than " + std::to_string(kMaxExprDepth) +
                        " levels deep (a long chain of || is one level each: use 'in [...]')");
  }

  // Counts the parser's own recursion (parentheses, unary operators, lists, calls), which builds
  // no node of its own for parentheses.
  struct Nesting {
    explicit Nesting(Parser& p) : parser(p) { ++parser.nesting_; }
    ~Nesting() { --parser.nesting_; }
    bool too_deep() const { return parser.nesting_ > kMaxExprDepth; }
    Parser& parser;
  };

  std::unique_ptr<Node> parse_or() {
    Nesting nesting(*this);
    if (nesting.too_deep()) return too_deep(peek().offset);
    auto left = parse_and();
    while (left && peek().kind == TokenKind::Or) {
      size_t offset = advance().offset;
      auto right = parse_and();
      if (!right) return nullptr;
      left = binary(TokenKind::Or, offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> parse_and() {
    auto left = parse_not();
    while (left && peek().kind == TokenKind::And) {
      size_t offset = advance().offset;
      auto right = parse_not();
      if (!right) return nullptr;
      left = binary(TokenKind::And, offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> parse_not() {
    if (peek().kind == TokenKind::Not) {
      Nesting nesting(*this);
      if (nesting.too_deep()) return too_deep(peek().offset);
      size_t offset = advance().offset;
      auto operand = parse_not();
      if (!operand) return nullptr;
      auto node = make(NodeKind::Unary, offset);
      node->op = TokenKind::Not;
      node->children.push_back(std::move(operand));
      return measured(std::move(node));
    }
    return parse_comparison();
  }

  static bool is_comparison(TokenKind k) {
    return k == TokenKind::Equal || k == TokenKind::NotEqual || k == TokenKind::Less ||
           k == TokenKind::LessEqual || k == TokenKind::Greater || k == TokenKind::GreaterEqual;
  }

  std::unique_ptr<Node> parse_comparison() {
    auto left = parse_in();
    if (left && is_comparison(peek().kind)) {
      const Token& op = advance();
      size_t offset = op.offset;
      auto right = parse_in();
      if (!right) return nullptr;
      left = binary(op.kind, offset, std::move(left), std::move(right));
      // a < b < c is almost always a mistake; make the author say what they mean.
      if (is_comparison(peek().kind)) return fail(peek(), "comparisons cannot be chained; use && between them");
    }
    return left;
  }

  std::unique_ptr<Node> parse_in() {
    auto left = parse_additive();
    if (left && peek().kind == TokenKind::In) {
      size_t offset = advance().offset;
      auto right = parse_additive();
      if (!right) return nullptr;
      left = binary(TokenKind::In, offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> parse_additive() {
    auto left = parse_multiplicative();
    while (left && (peek().kind == TokenKind::Plus || peek().kind == TokenKind::Minus)) {
      size_t offset = peek().offset;
      TokenKind op = advance().kind;
      auto right = parse_multiplicative();
      if (!right) return nullptr;
      left = binary(op, offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> parse_multiplicative() {
    auto left = parse_unary();
    while (left && (peek().kind == TokenKind::Star || peek().kind == TokenKind::Slash)) {
      size_t offset = peek().offset;
      TokenKind op = advance().kind;
      auto right = parse_unary();
      if (!right) return nullptr;
      left = binary(op, offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> parse_unary() {
    if (peek().kind == TokenKind::Minus) {
      Nesting nesting(*this);
      if (nesting.too_deep()) return too_deep(peek().offset);
      size_t offset = advance().offset;
      auto operand = parse_unary();
      if (!operand) return nullptr;
      if (operand->kind == NodeKind::Literal && operand->literal.type == Type::Number) {
        operand->literal.number = -operand->literal.number;
        operand->offset = offset;
        return operand;
      }
      auto node = make(NodeKind::Unary, offset);
      node->op = TokenKind::Minus;
      node->children.push_back(std::move(operand));
      return measured(std::move(node));
    }
    return parse_primary();
  }

  std::unique_ptr<Node> parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::Number: {
        advance();
        auto node = make(NodeKind::Literal, t.offset);
        node->literal = Value::of_number(t.number);
        return node;
      }
      case TokenKind::String: {
        advance();
        auto node = make(NodeKind::Literal, t.offset);
        node->owned_text = t.text;
        node->literal = Value::of_string(node->owned_text);  // Node is heap-allocated: stable
        return node;
      }
      case TokenKind::True:
      case TokenKind::False: {
        advance();
        auto node = make(NodeKind::Literal, t.offset);
        node->literal = Value::of_bool(t.kind == TokenKind::True);
        return node;
      }
      case TokenKind::Null:
        advance();
        return make(NodeKind::Literal, t.offset);
      case TokenKind::LeftParen: {
        advance();
        auto inner = parse_or();
        if (!inner) return nullptr;
        if (!accept(TokenKind::RightParen)) return fail(peek(), "expected ')' but found " + describe(peek()));
        return inner;
      }
      case TokenKind::LeftBracket: {
        advance();
        auto node = make(NodeKind::List, t.offset);
        if (!accept(TokenKind::RightBracket)) {
          do {
            auto item = parse_or();
            if (!item) return nullptr;
            node->children.push_back(std::move(item));
          } while (accept(TokenKind::Comma));
          if (!accept(TokenKind::RightBracket)) return fail(peek(), "expected ',' or ']' but found " + describe(peek()));
        }
        return measured(std::move(node));
      }
      case TokenKind::Identifier: {
        advance();
        if (peek().kind != TokenKind::LeftParen) {
          auto node = make(NodeKind::Field, t.offset);
          node->name = t.text;
          return node;
        }
        advance();
        auto node = make(NodeKind::Call, t.offset);
        node->name = t.text;
        if (!accept(TokenKind::RightParen)) {
          do {
            auto arg = parse_or();
            if (!arg) return nullptr;
            node->children.push_back(std::move(arg));
          } while (accept(TokenKind::Comma));
          if (!accept(TokenKind::RightParen)) return fail(peek(), "expected ',' or ')' but found " + describe(peek()));
        }
        return measured(std::move(node));
      }
      case TokenKind::End:
        return fail(t, "unexpected end of expression");
      default:
        return fail(t, "unexpected " + describe(t));
    }
  }

  const std::vector<Token>& tokens_;
  std::vector<ExprError>& errors_;
  size_t pos_ = 0;
  bool failed_ = false;
  size_t nesting_ = 0;
};

}  // namespace

std::unique_ptr<Node> parse_expression(const std::vector<Token>& tokens, std::vector<ExprError>& errors) {
  return Parser(tokens, errors).parse();
}

}  // namespace casewatch
