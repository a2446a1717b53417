// <utility> before Asio: Boost 1.74's Asio under C++20 with GCC 12 needs it.
#include <utility>

#include "daemon/daemon.h"

#include <boost/asio.hpp>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <future>

#include <spdlog/spdlog.h>

#include "config/as_of.h"
#include "notify/delivery.h"
#include "notify/sqlite_state.h"
#include "web/http_api.h"
#include "service/service.h"

namespace casewatch {
namespace {

class Daemon {
 public:
  Daemon(const RunOptions& options, std::shared_ptr<const Config> config, std::unique_ptr<Clock> clock,
         ManualClock* manual_clock, std::unique_ptr<SqliteState> state, std::unique_ptr<AlertStore> alerts,
         std::unique_ptr<Outbox> outbox, std::unique_ptr<Outbox> delivery_outbox)
      : options_(options),
        clock_(std::move(clock)),
        manual_clock_(manual_clock),
        state_(std::move(state)),
        delivery_outbox_(std::move(delivery_outbox)),
        metrics_(std::make_shared<Metrics>()),
        service_(config, *clock_, std::move(alerts), std::move(outbox), metrics_),
        delivery_(*delivery_outbox_, *clock_,
                  DeliveryReport{[m = metrics_](const std::string& r, std::string_view outcome) {
                                   m->count_notification(r, std::string(outcome));
                                 },
                                 [m = metrics_](const std::string& r, double size) { m->set_queue(r, size); }}),
        signals_(io_, SIGHUP, SIGTERM, SIGINT),
        startup_timer_(io_),
        evaluation_timer_(io_),
        poll_timer_(io_),
        dispatch_timer_(io_),
        watchdog_timer_(io_) {
    service_.on_enqueued([this] { delivery_.kick(); });
    // A load ends on a loader's thread: the loop takes it in at once rather than at the next poll.
    service_.on_feed_loaded([wake = wake_] { wake->post(); });
    delivery_.set_receivers(receivers_for(*config));
    if (!state_->moved_aside().empty()) metrics_->state_recovered();
  }

  // The receivers of `config` over the real transports (libcurl).
  static std::shared_ptr<const Receivers> receivers_for(const Config& config) {
    ReceiverContext context{config.tables,        config.receiver_scope,  curl_http_transport(), curl_smtp_transport(),
                            config.calendar,      config.engine.timezone, config.rule_titles};
    return std::make_shared<const Receivers>(config.receivers, context);
  }

  int run() {
    std::string error;
    if (Status restored = service_.restore(); !restored.ok()) {
      spdlog::critical("state store {}: {}", state_->path(), restored.message());
      return 1;
    }
    if (!start_http(error)) {
      spdlog::critical("{}", error);
      return 1;
    }
    wait_for_signal();
    wake_->set([this] { boost::asio::post(io_, [this] { loads_ended(); }); });
    boost::asio::post(io_, [this] {
      service_.poll_feeds();  // starts every feed's first load
      await_first_loads(std::chrono::steady_clock::now());
    });
    delivery_.start();
    uint64_t watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0) schedule_watchdog(std::chrono::microseconds(watchdog_usec / 2));
    io_.run();
    stopping_ = true;
    wake_->set(nullptr);
    // Every load is told to stop; a source honours it within a fraction of a second.
    service_.stop_loads("the daemon is stopping", std::chrono::seconds(3));
    http_->stop();
    delivery_.stop();
    spdlog::info("stopped");
    return 0;
  }

 private:
  bool start_http(std::string& error) {
    const Config& config = *service_.config();
    HttpOptions http;
    http.listen = options_.listen.value_or(config.server.listen);
    http.public_metrics = config.server.public_metrics;
    http.tls_cert_file = config.server.tls_cert_file;
    http.tls_key_file = config.server.tls_key_file;
    http.test_clock = manual_clock_ != nullptr;
    http.external_url = external_url_of(config, http.listen);
    Diagnostics diagnostics;
    auto credentials = Credentials::load(config.server, diagnostics);
    if (!credentials) {
      for (const auto& d : diagnostics.items()) error += (error.empty() ? "" : "\n") + d.format();
      return false;
    }
    LoopActions actions;
    actions.run_on_loop = [this](std::function<void()> task) { return run_on_loop(std::move(task)); };
    actions.reload = [this](std::string& errors) { return reload(errors); };
    actions.advance_clock = [this](int64_t seconds) {
      manual_clock_->advance(seconds);
      service_.evaluate(Service::FeedLoads::Wait);
      delivery_.run_once();  // tests see what was delivered as soon as the call returns
    };
    http_ = std::make_unique<HttpApi>(service_, http, actions, std::move(credentials));
    if (!http_->start(error)) return false;
    // Links in notifications point where the server really listens (the port chosen for :0).
    service_.set_listening(http.listen.substr(0, http.listen.rfind(':')) + ":" + std::to_string(http_->port()));
    // Tests ask for port 0 and read the port chosen from this line.
    if (options_.listen && options_.listen->ends_with(":0")) std::fprintf(stdout, "listening on port %d\n", http_->port());
    std::fflush(stdout);
    return true;
  }

