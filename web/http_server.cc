// <utility> before Asio: Boost 1.74's Asio under C++20 with GCC 12 needs it.
#include <utility>

#include "web/http_server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <cctype>
#include <list>
#include <mutex>
#include <thread>

namespace casewatch::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string_view Request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

std::optional<std::string> Request::param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex(text[i + 1]), low = hex(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// What the server knows of each connection, to enforce the limits across them.
struct SessionBase {
  std::string peer;
  bool idle = true;              // waiting for a request's header: may be evicted for a new client
  bool signed_in = false;        // a request on it was admitted with credentials
  Clock::time_point idle_since = Clock::now();
  virtual ~SessionBase() = default;
  virtual void close() = 0;      // on the I/O thread
};

}  // namespace

struct Server::Impl {
  Impl(Limits l, Admit a, Handle h)
      : limits(std::move(l)),
        admit(std::move(a)),
        handle(std::move(h)),
        pool(std::max<size_t>(1, limits.worker_threads)),
        slow_pool(std::max<size_t>(1, limits.slow_check_threads)) {}

  Limits limits;
  Admit admit;
  Handle handle;
  net::io_context io{1};
  std::optional<net::ssl::context> tls;
  tcp::acceptor acceptor{io};
  net::thread_pool pool;
  net::thread_pool slow_pool;
  std::atomic<size_t> slow_checks_pending{0};
  std::thread thread;
  std::atomic<bool> stopping{false};

  // Touched on the I/O thread only.
  std::list<std::weak_ptr<SessionBase>> sessions;
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  std::map<std::string, Bucket> buckets;

  std::atomic<uint64_t> refused{0}, evicted{0}, rate_limited{0}, timeouts{0}, slow_checks_refused{0};

  void accept();
  void on_accept(tcp::socket socket);

