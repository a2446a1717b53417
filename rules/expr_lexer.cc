#include <cctype>
#include <charconv>

#include "rules/expr_ast.h"

namespace casewatch {

std::string_view token_kind_name(TokenKind kind) {
  switch (kind) {
    case TokenKind::End: return "end of expression";
    case TokenKind::Number: return "number";
    case TokenKind::String: return "string";
    case TokenKind::Identifier: return "name";
    case TokenKind::True: return "'true'";
    case TokenKind::False: return "'false'";
    case TokenKind::Null: return "'null'";
    case TokenKind::Or: return "'||'";
    case TokenKind::And: return "'&&'";
    case TokenKind::Not: return "'!'";
    case TokenKind::In: return "'in'";
    case TokenKind::Equal: return "'=='";
    case TokenKind::NotEqual: return "'!='";
    case TokenKind::Less: return "'<'";
    case TokenKind::LessEqual: return "'<='";
    case TokenKind::Greater: return "'>'";
    case TokenKind::GreaterEqual: return "'>='";
    case TokenKind::Plus: return "'+'";
    case TokenKind::Minus: return "'-'";
    case TokenKind::Star: return "'*'";
    case TokenKind::Slash: return "'/'";
    case TokenKind::LeftParen: return "'('";
    case TokenKind::RightParen: return "')'";
    case TokenKind::LeftBracket: return "'['";
    case TokenKind::RightBracket: return "']'";
    case TokenKind::Comma: return "','";
    case TokenKind::Error: return "error";
  }
  return "?";
}

namespace {

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

Token error_token(size_t offset, std::string message) {
  Token t;
  t.kind = TokenKind::Error;
  t.offset = offset;
  t.text = std::move(message);
  return t;
}

}  // namespace

// Returns the tokens, ending with End; a lexical error ends the list with an Error token.
std::vector<Token> lex_expression(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  auto push = [&](TokenKind kind, size_t length) {
    Token t;
    t.kind = kind;
    t.offset = i;
    t.length = length;
    tokens.push_back(std::move(t));
    i += length;
  };
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size()) break;
    char c = s[i];
    char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && std::isdigit(static_cast<unsigned char>(next)))) {
      size_t start = i;
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          i = j;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        }
      }
      Token t;
      t.kind = TokenKind::Number;
      t.offset = start;
      t.length = i - start;
      auto [ptr, ec] = std::from_chars(s.data() + start, s.data() + i, t.number);
      if (ec != std::errc() || ptr != s.data() + i) {
        tokens.push_back(error_token(start, "malformed number '" + std::string(s.substr(start, i - start)) + "'"));
        return tokens;
      }
      if (i < s.size() && is_name_start(s[i])) {
        tokens.push_back(error_token(i, "unexpected character '" + std::string(1, s[i]) + "' after a number"));
        return tokens;
      }
      tokens.push_back(std::move(t));
      continue;
    }
    if (is_name_start(c)) {
      size_t start = i;
      while (i < s.size() && is_name_char(s[i])) ++i;
      std::string_view word = s.substr(start, i - start);
      Token t;
      t.offset = start;
      t.length = word.size();
      if (word == "true") t.kind = TokenKind::True;
      else if (word == "false") t.kind = TokenKind::False;
      else if (word == "null") t.kind = TokenKind::Null;
      else if (word == "and") t.kind = TokenKind::And;
      else if (word == "or") t.kind = TokenKind::Or;
      else if (word == "not") t.kind = TokenKind::Not;
      else if (word == "in") t.kind = TokenKind::In;
      else { t.kind = TokenKind::Identifier; t.text = std::string(word); }
      tokens.push_back(std::move(t));
      continue;
    }
    if (c == '\'' || c == '"') {
      size_t start = i;
      std::string text;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char ch = s[i];
        if (ch == c) { closed = true; ++i; break; }
        if (ch == '\\' && i + 1 < s.size()) {
          char e = s[i + 1];
          switch (e) {
            case 'n': text += '\n'; break;
            case 't': text += '\t'; break;
            case '\\': case '\'': case '"': text += e; break;
            default:
              tokens.push_back(error_token(i, std::string("unknown escape '\\") + e + "' in string"));
              return tokens;
          }
          i += 2;
          continue;
        }
        text += ch;
        ++i;
      }
      if (!closed) {
        tokens.push_back(error_token(start, "unterminated string"));
        return tokens;
      }
      Token t;
      t.kind = TokenKind::String;
      t.offset = start;
      t.length = i - start;
      t.text = std::move(text);
      tokens.push_back(std::move(t));
      continue;
    }
    switch (c) {
      case '|':
        if (next == '|') { push(TokenKind::Or, 2); continue; }
        break;
      case '&':
        if (next == '&') { push(TokenKind::And, 2); continue; }
        break;
      case '!': push(next == '=' ? TokenKind::NotEqual : TokenKind::Not, next == '=' ? 2 : 1); continue;
      case '=':
        if (next == '=') { push(TokenKind::Equal, 2); continue; }
        tokens.push_back(error_token(i, "unexpected '=' (use '==' to compare)"));
        return tokens;
      case '<': push(next == '=' ? TokenKind::LessEqual : TokenKind::Less, next == '=' ? 2 : 1); continue;
      case '>': push(next == '=' ? TokenKind::GreaterEqual : TokenKind::Greater, next == '=' ? 2 : 1); continue;
      case '+': push(TokenKind::Plus, 1); continue;
      case '-': push(TokenKind::Minus, 1); continue;
      case '*': push(TokenKind::Star, 1); continue;
      case '/': push(TokenKind::Slash, 1); continue;
      case '(': push(TokenKind::LeftParen, 1); continue;
      case ')': push(TokenKind::RightParen, 1); continue;
      case '[': push(TokenKind::LeftBracket, 1); continue;
      case ']': push(TokenKind::RightBracket, 1); continue;
      case ',': push(TokenKind::Comma, 1); continue;
      default: break;
    }
    tokens.push_back(error_token(i, "unexpected character '" + std::string(1, c) + "'"));
    return tokens;
  }
  Token end;
  end.kind = TokenKind::End;
  end.offset = s.size();
  tokens.push_back(end);
  return tokens;
}

}  // namespace casewatch
