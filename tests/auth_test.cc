// Users, tokens and roles (issue 16): parsing Authorization headers, constant-time comparison,
// the users file, bcrypt, and JSON bodies parsed with their nesting limited.
#include "web/auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "web/http_api.h"
#include "web/http_server.h"

namespace casewatch {
namespace {

TEST(Authorization, SchemesAnyCaseAndBasicDecoded) {
  auto bearer = parse_authorization("bearer s3cret");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->scheme, "bearer");
  EXPECT_EQ(bearer->token, "s3cret");
  EXPECT_EQ(parse_authorization("BEARER  s3cret ")->token, "s3cret");
  auto basic = parse_authorization("Basic YWxpY2U6b3BlbiBzZXNhbWU6IQ==");  // alice:open sesame:!
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->user, "alice");
  EXPECT_EQ(basic->password, "open sesame:!");
  EXPECT_FALSE(parse_authorization("Basic bm9jb2xvbg=="));  // "nocolon"
  // A NUL would end the password for crypt(): "victorpw\0anything" must not pass as "victorpw".
  EXPECT_FALSE(parse_authorization("Basic dmljdG9yOnZpY3RvcnB3AGFueXRoaW5n"));  // victor:victorpw\0anything
  EXPECT_FALSE(parse_authorization("Basic dmljAHRvcjpwdw=="));  // vic\0tor:pw
  EXPECT_FALSE(parse_authorization("Basic !!!"));
  EXPECT_FALSE(parse_authorization("Digest x"));
  EXPECT_FALSE(parse_authorization("Bearer"));
  EXPECT_FALSE(parse_authorization(""));
}

TEST(Authorization, Base64) {
  EXPECT_EQ(base64_decode("").value(), "");
  EXPECT_EQ(base64_decode("YQ==").value(), "a");
  EXPECT_EQ(base64_decode("YWI=").value(), "ab");
  EXPECT_EQ(base64_decode("YWJj").value(), "abc");
  EXPECT_FALSE(base64_decode("Y"));
  EXPECT_FALSE(base64_decode("YW J j"));
}

TEST(Authorization, SecretsCompareExactly) {
  EXPECT_TRUE(secret_equals("s3cret", "s3cret"));
  EXPECT_FALSE(secret_equals("s3cre", "s3cret"));
  EXPECT_FALSE(secret_equals("s3cretX", "s3cret"));
  EXPECT_FALSE(secret_equals("S3cret", "s3cret"));
  EXPECT_FALSE(secret_equals("", ""));  // an empty secret never matches
}

class CredentialsTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("casewatch_auth_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::vector<std::string> errors(const ServerConfig& server) {
    Diagnostics d;
    EXPECT_FALSE(Credentials::load(server, d));
    std::vector<std::string> out;
    for (const auto& item : d.items()) out.push_back(item.format().substr(dir_.string().size() + 1));
    return out;
  }
  std::filesystem::path dir_;
};

TEST_F(CredentialsTest, UsersTokensAndRoles) {
  ServerConfig server;
  server.auth_token_file = write("admin-token", "adm1n\n");
  server.tokens = {{"grafana", write("grafana-token", "g-token"), "viewer"}};
  const std::string hash = bcrypt_hash("correct horse", 4);
  ASSERT_TRUE(hash.starts_with("$2b$04$")) << hash;
  server.users_file = write("users.toml", "[users.alice]\npassword_hash = \"" + hash + "\"\nrole = \"manager\"\n");
  Diagnostics d;
  auto credentials = Credentials::load(server, d);
  ASSERT_TRUE(credentials) << testing::PrintToString(d.items().size());
  EXPECT_TRUE(credentials->has_users());
  EXPECT_TRUE(credentials->has_tokens());
  EXPECT_EQ(credentials->by_token("adm1n")->role, Role::Admin);  // the old single token: admin
  EXPECT_EQ(credentials->by_token("adm1n")->name, "admin");
  EXPECT_EQ(credentials->by_token("g-token")->role, Role::Viewer);
  EXPECT_FALSE(credentials->by_token("g-toke"));
  auto alice = credentials->by_password("alice", "correct horse");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->role, Role::Manager);
  EXPECT_TRUE(alice->signed_in_with_password);
  EXPECT_TRUE(credentials->by_password("alice", "correct horse"));  // remembered
  EXPECT_FALSE(credentials->by_password("alice", "correct horsE"));
  EXPECT_FALSE(credentials->by_password("bob", "correct horse"));
}

