// Who may use the HTTP API: users for people (names and bcrypt password hashes in a file, like
// Prometheus' basic_auth_users), bearer tokens for machines (each in a file of its own), each
// with a role. Every comparison of a secret takes the same time whatever it holds.
// Credentials are immutable once loaded (a reload loads them again); thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace casewatch {

// viewer: the status page, alerts, rules, feeds, silences; manager: also silences and
// acknowledgements; admin: also reload.
enum class Role { None = 0, Viewer = 1, Manager = 2, Admin = 3 };
std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view text);

struct Principal {
  std::string name;
  Role role = Role::None;
  bool signed_in_with_password = false;  // a person in a browser, not a token
};

class Credentials {
 public:
  // Reads the token files and the users file named by `server`; null, with the problems (naming
  // the file and place, never a secret), when one is missing or malformed.
  static std::shared_ptr<const Credentials> load(const ServerConfig& server, Diagnostics& diagnostics);

  bool empty() const { return tokens_.empty() && users_.empty(); }
  bool has_users() const { return !users_.empty(); }
  // The bcrypt cost an unknown user's password is checked at: the highest configured.
  int unknown_user_cost() const;
  bool has_tokens() const { return !tokens_.empty(); }

  std::optional<Principal> by_token(std::string_view token) const;
  // bcrypt is slow on purpose: the first check of a password takes tens of milliseconds; a
  // password checked right is remembered (as a keyed hash, never in clear) for five minutes.
  std::optional<Principal> by_password(std::string_view user, std::string_view password) const;
  // A password checked right in the last five minutes, without hashing: fast.
  std::optional<Principal> remembered(std::string_view user, std::string_view password) const;

 private:
  struct Token {
    std::string name, secret;
    Role role;
  };
  struct User {
    std::string hash;
    Role role;
  };
  std::string remembered_key(std::string_view user, std::string_view password) const;

  std::vector<Token> tokens_;
  std::map<std::string, User, std::less<>> users_;
  std::string stand_in_hash_;  // checked for an unknown user (see load)
  std::array<unsigned char, 32> cache_key_{};
  mutable std::mutex cache_mutex_;
  mutable std::map<std::string, std::chrono::steady_clock::time_point> verified_;  // keyed hash -> until
};

// Constant-time equality of two secrets (the time depends on `expected`'s length only).
bool secret_equals(std::string_view presented, std::string_view expected);

// The credentials an Authorization header carries: scheme (lower case), and the token or the
// user and password. nullopt when the header is malformed.
struct Presented {
  std::string scheme;  // "bearer" or "basic"
  std::string token;
  std::string user, password;
};
std::optional<Presented> parse_authorization(std::string_view header);

std::optional<std::string> base64_decode(std::string_view text);

// A bcrypt hash of `password` ("$2b$..."), for `casewatch hash-password`; "" on failure.
std::string bcrypt_hash(const std::string& password, int cost);

}  // namespace casewatch
