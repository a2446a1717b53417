// The bounded HTTP server's admission of connections and of slow checks, on real sockets.
#include <utility>

#include "web/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace casewatch::http {
namespace {

// A gate the handlers and checks wait at until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void await_waiting(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int waiting_ = 0;
};

class Client {
 public:
  explicit Client(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& path, const std::string& authorization = "") {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
    request += "\r\n";
    // A connection the server refused may be closed already: then status() says 0.
    if (connected_) (void)::send(fd_, request.data(), request.size(), MSG_NOSIGNAL);
  }
  // The status of the next answer, or 0 when the connection closes (or nothing comes) first.
  int status() {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (::read(fd_, &c, 1) != 1) return 0;
      head += c;
    }
    const size_t length_at = head.find("Content-Length: ");
    size_t length = length_at == std::string::npos ? 0 : std::stoul(head.substr(length_at + 16));
    std::string body(length, '\0');
    for (size_t got = 0; got < length;) {
      ssize_t n = ::read(fd_, body.data() + got, length - got);
      if (n <= 0) return 0;
      got += static_cast<size_t>(n);
    }
    return std::stoi(head.substr(9, 3));
  }
  int ask(const std::string& path, const std::string& authorization = "") {
    send(path, authorization);
    return status();
  }

 private:
  int fd_;
  bool connected_ = false;
};

class ServerAdmission : public ::testing::Test {
 protected:
  void start(Limits limits) {
    server_ = std::make_unique<Server>(
        limits,
        [this](Request& head) {
          Admission admission;
          if (head.header("authorization") == "token") head.principal = "machine";
          if (head.header("authorization") == "password")
            admission.slow_check = [this](Request& request) -> std::optional<Response> {
              slow_gate_.wait();
              request.principal = "person";
              return std::nullopt;
            };
          return admission;
        },
        [this](Request& request) {
          if (request.path == "/slow") handler_gate_.wait();
          return Response{200, "text/plain", "ok", {}};
        });
    std::string error;
    ASSERT_TRUE(server_->listen("127.0.0.1:0", "", "", error)) << error;
    server_->start();
  }
  void TearDown() override {
    slow_gate_.open();
    handler_gate_.open();
    if (server_) server_->stop();
  }
  int port() const { return server_->port(); }

  Gate slow_gate_, handler_gate_;
  std::unique_ptr<Server> server_;
};

Limits small(size_t connections) {
  Limits limits;
  limits.max_connections = connections;
  limits.max_connections_per_client = connections;
  limits.worker_threads = 2 * connections + 2;
  return limits;
}

TEST_F(ServerAdmission, ConnectionsWithoutCredentialsCannotPushOutOneThatSignedIn) {
  start(small(4));
  Client signed_in(port());
  ASSERT_EQ(signed_in.ask("/", "token"), 200);  // now idle between requests, signed in
  std::vector<std::unique_ptr<Client>> others;
  for (int i = 0; i < 8; ++i) {
    others.push_back(std::make_unique<Client>(port()));
    others.back()->send("/");  // answered, then idle: each new one pushes out an idle one
    ASSERT_EQ(others.back()->status(), 200);
  }
  EXPECT_EQ(signed_in.ask("/", "token"), 200);
  EXPECT_GE(server_->counters().connections_evicted, 5u);
}

TEST_F(ServerAdmission, ConnectionsWithoutCredentialsUnderWayArePushedOutRatherThanRefuseANewOne) {
  start(small(4));
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<Client>(port()));
    held.back()->send("/slow");
  }
  handler_gate_.await_waiting(4);  // every slot is taken by a request under way
  Client newcomer(port());
  EXPECT_EQ(newcomer.ask("/", "token"), 200);
  EXPECT_EQ(held.front()->status(), 0);  // the stalest was closed for it
}

TEST_F(ServerAdmission, AConnectionThatSignedInIsNeverPushedOutWhileItsRequestIsUnderWay) {
  start(small(2));
  Client first(port()), second(port());
  first.send("/slow", "token");
  second.send("/slow", "token");
  handler_gate_.await_waiting(2);
  Client newcomer(port());
  EXPECT_EQ(newcomer.ask("/"), 0);  // refused: nothing may be pushed out
  EXPECT_EQ(server_->counters().connections_refused, 1u);
  handler_gate_.open();
  EXPECT_EQ(first.status(), 200);
  EXPECT_EQ(second.status(), 200);
}

TEST_F(ServerAdmission, SlowChecksRunApartWithABoundedQueue) {
  Limits limits;
  limits.slow_check_threads = 1;
  limits.max_slow_checks = 1;
  start(limits);
  Client first(port()), second(port());
  first.send("/", "password");
  slow_gate_.await_waiting(1);
  EXPECT_EQ(second.ask("/", "password"), 503);  // one under way already: told to come back
  // A request that needs no slow check is answered while the slow one waits.
  Client machine(port());
  EXPECT_EQ(machine.ask("/", "token"), 200);
  slow_gate_.open();
  EXPECT_EQ(first.status(), 200);
  EXPECT_EQ(second.ask("/", "password"), 200);
  EXPECT_EQ(server_->counters().slow_checks_refused, 1u);
}

}  // namespace
}  // namespace casewatch::http