// An unknown name is checked at the highest configured cost, so it takes as long as the slowest
// known user (a fixed cost 10 told names apart: unknown 95 ms, a cost-12 user 333 ms). It never
// signs in, even with the password of the user whose hash stands in.
TEST_F(CredentialsTest, AnUnknownUserIsCheckedAtTheHighestConfiguredCost) {
  ServerConfig server;
  const std::string cheap = bcrypt_hash("cheap pw", 4), dear = bcrypt_hash("dear pw", 6);
  server.users_file = write("users.toml", "[users.a]\npassword_hash = \"" + cheap + "\"\nrole = \"viewer\"\n"
                                          "[users.b]\npassword_hash = \"" + dear + "\"\nrole = \"admin\"\n");
  Diagnostics d;
  auto credentials = Credentials::load(server, d);
  ASSERT_TRUE(credentials);
  EXPECT_EQ(credentials->unknown_user_cost(), 6);
  EXPECT_FALSE(credentials->by_password("nobody", "dear pw"));
  EXPECT_TRUE(credentials->by_password("b", "dear pw"));
  ServerConfig none;
  none.auth_token_file = write("t", "tok\n");
  auto tokens_only = Credentials::load(none, d);
  ASSERT_TRUE(tokens_only);
  EXPECT_EQ(tokens_only->unknown_user_cost(), 10);
}

TEST_F(CredentialsTest, ProblemsNameTheFileAndPlaceButNoSecret) {
  ServerConfig server;
  server.tokens = {{"grafana", (dir_ / "absent").string(), "viewer"}};
  EXPECT_EQ(errors(server), (std::vector<std::string>{"absent: error: cannot read the token file"}));
  server.tokens = {{"grafana", write("empty", "\n"), "viewer"}};
  EXPECT_EQ(errors(server), (std::vector<std::string>{"empty: error: the token file is empty"}));
  server.tokens.clear();
  server.users_file = write("users.toml", "[users.alice]\npassword_hash = \"hunter2\"\nrole = \"boss\"\nemail = \"x\"\n");
  EXPECT_EQ(errors(server), (std::vector<std::string>{
      "users.toml:2:17: error: user 'alice' needs a bcrypt password_hash (made by casewatch hash-password)",
      "users.toml:3:8: error: user 'alice' needs a role: viewer, manager or admin",
      "users.toml:4:9: error: unknown key 'email' for user 'alice'"}));
  server.users_file = write("users.toml", "users = 3\n");
  EXPECT_EQ(errors(server), (std::vector<std::string>{
      "users.toml: error: expected only [users.NAME] tables, each with password_hash and role"}));
  server.users_file = write("users.toml", "[users\n");
  EXPECT_EQ(errors(server).size(), 1u);
}

TEST(JsonBody, NestingIsLimitedBeforeAnyValueIsBuilt) {
  std::string error;
  EXPECT_TRUE(parse_json_body(R"({"matchers":{"team":"A"}})", 32, error));
  std::string deep = std::string(60000, '[') + std::string(60000, ']');
  EXPECT_FALSE(parse_json_body(deep, 32, error));
  EXPECT_EQ(error, "the body nests deeper than 32 levels");
  EXPECT_FALSE(parse_json_body("{\"a\":", 32, error));
  EXPECT_EQ(error, "the body is not valid JSON");
  std::string just_enough = std::string(32, '[') + std::string(32, ']');
  EXPECT_TRUE(parse_json_body(just_enough, 32, error));
  EXPECT_FALSE(parse_json_body("[" + just_enough + "]", 32, error));
}

TEST(PercentDecode, PathsAndQueries) {
  EXPECT_EQ(http::percent_decode("a%20b+c", true).value(), "a b c");
  EXPECT_EQ(http::percent_decode("a%20b+c", false).value(), "a b+c");
  EXPECT_EQ(http::percent_decode("%C3%A9", false).value(), "\xC3\xA9");
  EXPECT_FALSE(http::percent_decode("%2", false));
  EXPECT_FALSE(http::percent_decode("%zz", false));
}

}  // namespace
}  // namespace casewatch