  // A request of `peer` may go ahead under its rate (a token bucket per client address).
  bool take_token(const std::string& peer) {
    const auto now = Clock::now();
    if (buckets.size() > 10000) {  // forget clients that have been quiet long enough to be full
      for (auto it = buckets.begin(); it != buckets.end();)
        it = now - it->second.last > std::chrono::seconds(60) ? buckets.erase(it) : std::next(it);
    }
    auto [it, inserted] = buckets.try_emplace(peer, Bucket{limits.request_burst_per_client, now});
    Bucket& b = it->second;
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(limits.request_burst_per_client, b.tokens + elapsed * limits.requests_per_second_per_client);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  // Makes room for a new connection from `peer`; false when there is none to be made.
  bool make_room(const std::string& peer) {
    sessions.remove_if([](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
    std::vector<std::shared_ptr<SessionBase>> live;
    for (auto& w : sessions)
      if (auto s = w.lock()) live.push_back(std::move(s));
    // The one to push out: not signed in and idle, then not signed in and under way, then signed
    // in and idle; the stalest of its kind. Never one signed in with a request under way.
    auto victim_among = [&](bool same_peer) -> std::shared_ptr<SessionBase> {
      auto rank = [](const SessionBase& s) { return s.signed_in ? (s.idle ? 2 : 3) : (s.idle ? 0 : 1); };
      std::shared_ptr<SessionBase> found;
      for (auto& s : live) {
        if ((same_peer && s->peer != peer) || rank(*s) == 3) continue;
        if (!found || rank(*s) < rank(*found) || (rank(*s) == rank(*found) && s->idle_since < found->idle_since))
          found = s;
      }
      return found;
    };
    const size_t mine = static_cast<size_t>(std::count_if(live.begin(), live.end(), [&](auto& s) { return s->peer == peer; }));
    std::shared_ptr<SessionBase> victim;
    if (mine >= limits.max_connections_per_client) {
      victim = victim_among(true);  // a client's new connection pushes out one of its own
      if (!victim) return false;
    } else if (live.size() >= limits.max_connections) {
      victim = victim_among(false);
      if (!victim) return false;
    }
    if (victim) {
      ++evicted;
      victim->close();
    }
    return true;
  }
};

namespace {

bool has_body_pending(const bhttp::request_parser<bhttp::string_body>& parser) { return !parser.is_done(); }

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Server::Impl& server, Stream stream, std::string peer, bool loopback, bool tls)
      : server_(server), stream_(std::move(stream)), loopback_(loopback), tls_(tls) {
    this->peer = std::move(peer);
  }

  void run() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(server_.limits.header_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->read_header();
                              });
    } else {
      read_header();
    }
  }

  void close() override {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

 private:
  void read_header() {
    idle = true;
    idle_since = Clock::now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits.max_header_bytes));
    parser_->body_limit(server_.limits.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(server_.limits.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->on_header(ec);
    });
  }

  static Response error_response(int status, std::string message) {
    Response r;
    r.status = status;
    r.body = "{\"status\":\"error\",\"error\":\"" + message + "\"}";
    return r;
  }

  void on_header(beast::error_code ec) {
    idle = false;
    if (ec == beast::error::timeout) {
      ++server_.timeouts;
      return close();
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::bad_descriptor)
      return close();
    if (ec == bhttp::error::header_limit) return send(error_response(431, "request header too large"), true);
    if (ec == bhttp::error::body_limit) return send(error_response(413, "request body too large"), true);
    if (ec) return send(error_response(400, "malformed request"), true);

    const auto& head = parser_->get();
    size_t fields = static_cast<size_t>(std::distance(head.begin(), head.end()));
    if (fields > server_.limits.max_header_fields) return send(error_response(431, "too many request header fields"), true);

    request_ = Request();
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    request_.peer = peer;
    request_.peer_is_loopback = loopback_;
    request_.tls = tls_;
    for (const auto& field : head) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      request_.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    std::string_view target = request_.target;
    size_t question = target.find('?');
    auto path = percent_decode(target.substr(0, question), false);
    if (!path || path->empty() || (*path)[0] != '/') return send(error_response(400, "bad request target"), true);
    request_.path = *path;
    if (question != std::string_view::npos) {
      std::string_view query = target.substr(question + 1);
      while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        size_t eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq), true);
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
        if (!key || !value) return send(error_response(400, "bad query string"), true);
        if (request_.query.size() >= server_.limits.max_query_parameters)
          return send(error_response(400, "too many query parameters"), true);
        if (!key->empty()) request_.query.emplace(std::move(*key), std::move(*value));
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      }
    }
    if (!server_.take_token(peer)) {
      ++server_.rate_limited;
      Response r = error_response(429, "too many requests");
      r.headers.emplace_back("Retry-After", "1");
      return send(std::move(r), has_body_pending(*parser_));
    }
    net::post(server_.pool, [self = this->shared_from_this()] {
      Admission admission;
      try {
        admission = self->server_.admit(self->request_);
      } catch (...) {
        admission.refusal = error_response(500, "internal error");
      }
      if (!admission.slow_check) return self->decided(std::move(admission.refusal));
      if (++self->server_.slow_checks_pending > self->server_.limits.max_slow_checks) {
        --self->server_.slow_checks_pending;
        ++self->server_.slow_checks_refused;
        Response busy = error_response(503, "too many sign-ins under way: try again in a moment");
        busy.headers.emplace_back("Retry-After", "1");
        return self->decided(std::move(busy));
      }
      net::post(self->server_.slow_pool, [self, check = std::move(admission.slow_check)] {
        std::optional<Response> refusal;
        try {
          refusal = check(self->request_);
        } catch (...) {
          refusal = error_response(500, "internal error");
        }
        --self->server_.slow_checks_pending;
        self->decided(std::move(refusal));
      });
    });
  }

  // From the pools: the admission's outcome, back to the I/O thread.
  void decided(std::optional<Response> refusal) {
    net::post(server_.io, [self = this->shared_from_this(), refusal = std::move(refusal)]() mutable {
      self->on_admitted(std::move(refusal));
    });
  }

  void on_admitted(std::optional<Response> refusal) {
    if (refusal) return send(std::move(*refusal), has_body_pending(*parser_));
    if (!request_.principal.empty()) signed_in = true;
    if (!has_body_pending(*parser_)) return on_body({});
    // A body is read only for someone who signed in: an open route (/-/healthy, /metrics) would
    // otherwise let anyone hold a connection and a megabyte of memory per socket.
    if (request_.principal.empty()) return send(error_response(401, "a request without credentials may carry no body"), true);
    beast::get_lowest_layer(stream_).expires_after(server_.limits.body_timeout);
    auto read_body = [self = this->shared_from_this()] {
      bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                        [self](beast::error_code ec, size_t) { self->on_body(ec); });
    };
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      continue_ = bhttp::response<bhttp::empty_body>(bhttp::status::continue_, 11);
      bhttp::async_write(stream_, continue_, [self = this->shared_from_this(), read_body](beast::error_code ec, size_t) {
        if (ec) return self->close();
        read_body();
      });
      return;
    }
    read_body();
  }

  void on_body(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      ++server_.timeouts;
      return close();
    }
    if (ec == bhttp::error::body_limit) return send(error_response(413, "request body too large"), true);
    if (ec) return send(error_response(400, "malformed request body"), true);
    request_.body = std::move(parser_->get().body());
    keep_alive_ = parser_->get().keep_alive();
    net::post(server_.pool, [self = this->shared_from_this()] {
      Response response;
      try {
        response = self->server_.handle(self->request_);
      } catch (...) {
        response = error_response(500, "internal error");
      }
      net::post(self->server_.io, [self, response = std::move(response)]() mutable {
        self->send(std::move(response), !self->keep_alive_ || self->server_.stopping);
      });
    });
  }

  // Every answer, a refusal too, goes out here: one place for what each must carry.
  void send(Response r, bool close_after) {
    // A refusal sent before the request was read through honours the client's wish to close, and
    // counts toward the connection's limit as an answer does.
    if (parser_ && parser_->is_header_done() && !parser_->get().keep_alive()) close_after = true;
    if (++answered_ >= server_.limits.max_requests_per_connection) close_after = true;
    response_ = bhttp::response<bhttp::string_body>(static_cast<bhttp::status>(r.status), 11);
    response_.set(bhttp::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) response_.insert(name, value);
    // Alerts are about children: no browser or proxy keeps a copy, no page is framed by another
    // site (an Acknowledge button clicked through a frame), nothing is sniffed as another type.
    response_.set(bhttp::field::cache_control, "no-store");
    response_.set("X-Content-Type-Options", "nosniff");
    response_.set("Referrer-Policy", "no-referrer");
    response_.set("X-Frame-Options", "DENY");
    // A page brings its own policy (its script and style by hash); anything else may run nothing.
    if (response_.find("Content-Security-Policy") == response_.end())
      response_.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if (tls_) response_.set("Strict-Transport-Security", "max-age=31536000");
    response_.keep_alive(!close_after);
    response_.body() = std::move(r.body);
    response_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(server_.limits.write_timeout);
    bhttp::async_write(stream_, response_, [self = this->shared_from_this(), close_after](beast::error_code ec, size_t) {
      if (ec || close_after) return self->close();
      self->read_header();
    });
  }

  Server::Impl& server_;
  Stream stream_;
  bool loopback_, tls_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  bhttp::response<bhttp::string_body> response_;
  bhttp::response<bhttp::empty_body> continue_;
  size_t answered_ = 0;  // answers on this connection, refusals included
  bool keep_alive_ = false;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept(io, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!acceptor.is_open()) return;  // stopped
      // Out of descriptors and the like: try again shortly rather than spin.
      auto timer = std::make_shared<net::steady_timer>(io, std::chrono::milliseconds(50));
      timer->async_wait([this, timer](beast::error_code) { accept(); });
      return;
    }
    on_accept(std::move(socket));
    accept();
  });
}