  // The first round waits for every feed's first load to end (each within its load_timeout), so
  // that alerts restored from the state are not judged on feeds not yet read. systemd is told
  // the start goes on meanwhile.
  void await_first_loads(std::chrono::steady_clock::time_point since) {
    if (started_ || stopping_) return;
    if (service_.feeds_settled()) {
      first_round();
      return;
    }
    const auto waited = std::chrono::steady_clock::now() - since;
    if (waited >= next_startup_notice_) {
      std::string names;
      for (const std::string& name : service_.feeds_not_settled()) names += (names.empty() ? "" : ", ") + name;
      spdlog::info("waiting for the first load of: {}", names);
      sd_notify(0, ("EXTEND_TIMEOUT_USEC=20000000\nSTATUS=waiting for the first load of: " + names).c_str());
      next_startup_notice_ = waited + std::chrono::seconds(5);
    }
    startup_timer_.expires_after(std::chrono::milliseconds(200));
    startup_timer_.async_wait([this, since](const boost::system::error_code& ec) {
      if (ec) return;
      service_.poll_feeds();  // takes in what ended, marks a load past its deadline
      await_first_loads(since);
    });
  }

  void first_round() {
    started_ = true;
    startup_timer_.cancel();
    service_.evaluate();
    sd_notify(0, "READY=1\nSTATUS=evaluating");
    spdlog::info("first evaluation done: ready");
    if (!manual_clock_) {
      schedule_evaluation();
      schedule_poll();
      schedule_dispatch();
    }
  }

  // On the loop, after a feed load ended.
  void loads_ended() {
    if (stopping_) return;
    if (!started_) {
      service_.poll_feeds();
      if (service_.feeds_settled()) first_round();
      return;
    }
    // On the manual test clock, loads end within the round that started them (advance waits).
    if (!manual_clock_ && service_.poll_feeds()) service_.evaluate();
  }

  // Runs `task` on the event loop and waits for it; gives up (false) once the daemon is stopping,
  // so that no HTTP request can hold up the shutdown.
  bool run_on_loop(std::function<void()> task) {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    boost::asio::post(io_, [task = std::move(task), done] {
      task();
      done->set_value();
    });
    while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready)
      if (stopping_) return false;
    return true;
  }

