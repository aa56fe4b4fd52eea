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
#include "core/thread_name.h"
#include "crypto/random.h"
#include "store/postgres/connect.h"
#include "store/postgres/dialect.h"

namespace bulwark::store {
namespace {

using Clock = std::chrono::steady_clock;

// The heartbeat channel is the channel name + "_ping_" + 16 letters, within PostgreSQL's 63.
constexpr std::size_t kMaxChannel = 40;

class Listener final : public PgListener {
 public:
  Listener(PgListenerOptions options, std::string ping_channel, OnMessage on_message,
           OnState on_state, int wake_fd)
      : options_(std::move(options)),
        ping_channel_(std::move(ping_channel)),
        on_message_(std::move(on_message)),
        on_state_(std::move(on_state)),
        wake_fd_(wake_fd),
        thread_([this] {
          core::NameThisThread("bw-pg-listen");
          Run();
        }) {}

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
    PGconn* c = ConnectPostgres(options_.url);
    if (PQstatus(c) != CONNECTION_OK) {
      PQfinish(c);
      return nullptr;
    }
    // Both channel names were checked to be plain identifiers.
    const std::string listen = "LISTEN " + options_.channel + "; LISTEN " + ping_channel_;
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
    if (up) {
      log::Info("cluster.listen_up", {{"channel", options_.channel}});
    } else {
      log::Warn("cluster.listen_down", {{"channel", options_.channel}});  // caches off meanwhile
    }
    on_state_(up);
  }

  // One session on one connection; returns when it is lost or the listener stops.
  void Serve(PGconn* c) {
    const int fd = PQsocket(c);
    const std::string ping = "NOTIFY " + ping_channel_;
    std::optional<Clock::time_point> ping_sent;
    auto next_ping = Clock::now() + options_.heartbeat;
    while (!stop_.load()) {
      const auto now = Clock::now();
      if (ping_sent && now - *ping_sent > options_.reconnect_after) return;  // presume it lost
      if (ping_sent && now - *ping_sent > options_.dead_after) SetState(false);
      if (!ping_sent && now >= next_ping) {
        if (PQsendQuery(c, ping.c_str()) != 1) return;
        ping_sent = now;
      }
      if (PQflush(c) < 0) return;
      auto until = next_ping;
      if (ping_sent) {
        until = *ping_sent + (up_ == true ? options_.dead_after : options_.reconnect_after);
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (!Wait(fd, std::max(std::chrono::milliseconds(1), wait + std::chrono::milliseconds(1)))) {
        return;
      }
      if (PQconsumeInput(c) != 1) return;
      while (PQisBusy(c) == 0) {  // the NOTIFY's own result; the echo comes as a notification
        PGresult* r = PQgetResult(c);
        if (r == nullptr) break;
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) return;
      }
      while (PGnotify* n = PQnotifies(c)) {
        if (ping_channel_ == n->relname) {
          ping_sent.reset();
          next_ping = Clock::now() + options_.heartbeat;
          SetState(true);  // every notification sent before the echo has arrived
        } else {
          on_message_(n->extra != nullptr ? std::string_view(n->extra) : std::string_view());
        }
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
  const std::string ping_channel_;
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
  if (options.url.empty() || !PlainIdentifier(options.channel, kMaxChannel) || !on_message ||
      !on_state) {
    return Status::InvalidArgument("invalid_store_option",
                                   "a listener needs a URL, a channel and callbacks");
  }
  // This listener's own heartbeat channel: no other session listens on it.
  BULWARK_ASSIGN_OR_RETURN(std::string nonce, crypto::RandomHex(8));
  for (char& ch : nonce) {
    if (ch >= '0' && ch <= '9') ch = static_cast<char>('g' + (ch - '0'));  // letters only
  }
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    return Status::Unavailable("store_unavailable", "cannot create the listener's wake-up");
  }
  std::string ping = options.channel + "_ping_" + nonce;
  return std::unique_ptr<PgListener>(std::make_unique<Listener>(
      std::move(options), std::move(ping), std::move(on_message), std::move(on_state), fd));
}

}  // namespace bulwark::store
