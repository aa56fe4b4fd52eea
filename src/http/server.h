#pragma once
// The HTTP/1.1 server: Boost.Beast over Asio, keep-alive. One io_context per io thread, each run
// by exactly one thread; accepted connections are dealt round-robin, and a connection lives on
// one thread for its whole life, so no strand or cross-thread lock sits on the request path.
//
// What a client cannot do to it:
//  - send more than `max_header_bytes` of header (431) or a body over the route's limit (413,
//    answered from Content-Length before the body is read, and the connection closed);
//  - hold a connection by sending slowly or not at all: a new connection's first request header
//    must be complete within `header_timeout` of the accept (TLS handshake included), a later
//    one's within `header_timeout` of its first byte, the whole request within
//    `request_timeout`, and a keep-alive connection idle between requests is closed after
//    `idle_timeout`;
//  - open more than `max_connections` at once, or more than `max_connections_per_client` from one
//    client network (further ones are closed at accept);
//  - make the acceptor spin: when accept fails (descriptors exhausted, no memory) it retries after
//    a pause that doubles up to kMaxAcceptBackoff, and says so in the log at most once every
//    kAcceptLogInterval, with the count of failures since.
//
// Shutdown() (SIGTERM): stop accepting, close idle connections, let in-flight requests finish
// with `Connection: close`, and return from Run() when they are done or at the deadline.
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/cidr.h"
#include "core/status.h"
#include "http/metrics.h"
#include "http/pipeline.h"

namespace bulwark::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8420";  // "host:port", "[v6]:port"; port 0 picks a free one
  int io_threads = 1;
  // Run the pipeline for routes whose handler may wait (on the store, on a change's commit).
  // Waiting for a request's record holds no thread: it completes back on the io thread.
  int worker_threads = 32;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_connections = 4096;
  // Connections one client network (an IPv4 address, an IPv6 /64) may hold at once; 0: no cap.
  // Peers in `uncapped_peers` (the trusted proxies, whose connections carry many clients) are
  // not counted: the proxy limits its own clients.
  std::size_t max_connections_per_client = 256;
  std::vector<core::Cidr> uncapped_peers;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
};

class SessionBase;

// "127.0.0.1:8420", "[::1]:8420" or "localhost:8420" (no DNS). Fails with "invalid_listen".
StatusOr<boost::asio::ip::tcp::endpoint> ParseListenAddress(const std::string& listen);

class Server {
 public:
  Server(ServerOptions options, Pipeline& pipeline, Metrics& metrics);
  ~Server();

  // Binds and listens. Fails (kUnavailable "listen_failed") if the address is unusable.
  Status Listen();
  // The bound address, e.g. "127.0.0.1:34567" (valid after Listen).
  std::string bound_address() const;

  // Runs the io threads until Shutdown() has drained or hit its deadline.
  void Run();

  // Thread-safe; returns at once. In-flight requests get until `grace` to finish.
  void Shutdown(std::chrono::milliseconds grace);

  // The context that owns the acceptor, signals and the shutdown timer.
  boost::asio::io_context& io_context() { return *iocs_.front(); }

  // For sessions.
  const ServerOptions& options() const { return options_; }
  Pipeline& pipeline() { return pipeline_; }
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  void Register(const std::shared_ptr<SessionBase>& s);
  // `client_slot`: the network the connection was counted against at accept (empty: none).
  // Runs `f` on the worker pool (blocking allowed there, never on an io thread).
  template <class F>
  void RunBlocking(F&& f) {
    boost::asio::post(workers_, std::forward<F>(f));
  }
  void Unregister(SessionBase* s, const std::string& client_slot);

  static constexpr auto kMaxAcceptBackoff = std::chrono::milliseconds(500);
  static constexpr auto kAcceptLogInterval = std::chrono::seconds(10);

 private:
  void Accept();
  void AcceptLater(const boost::system::error_code& ec);
  // Counts a connection against its client network; false if the network is at its cap.
  bool TakeClientSlot(const std::string& network);
  void ReleaseClientSlot(const std::string& network);
  void StopIfDrained();
  void StopAll();
  void Sweep();
  static constexpr auto kSweepInterval = std::chrono::milliseconds(100);

  ServerOptions options_;
  Pipeline& pipeline_;
  Metrics& metrics_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};  // Run has returned
  std::atomic<std::size_t> open_connections_{0};
  std::mutex sessions_mu_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;
  // Declared after the registry: destroying the io_context destroys pending handlers, which own
  // sessions, whose destructors unregister themselves.
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::size_t next_ioc_ = 0;  // used only on the acceptor's thread
  // Accept failures, also only on the acceptor's thread.
  std::chrono::milliseconds accept_backoff_{0};
  std::chrono::steady_clock::time_point accept_logged_at_{};
  std::uint64_t accept_failures_unlogged_ = 0;
  std::unique_ptr<boost::asio::steady_timer> accept_retry_timer_;
  std::mutex clients_mu_;
  std::unordered_map<std::string, std::size_t> connections_per_client_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<boost::asio::steady_timer> shutdown_timer_;
  std::unique_ptr<boost::asio::steady_timer> sweep_timer_;
  boost::asio::thread_pool workers_;
};

// What the server needs of a connection when it drains.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection if it is waiting for a next request; a request in progress finishes.
  virtual void CloseIfIdle() = 0;
  // Timeouts are coarse: each connection keeps a deadline, and the server's sweeper (every
  // kSweepInterval) calls Expire() on those past it, which cancels their pending I/O.
  virtual bool Expired(std::chrono::steady_clock::time_point now) const = 0;
  virtual void Expire() = 0;
};

}  // namespace bulwark::http