  bool reload(std::string& errors) {
    sd_notify(0, "RELOADING=1");
    // Everything is loaded and checked first, the token and users files too; on any problem the
    // old configuration keeps running.
    Diagnostics diagnostics;
    auto loaded = load_config(options_.config, diagnostics);
    std::shared_ptr<const Credentials> credentials;
    if (loaded) credentials = Credentials::load(loaded->server, diagnostics);
    const bool ok = loaded && credentials;
    if (!ok) {
      for (const auto& d : diagnostics.items()) {
        spdlog::error("reload refused: {}", d.format());
        errors += d.format() + "\n";
      }
      service_.reload_refused();
    } else {
      service_.reload(std::make_shared<const Config>(std::move(*loaded)));
      http_->set_credentials(std::move(credentials), service_.external_url());
      delivery_.set_receivers(receivers_for(*service_.config()));
      // Before the first round, the reload's feeds are what it waits for (await_first_loads).
      if (started_) service_.evaluate(manual_clock_ ? Service::FeedLoads::Wait : Service::FeedLoads::Poll);
      else service_.poll_feeds();
    }
    sd_notify(0, "READY=1");
    return ok;
  }

  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        spdlog::info("SIGHUP: reloading the configuration");
        std::string errors;
        reload(errors);
        wait_for_signal();
        return;
      }
      // The evaluation under way has finished (it runs on this same thread); state is committed.
      spdlog::info("signal {}: stopping", signal);
      sd_notify(0, "STOPPING=1");
      stopping_ = true;
      io_.stop();
    });
  }

  void schedule_evaluation() {
    auto interval = std::chrono::seconds(std::max<int64_t>(1, service_.config()->engine.evaluation_interval_seconds));
    evaluation_timer_.expires_after(interval);
    evaluation_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      service_.evaluate();
      schedule_evaluation();
    });
  }

  // Feed files are checked every second so that a new extract is picked up at once.
  void schedule_poll() {
    poll_timer_.expires_after(std::chrono::seconds(1));
    poll_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (service_.poll_feeds()) service_.evaluate();
      schedule_poll();
    });
  }

  // Group waits, intervals and time windows end between evaluations: look every 10 seconds.
  void schedule_dispatch() {
    dispatch_timer_.expires_after(std::chrono::seconds(10));
    dispatch_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      service_.dispatch(false);
      schedule_dispatch();
    });
  }

  void schedule_watchdog(std::chrono::microseconds every) {
    watchdog_timer_.expires_after(every);
    watchdog_timer_.async_wait([this, every](const boost::system::error_code& ec) {
      if (ec) return;
      sd_notify(0, "WATCHDOG=1");
      schedule_watchdog(every);
    });
  }

  const RunOptions& options_;
  std::unique_ptr<Clock> clock_;
  ManualClock* manual_clock_;
  boost::asio::io_context io_;
  std::unique_ptr<SqliteState> state_;      // holds the state directory's lock while the daemon runs
  std::unique_ptr<Outbox> delivery_outbox_;  // the delivery workers' own connection
  std::shared_ptr<Metrics> metrics_;
  Service service_;
  Delivery delivery_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer startup_timer_, evaluation_timer_, poll_timer_, dispatch_timer_, watchdog_timer_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;  // the first round has run
  std::chrono::steady_clock::duration next_startup_notice_ = std::chrono::seconds(2);
  // What a loader's thread calls when a load ends: posts to the loop while the loop runs, and does
  // nothing once it has stopped.
  struct Wake {
    void set(std::function<void()> post_to_loop) {
      std::lock_guard lock(mutex);
      action = std::move(post_to_loop);
    }
    void post() {
      std::lock_guard lock(mutex);
      if (action) action();
    }
    std::mutex mutex;
    std::function<void()> action;
  };
  std::shared_ptr<Wake> wake_ = std::make_shared<Wake>();
  std::unique_ptr<HttpApi> http_;
};

}  // namespace

int run_daemon(const RunOptions& options) {
  Diagnostics diagnostics;
  auto loaded = load_config(options.config, diagnostics);
  if (!loaded) {
    for (const auto& d : diagnostics.items()) spdlog::error("{}", d.format());
    return 1;
  }
  auto config = std::make_shared<const Config>(std::move(*loaded));
  std::unique_ptr<Clock> clock;
  ManualClock* manual = nullptr;
  if (options.test_clock) {
    auto start = parse_as_of(*options.test_clock, config->engine.timezone);
    if (!start) {
      spdlog::error("--test-clock must be a DATE or RFC 3339 timestamp");
      return 2;
    }
    auto m = std::make_unique<ManualClock>(start->epoch_seconds);
    manual = m.get();
    clock = std::move(m);
    spdlog::warn("running on a manual test clock starting at {}", *options.test_clock);
  } else {
    clock = std::make_unique<SystemClock>();
  }
  StateOptions state_options;
  state_options.move_damaged_aside = options.state_recover;
  auto state = SqliteState::open(config->engine.state_dir, state_options);
  if (!state.ok()) {
    spdlog::critical("state store: {}", state.message());
    return 1;
  }
  if (!(*state)->moved_aside().empty())
    spdlog::critical("the state file was damaged and has been moved aside to {}: starting afresh; every alert will "
                     "fire again and undelivered notifications are lost",
                     (*state)->moved_aside());
  auto alerts = (*state)->alert_store();
  auto outbox = (*state)->outbox();
  auto delivery_outbox = (*state)->outbox();  // a connection of its own for the delivery workers
  for (const Status* s : {&alerts.status(), &outbox.status(), &delivery_outbox.status()})
    if (!s->ok()) {
      spdlog::critical("state store: {}", s->message());
      return 1;
    }
  spdlog::info("casewatch starting: {} feeds, {} rules, {} routes", config->feeds.size(), config->rules.size(),
               config->routes.size());
  Daemon daemon(options, std::move(config), std::move(clock), manual, std::move(*state), std::move(*alerts),
                std::move(*outbox), std::move(*delivery_outbox));
  return daemon.run();
}

}  // namespace casewatch