void Server::Impl::on_accept(tcp::socket socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec || stopping) return;
  std::string peer = endpoint.address().to_string();
  if (!make_room(peer)) {
    ++refused;
    socket.close(ec);
    return;
  }
  const bool loopback = endpoint.address().is_loopback();
  if (tls) {
    auto session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
        *this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls), peer, loopback, true);
    sessions.push_back(session);
    session->run();
  } else {
    auto session = std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)), peer,
                                                                loopback, false);
    sessions.push_back(session);
    session->run();
  }
}

Server::Server(Limits limits, Admit admit, Handle handle)
    : impl_(std::make_unique<Impl>(std::move(limits), std::move(admit), std::move(handle))) {}

Server::~Server() { stop(); }

bool Server::listen(const std::string& host_port, const std::string& tls_cert_file, const std::string& tls_key_file,
                    std::string& error) {
  auto colon = host_port.rfind(':');
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(host_port.substr(colon + 1));
  } catch (...) {
    error = "cannot listen on " + host_port + ": bad port";
    return false;
  }
  beast::error_code ec;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    error = "cannot listen on " + host_port + ": " + ec.message();
    return false;
  }
  if (!tls_cert_file.empty()) {
    impl_->tls.emplace(net::ssl::context::tls_server);
    impl_->tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                            net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    // Mozilla's "intermediate" profile: TLS 1.2 with forward-secret AEAD suites only (no RSA key
    // exchange, no CBC), and TLS 1.3; the client's order is honoured, as the profile says.
    SSL_CTX_set_min_proto_version(impl_->tls->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(impl_->tls->native_handle(),
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                            "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                            "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305");
    SSL_CTX_set_ciphersuites(impl_->tls->native_handle(),
                             "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    impl_->tls->use_certificate_chain_file(tls_cert_file, ec);
    if (!ec) impl_->tls->use_private_key_file(tls_key_file, net::ssl::context::pem, ec);
    if (ec) {
      error = "cannot start the HTTP server: TLS certificate or key: " + ec.message();
      return false;
    }
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  impl_->acceptor.open(endpoint.protocol(), ec);
  // No SO_REUSEPORT: a second daemon must not share the port. SO_REUSEADDR lets a restart bind
  // while the old sockets linger in TIME_WAIT.
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + host_port + ": " + ec.message();
    return false;
  }
  port_ = impl_->acceptor.local_endpoint().port();
  return true;
}

void Server::start() {
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void Server::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  if (impl_->thread.joinable()) {
    std::promise<void> closed;
    net::post(impl_->io, [this, &closed] {
      beast::error_code ignored;
      impl_->acceptor.close(ignored);
      for (auto& w : impl_->sessions)
        if (auto s = w.lock()) s->close();
      closed.set_value();
    });
    closed.get_future().wait();
  }
  impl_->pool.join();  // handlers under way finish; their answers go nowhere
  impl_->slow_pool.join();  // after the pool, which hands checks to it
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Server::Counters Server::counters() const {
  return {impl_->refused, impl_->evicted, impl_->rate_limited, impl_->timeouts, impl_->slow_checks_refused};
}

}  // namespace casewatch::http
