#include "web/auth.h"

#include "config/diagnostics.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace casewatch {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A file's content without trailing newlines or spaces; nullopt when it cannot be read.
std::optional<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  return secret;
}

// A bcrypt hash that matches nothing, checked for an unknown user when no user is configured.
constexpr const char* kDummyHash = "$2b$10$E81haD331sjOwPnaX125.u3nysItyWsXB5ItOz.ks/aAa5m1/FtT.";

// A bcrypt hash's cost ("$2b$12$..." is 12), or 0.
int bcrypt_cost(std::string_view hash) {
  if (hash.size() < 7 || !std::isdigit(static_cast<unsigned char>(hash[4])) || !std::isdigit(static_cast<unsigned char>(hash[5])))
    return 0;
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::Viewer: return "viewer";
    case Role::Manager: return "manager";
    case Role::Admin: return "admin";
    default: return "none";
  }
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "viewer") return Role::Viewer;
  if (text == "manager") return Role::Manager;
  if (text == "admin") return Role::Admin;
  return std::nullopt;
}

bool secret_equals(std::string_view presented, std::string_view expected) {
  // Every byte of the expected secret is compared whatever the presented one holds, so the time
  // taken says nothing about how much of it was right.
  unsigned char difference = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    difference |= static_cast<unsigned char>(p ^ static_cast<unsigned char>(expected[i]));
  }
  return difference == 0 && !expected.empty();
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out += static_cast<char>((bits >> 16) & 0xff);
      out += static_cast<char>((bits >> 8) & 0xff);
      out += static_cast<char>(bits & 0xff);
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) out += static_cast<char>((bits >> 4) & 0xff);
  if (count == 3) {
    out += static_cast<char>((bits >> 10) & 0xff);
    out += static_cast<char>((bits >> 2) & 0xff);
  }
  return out;
}

