#include "store/postgres/pg_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>

#include "core/log.h"

namespace bulwark::store {
namespace {

using Clock = std::chrono::steady_clock;

bool ValidChannel(std::string_view c) {
  if (c.empty() || c.size() > 63) return false;
  for (char ch : c) {
    if (!((ch >= 'a' && ch <= 'z') || ch == '_')) return false;
  }
  return true;
}

class Listener final : public PgListener {
 public:
  Listener(PgListenerOptions options, OnMessage on_message, OnState on_state, int wake_fd)
      : options_(std::move(options)),
        on_message_(std::move(on_message)),
        on_state_(std::move(on_state)),
        wake_fd_(wake_fd),
        thread_([this] { Run(); }) {}

  ~Listener() override {
    stop_.store(true);
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
    ::close(wake_fd_);
  }

 private:
  // Waits for the connection's socket (fd >= 0) or the wake-up, at most `timeout`.
  // Returns false when the listener is stopping.
  bool Wait(int fd, std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
    (void)::poll(fds, fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
    return !stop_.load();
  }

  PGconn* Connect() {
    PGconn* c = PQconnectdb(options_.url.c_str());
    if (c == nullptr) return nullptr;
    if (PQstatus(c) != CONNECTION_OK) {
      PQfinish(c);
      return nullptr;
    }
    const std::string listen = "LISTEN " + options_.channel;
    PGresult* r = PQexec(c, listen.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || PQsetnonblocking(c, 1) != 0) {
      PQfinish(c);
      return nullptr;
    }
    return c;
  }

  void SetState(bool up) {
    if (up_ == up) return;
    up_ = up;
    log::Info(up ? "cluster.listen_up" : "cluster.listen_down", {{"channel", options_.channel}});
    on_state_(up);
  }

  // One session on one connection; returns when it is lost or the listener stops.
  void Serve(PGconn* c) {
    const int fd = PQsocket(c);
    std::optional<Clock::time_point> ping_sent;
    auto next_ping = Clock::now() + options_.heartbeat;
    while (!stop_.load()) {
      const auto now = Clock::now();
      if (ping_sent && now - *ping_sent > options_.dead_after) return;  // silent: presume lost
      if (!ping_sent && now >= next_ping) {
        if (PQsendQuery(c, "SELECT 1") != 1) return;
        ping_sent = now;
      }
      if (PQflush(c) < 0) return;
      const auto until = ping_sent ? *ping_sent + options_.dead_after : next_ping;
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (!Wait(fd, std::max(std::chrono::milliseconds(1), wait + std::chrono::milliseconds(1))))
        return;
      if (PQconsumeInput(c) != 1) return;
      while (ping_sent && PQisBusy(c) == 0) {
        PGresult* r = PQgetResult(c);
        if (r == nullptr) {  // the heartbeat's answer is complete
          ping_sent.reset();
          next_ping = Clock::now() + options_.heartbeat;
          break;
        }
        const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (!ok) return;
      }
      while (PGnotify* n = PQnotifies(c)) {
        on_message_(n->extra != nullptr ? std::string_view(n->extra) : std::string_view());
        PQfreemem(n);
      }
    }
  }

  void Run() {
    while (!stop_.load()) {
      PGconn* c = Connect();
      if (c != nullptr) {
        SetState(true);
        Serve(c);
        PQfinish(c);
      }
      SetState(false);
      if (!Wait(-1, options_.retry)) break;
    }
  }

  const PgListenerOptions options_;
  const OnMessage on_message_;
  const OnState on_state_;
  const int wake_fd_;
  std::atomic<bool> stop_{false};
  std::optional<bool> up_;  // listener thread only; unset until the first report
  std::thread thread_;
};

}  // namespace

StatusOr<std::unique_ptr<PgListener>> PgListener::Start(PgListenerOptions options,
                                                        OnMessage on_message, OnState on_state) {
  if (options.url.empty() || !ValidChannel(options.channel) || !on_message || !on_state) {
    return Status::InvalidArgument("invalid_store_option",
                                   "a listener needs a URL, a channel and callbacks");
  }
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    return Status::Unavailable("store_unavailable", "cannot create the listener's wake-up");
  return std::unique_ptr<PgListener>(std::make_unique<Listener>(
      std::move(options), std::move(on_message), std::move(on_state), fd));
}

}  // namespace bulwark::store