std::optional<Presented> parse_authorization(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  size_t space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  Presented p;
  p.scheme = std::string(header.substr(0, space));
  std::transform(p.scheme.begin(), p.scheme.end(), p.scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view rest = header.substr(space + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty()) return std::nullopt;
  if (p.scheme == "bearer") {
    p.token = std::string(rest);
    return p;
  }
  if (p.scheme == "basic") {
    auto decoded = base64_decode(rest);
    // A NUL would end the password where crypt() reads it: "pw\0anything" would pass as "pw".
    if (!decoded || decoded->find('\0') != std::string::npos) return std::nullopt;
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    p.user = decoded->substr(0, colon);
    p.password = decoded->substr(colon + 1);
    return p;
  }
  return std::nullopt;
}

std::shared_ptr<const Credentials> Credentials::load(const ServerConfig& server, Diagnostics& diagnostics) {
  auto credentials = std::make_shared<Credentials>();
  const size_t problems = diagnostics.size();
  auto add_token = [&](const std::string& name, const std::string& file, Role role) {
    auto secret = read_secret_file(file);
    if (!secret) diagnostics.error(file, "cannot read the token file");
    else if (secret->empty()) diagnostics.error(file, "the token file is empty");
    else credentials->tokens_.push_back({name, std::move(*secret), role});
  };
  // The original single token keeps working, as an admin token.
  if (!server.auth_token_file.empty()) add_token("admin", server.auth_token_file, Role::Admin);
  for (const TokenConfig& token : server.tokens) add_token(token.name, token.file, parse_role(token.role).value_or(Role::None));

  if (!server.users_file.empty()) {
    const std::string& path = server.users_file;
    auto at = [&](const toml::node& n, std::string message) {
      diagnostics.error(path, static_cast<int>(n.source().begin.line), static_cast<int>(n.source().begin.column),
                        std::move(message));
    };
    toml::table table;
    bool parsed = false;
    try {
      table = toml::parse_file(path);
      parsed = true;
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      if (where.line == 0) diagnostics.error(path, "cannot read the users file");
      else diagnostics.error(path, static_cast<int>(where.line), static_cast<int>(where.column), std::string(e.description()));
    }
    const toml::table* users = parsed ? table["users"].as_table() : nullptr;
    if (parsed && (!users || table.size() != 1))
      diagnostics.error(path, "expected only [users.NAME] tables, each with password_hash and role");
    static const toml::table kNone;
    for (const auto& [name, node] : users ? *users : kNone) {
      const std::string user_name(name.str());
      const toml::table* user = node.as_table();
      if (!user) {
        at(node, "user '" + user_name + "' must be a table with password_hash and role");
        continue;
      }
      auto hash = (*user)["password_hash"].value<std::string>();
      auto role = (*user)["role"].value<std::string>();
      bool ok = true;
      // At the value at fault, or at the user's table when the key is missing.
      auto place = [&](const char* key) -> const toml::node& {
        const toml::node* n = user->get(key);
        return n ? *n : static_cast<const toml::node&>(*user);
      };
      if (!hash || !(hash->starts_with("$2b$") || hash->starts_with("$2y$") || hash->starts_with("$2a$"))) {
        at(place("password_hash"), "user '" + user_name + "' needs a bcrypt password_hash (made by casewatch hash-password)");
        ok = false;
      }
      if (!role || !parse_role(*role)) {
        at(place("role"), "user '" + user_name + "' needs a role: viewer, manager or admin");
        ok = false;
      }
      for (const auto& [key, value] : *user)
        if (key != "password_hash" && key != "role") {
          at(value, "unknown key '" + std::string(key.str()) + "' for user '" + user_name + "'");
          ok = false;
        }
      if (ok) credentials->users_[user_name] = {*hash, *parse_role(*role)};
    }
  }
  // An unknown user's password is checked against the costliest configured hash (the answer is
  // no whatever it says), so that an unknown name takes as long as the slowest known one.
  credentials->stand_in_hash_ = credentials->users_.empty() ? kDummyHash : credentials->users_.begin()->second.hash;
  for (const auto& [name, user] : credentials->users_)
    if (bcrypt_cost(user.hash) > bcrypt_cost(credentials->stand_in_hash_)) credentials->stand_in_hash_ = user.hash;
  if (RAND_bytes(credentials->cache_key_.data(), static_cast<int>(credentials->cache_key_.size())) != 1)
    diagnostics.error("casewatch", "cannot draw a random key");
  if (diagnostics.size() != problems) return nullptr;
  return credentials;
}

std::optional<Principal> Credentials::by_token(std::string_view token) const {
  // Every token is compared, in constant time each: the time taken depends on how many there
  // are, never on which (or how much of one) was presented.
  const Token* found = nullptr;
  for (const Token& t : tokens_)
    if (secret_equals(token, t.secret) && !found) found = &t;
  if (!found) return std::nullopt;
  return Principal{found->name, found->role, false};
}

int Credentials::unknown_user_cost() const { return bcrypt_cost(stand_in_hash_); }

std::string Credentials::remembered_key(std::string_view user, std::string_view password) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  std::string presented = std::string(user) + '\0' + std::string(password);
  HMAC(EVP_sha256(), cache_key_.data(), static_cast<int>(cache_key_.size()),
       reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::optional<Principal> Credentials::remembered(std::string_view user, std::string_view password) const {
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  const std::string key = remembered_key(user, password);
  std::lock_guard lock(cache_mutex_);
  auto cached = verified_.find(key);
  if (cached == verified_.end() || cached->second <= SteadyClock::now()) return std::nullopt;
  return Principal{std::string(user), it->second.role, true};
}

std::optional<Principal> Credentials::by_password(std::string_view user, std::string_view password) const {
  if (auto principal = remembered(user, password)) return principal;
  auto it = users_.find(user);
  const std::string& hash = it == users_.end() ? stand_in_hash_ : it->second.hash;
  crypt_data data{};
  const std::string phrase(password);
  const char* result = crypt_r(phrase.c_str(), hash.c_str(), &data);
  const bool ok = result && result[0] != '*' && secret_equals(result, hash) && it != users_.end();
  if (!ok) return std::nullopt;
  std::lock_guard lock(cache_mutex_);
  if (verified_.size() > 1000) verified_.clear();
  verified_[remembered_key(user, password)] = SteadyClock::now() + std::chrono::minutes(5);
  return Principal{std::string(user), it->second.role, true};
}

std::string bcrypt_hash(const std::string& password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // No random bytes given: libxcrypt draws them from the system's secure source.
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt)) return "";
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), salt, &data);
  if (!hash || hash[0] == '*') return "";
  return hash;
}

}  // namespace casewatch
