#include "http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/thread_name.h"
#include "core/thread_role.h"
#include "http/errors.h"

namespace bulwark::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using PlainStream = tcp::socket;
using TlsStream = asio::ssl::stream<tcp::socket>;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 16 * 1024;
// After refusing a request we stop sending, then read and discard what the client still sends
// for a moment, so our error response is not destroyed by a TCP reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;

bool IsParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(Server& server, tcp::socket&& socket, const core::IpAddress& peer, std::string client_slot)
    requires(!kTls)
      : server_(server), stream_(std::move(socket)), peer_(peer), client_slot_(std::move(client_slot)) {}
  Session(Server& server, tcp::socket&& socket, const core::IpAddress& peer, std::string client_slot,
          asio::ssl::context& tls)
    requires(kTls)
      : server_(server),
        stream_(std::move(socket), tls),
        peer_(peer),
        client_slot_(std::move(client_slot)) {}

  ~Session() override { server_.Unregister(this, client_slot_); }

  void Start() {
    server_.Register(this->shared_from_this());
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->OnStart(); });
  }

  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) self->Cancel();
    });
  }

  bool Expired(Clock::time_point now) const override {
    const auto d = deadline_.load(std::memory_order_relaxed);
    return d != kNoDeadline && now.time_since_epoch().count() > d;
  }

  void Expire() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->Expired(Clock::now())) {
        self->timed_out_ = true;
        self->Cancel();
      }
    });
  }

 private:
  static constexpr Clock::rep kNoDeadline = std::numeric_limits<Clock::rep>::max();

  const ServerOptions& opts() const { return server_.options(); }
  tcp::socket& socket() { return beast::get_lowest_layer(stream_); }
  void SetDeadline(Clock::time_point t) { deadline_.store(t.time_since_epoch().count(), std::memory_order_relaxed); }
  void ExpiresAfter(Clock::duration d) { SetDeadline(Clock::now() + d); }
  void Cancel() {
    beast::error_code ec;
    socket().cancel(ec);
  }

  void OnStart() {
    // The first request's header is due `header_timeout` after the accept: a client that
    // connects and sends nothing holds the connection no longer than one that sends slowly.
    request_began_ = Clock::now();
    if constexpr (kTls) {
      SetDeadline(request_began_ + opts().header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Finalize();
                                self->ReadIdle();
                              });
    } else {
      ReadIdle();
    }
  }

  // Waits for the first byte of a request. Before the first request the header deadline set at
  // the accept runs; between requests, the idle timeout, and the header timeout starts with the
  // next request's first byte.
  void ReadIdle() {
    if (server_.draining()) return Close(false);
    const bool first = requests_ == 0;
    if (!first) request_began_ = Clock::now();
    if (buffer_.size() > 0) return ReadHeader();
    idle_ = true;
    if (first) {
      SetDeadline(request_began_ + opts().header_timeout);
    } else {
      ExpiresAfter(opts().idle_timeout);
    }
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this(), first](beast::error_code ec, std::size_t n) {
                              self->idle_ = false;
                              if (ec) {
                                if (first && self->timed_out_) {
                                  log::Debug("http.first_byte_timeout", {{"peer", self->peer_.ToString()}});
                                }
                                return self->Close(false);
                              }
                              if (!first) self->request_began_ = Clock::now();
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  // Reads the header a piece at a time and counts every byte of it: Beast's header_limit bounds
  // only what is unparsed at each step, so many medium-sized fields would pass it.
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts().max_header_bytes));
    // The body limit depends on the route, known only once the header is in (OnHeader).
    parser_->body_limit(boost::none);
    header_bytes_ = 0;
    ++requests_;
    request_deadline_ = request_began_ + opts().request_timeout;
    SetDeadline(request_began_ + std::min(opts().header_timeout, opts().request_timeout));
    ParseHeaderBuffered();
  }

  // Hands what is buffered to the parser, and reads more until the header is complete. The bytes
  // are looked at before the parser sees them, to refuse obsolete line folding (below).
  void ParseHeaderBuffered() {
    while (buffer_.size() > 0) {
      if (HasObsFold(buffer_.cdata())) return OnHeader(bhttp::error::bad_value, true);
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.cdata(), ec);
      buffer_.consume(used);
      header_bytes_ += used;
      if (header_bytes_ > opts().max_header_bytes) return OnHeader(bhttp::error::header_limit);
      if (ec == bhttp::error::need_more) break;
      if (ec || parser_->is_header_done()) return OnHeader(ec);
      if (used == 0) break;
    }
    // All that is buffered now belongs to the unfinished header.
    if (header_bytes_ + buffer_.size() > opts().max_header_bytes) {
      return OnHeader(bhttp::error::header_limit);
    }
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->OnHeader(ec);
                              self->buffer_.commit(n);
                              self->ParseHeaderBuffered();
                            });
  }

  // True if the header at the front of `bytes` (which starts at a line the parser has not taken)
  // folds a line: CRLF followed by a space or tab before the blank line that ends the header.
  // Beast joins folded lines into one value; a proxy in front may not, so a folded
  // "Transfer-Encoding:\r\n chunked" would frame the body one way here and another way there.
  // RFC 9112 §5.2 lets a server refuse obs-fold with 400, which is what ambiguous framing gets.
  static bool HasObsFold(const asio::const_buffer& bytes) {
    const std::string_view text(static_cast<const char*>(bytes.data()), bytes.size());
    for (std::size_t at = text.find("\r\n"); at != std::string_view::npos; at = text.find("\r\n", at + 2)) {
      if (at + 2 >= text.size()) return false;  // the next line's first byte has not arrived
      const char next = text[at + 2];
      if (next == '\r') return false;  // the blank line: the header ends here
      if (next == ' ' || next == '\t') return true;
    }
    return false;
  }

  void OnHeader(beast::error_code ec, bool obs_fold = false) {
    if (obs_fold) {
      return Reject(Status::InvalidArgument("malformed_request",
                                            "a header line continues on the next line (obsolete line "
                                            "folding); send each header field on one line"),
                    false);
    }
    if (ec == bhttp::error::header_limit) {
      return Reject(TransportStatus(TransportError::kHeadersTooLarge,
                                    "the request header exceeds " +
                                        std::to_string(opts().max_header_bytes) + " bytes"),
                    false);
    }
    if (ec && IsParseError(ec)) {
      return Reject(Status::InvalidArgument("malformed_request", "the request could not be parsed"), false);
    }
    if (ec) {
      if (timed_out_) log::Debug("http.header_timeout", {{"peer", peer_.ToString()}});
      return Close(false);
    }
    const Request& req = parser_->get();
    // Framing the server and a proxy in front could read differently is refused (RFC 9112
    // §6.1): a Transfer-Encoding whose last coding is not chunked, and HTTP/1.1 without Host.
    if (req.find(bhttp::field::transfer_encoding) != req.end() && !parser_->chunked()) {
      return Reject(Status::InvalidArgument("malformed_request", "unsupported Transfer-Encoding"), true);
    }
    if (req.version() >= 11 && req.find(bhttp::field::host) == req.end()) {
      return Reject(Status::InvalidArgument("malformed_request", "an HTTP/1.1 request needs a Host header"), true);
    }
    const Pipeline::Admission admission = server_.pipeline().Admit(req, opts().max_body_bytes);
    const std::size_t limit = admission.body_limit;
    runs_inline_ = admission.runs_inline;
    if (auto length = parser_->content_length(); length && *length > limit) {
      return Reject(Status(ErrorCode::kPayloadTooLarge, "payload_too_large",
                           "the request body exceeds " + std::to_string(limit) + " bytes"),
                    true);
    }
    // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 §6.3):
    // `curl -XPOST` on a route that takes none sends exactly that, and the route decides.
    parser_->body_limit(limit);
    if (parser_->is_done()) return OnBody({});
    SetDeadline(request_deadline_);
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = this->shared_from_this()](beast::error_code wec, std::size_t) {
                          if (wec) return self->Close(false);
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->OnBody(ec);
                      });
  }

  void OnBody(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return Reject(Status(ErrorCode::kPayloadTooLarge, "payload_too_large",
                           "the request body exceeds the limit for this route"),
                    true);
    }
    if (ec && IsParseError(ec)) {
      return Reject(Status::InvalidArgument("malformed_request", "the request could not be parsed"), true);
    }
    if (ec) return Close(false);
    auto handle = [self = this->shared_from_this()] {
      self->server_.pipeline().HandleAsync(
          self->parser_->get(), self->peer_, kTls, self->Resumer(), [self](Response res) {
            self->OnThisThread(
                [self, res = std::move(res)]() mutable { self->Respond(std::move(res)); });
          });
    };
    // The io thread runs what only reads locally; a route that may wait on the store or on a
    // change's group commit goes to the worker pool. Neither waits for a request's record: its
    // completion comes back to this connection's thread.
    if (runs_inline_) return handle();
    server_.RunBlocking(std::move(handle));
  }

  // Posts work to this connection's io thread.
  Pipeline::Resume Resumer() {
    return [self = this->shared_from_this()](std::function<void()> f) {
      asio::post(self->stream_.get_executor(), std::move(f));
    };
  }

  // Runs `f` now when on this connection's io thread, else posts it there.
  template <class F>
  void OnThisThread(F&& f) {
    asio::dispatch(stream_.get_executor(), std::forward<F>(f));
  }

  void Respond(Response res) {
    parser_.reset();
    res.keep_alive = res.keep_alive && !server_.draining();
    Write(res, res.keep_alive, false);
  }

  void Reject(const Status& status, bool linger) {
    server_.pipeline().RejectAsync(parser_ ? &parser_->get() : nullptr, peer_, status, Resumer(),
                                   [self = this->shared_from_this(), linger](Response res) {
                                     self->OnThisThread([self, linger, res = std::move(res)] {
                                       self->Write(res, false, linger);
                                     });
                                   });
  }

  void Write(const Response& res, bool keep, bool linger) {
    out_.clear();
    res.SerializeTo(out_);
    ExpiresAfter(opts().request_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), keep, linger](beast::error_code ec, std::size_t) {
                        if (ec) return self->Finalize();
                        if (!keep) return self->Close(linger);
                        self->ReadIdle();
                      });
  }

  void Close(bool linger) {
    if constexpr (kTls) {
      (void)linger;
      ExpiresAfter(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->Finalize(); });
    } else {
      beast::error_code ec;
      socket().shutdown(tcp::socket::shutdown_send, ec);
      if (!linger || ec) return Finalize();
      ExpiresAfter(kLingerTime);
      Drain();
    }
  }

  void Drain() {
    socket().async_read_some(asio::buffer(drain_buf_),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                               self->drained_ += n;
                               if (ec || self->drained_ > kLingerBytes) return self->Finalize();
                               self->Drain();
                             });
  }

  void Finalize() {
    SetDeadline(Clock::time_point::max());
    beast::error_code ec;
    socket().close(ec);
  }

  Server& server_;
  Stream stream_;
  core::IpAddress peer_;
  const std::string client_slot_;  // the network this connection counts against, if any
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string out_;  // the serialized response; reused across requests on this connection
  std::array<char, 4096> drain_buf_{};
  Clock::time_point request_began_;  // the accept, for the first request; else its first byte
  Clock::time_point request_deadline_;
  std::uint64_t requests_ = 0;  // requests begun on this connection
  std::atomic<Clock::rep> deadline_{kNoDeadline};  // read by the sweeper on another thread
  std::size_t drained_ = 0;
  std::size_t header_bytes_ = 0;
  bool idle_ = false;
  bool timed_out_ = false;
  bool runs_inline_ = false;  // the current request's route, decided from its header
};

}  // namespace

StatusOr<tcp::endpoint> ParseListenAddress(const std::string& listen) {
  std::string host;
  std::string port;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return Status::InvalidArgument("invalid_listen", "listen address must be [ipv6]:port");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return Status::InvalidArgument("invalid_listen", "listen address must be host:port");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  auto ip = core::IpAddress::Parse(host);
  if (!ip.ok()) return Status::InvalidArgument("invalid_listen", "listen host must be an IP address or localhost");
  int p = -1;
  try {
    std::size_t used = 0;
    p = std::stoi(port, &used);
    if (used != port.size()) p = -1;
  } catch (...) {
    p = -1;
  }
  if (p < 0 || p > 65535) return Status::InvalidArgument("invalid_listen", "listen port must be 0-65535");
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("invalid_listen", "listen host must be an IP address");
  return tcp::endpoint(addr, static_cast<unsigned short>(p));
}

namespace {
std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int n) {
  std::vector<std::unique_ptr<asio::io_context>> v;
  for (int i = 0; i < std::max(1, n); ++i) v.push_back(std::make_unique<asio::io_context>(1));
  return v;
}
}  // namespace

Server::Server(ServerOptions options, Pipeline& pipeline, Metrics& metrics)
    : options_(std::move(options)),
      pipeline_(pipeline),
      metrics_(metrics),
      iocs_(MakeContexts(options_.io_threads)),
      acceptor_(*iocs_.front()),
      workers_(static_cast<std::size_t>(std::max(1, options_.worker_threads))) {
  for (auto& ioc : iocs_) work_.push_back(asio::make_work_guard(*ioc));
}

Server::~Server() {
  beast::error_code ec;
  acceptor_.close(ec);
}

Status Server::Listen() {
  BULWARK_ASSIGN_OR_RETURN(tcp::endpoint ep, ParseListenAddress(options_.listen));
  beast::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("listen_failed", "cannot listen on " + options_.listen + ": " + ec.message());
  }
  return Status::Ok();
}

std::string Server::bound_address() const {
  beast::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  if (ec) return "";
  const std::string host = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

void Server::Accept() {
  asio::io_context& target = *iocs_[next_ioc_++ % iocs_.size()];
  acceptor_.async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || draining()) return;
      return AcceptLater(ec);
    }
    accept_backoff_ = std::chrono::milliseconds(0);
    if (draining()) return;
    const auto refuse = [&](bool per_client) {
      if (per_client) {
        metrics_.ClientConnectionRejected();
      } else {
        metrics_.ConnectionRejected();
      }
      beast::error_code ignored;
      socket.close(ignored);
      Accept();
    };
    if (open_connections_.load() >= options_.max_connections) return refuse(false);
    beast::error_code opt_ec;
    const auto remote = socket.remote_endpoint(opt_ec);
    auto peer = core::IpAddress::Parse(opt_ec ? std::string("0.0.0.0") : remote.address().to_string());
    if (!peer.ok()) peer = core::IpAddress::Parse("0.0.0.0");
    std::string slot;
    if (options_.max_connections_per_client > 0 && !core::AnyContains(options_.uncapped_peers, *peer)) {
      slot = peer->ClientNetwork();
      if (!TakeClientSlot(slot)) return refuse(true);
    }
    socket.set_option(tcp::no_delay(true), opt_ec);
    open_connections_.fetch_add(1);
    metrics_.ConnectionOpened();
    if (options_.tls) {
      std::make_shared<Session<TlsStream>>(*this, std::move(socket), *peer, std::move(slot), *options_.tls)
          ->Start();
    } else {
      std::make_shared<Session<PlainStream>>(*this, std::move(socket), *peer, std::move(slot))->Start();
    }
    Accept();
  });
}

// accept(2) failed: out of descriptors (EMFILE, ENFILE) or memory, or the connection failed
// before it was accepted. Retrying at once would spin a core (and, logging each failure, fill
// the disk) while nothing frees a descriptor, so the next accept waits, longer after each
// consecutive failure; connections meanwhile wait in the listen backlog.
void Server::AcceptLater(const boost::system::error_code& ec) {
  accept_backoff_ = std::clamp(accept_backoff_ * 2, std::chrono::milliseconds(5), kMaxAcceptBackoff);
  ++accept_failures_unlogged_;
  const auto now = Clock::now();
  if (accept_logged_at_ == Clock::time_point{} || now - accept_logged_at_ >= kAcceptLogInterval) {
    log::Warn("http.accept_failed", {{"error", ec.message()},
                                     {"failures", accept_failures_unlogged_},
                                     {"retry_ms", static_cast<std::int64_t>(accept_backoff_.count())},
                                     {"open_connections", static_cast<std::int64_t>(open_connections_.load())}});
    accept_logged_at_ = now;
    accept_failures_unlogged_ = 0;
  }
  if (!accept_retry_timer_) accept_retry_timer_ = std::make_unique<asio::steady_timer>(*iocs_.front());
  accept_retry_timer_->expires_after(accept_backoff_);
  accept_retry_timer_->async_wait([this](beast::error_code wec) {
    if (wec || draining()) return;
    Accept();
  });
}

bool Server::TakeClientSlot(const std::string& network) {
  std::lock_guard<std::mutex> lock(clients_mu_);
  std::size_t& n = connections_per_client_[network];
  if (n >= options_.max_connections_per_client) {
    if (n == 0) connections_per_client_.erase(network);
    return false;
  }
  ++n;
  return true;
}

void Server::ReleaseClientSlot(const std::string& network) {
  std::lock_guard<std::mutex> lock(clients_mu_);
  const auto it = connections_per_client_.find(network);
  if (it == connections_per_client_.end()) return;
  if (--it->second == 0) connections_per_client_.erase(it);
}

void Server::Register(const std::shared_ptr<SessionBase>& s) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_.emplace(s.get(), s);
}

void Server::Unregister(SessionBase* s, const std::string& client_slot) {
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.erase(s);
  }
  if (!client_slot.empty()) ReleaseClientSlot(client_slot);
  open_connections_.fetch_sub(1);
  metrics_.ConnectionClosed();
  StopIfDrained();
}

void Server::StopIfDrained() {
  // Once Run has returned, a session can still end: a record completed after the shutdown
  // deadline posts to a stopped io_context, and its handler (and session) dies with it, while
  // iocs_ is being destroyed. Nothing is left to stop then.
  if (stopped_.load(std::memory_order_acquire)) return;
  if (draining() && open_connections_.load() == 0) StopAll();
}

void Server::StopAll() {
  for (auto& ioc : iocs_) ioc->stop();
}

void Server::Sweep() {
  sweep_timer_->expires_after(kSweepInterval);
  sweep_timer_->async_wait([this](beast::error_code ec) {
    if (ec) return;
    const auto now = Clock::now();
    std::vector<std::shared_ptr<SessionBase>> expired;
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      for (const auto& [raw, weak] : sessions_) {
        if (raw->Expired(now)) {
          if (auto s = weak.lock()) expired.push_back(std::move(s));
        }
      }
    }
    for (auto& s : expired) s->Expire();
    Sweep();
  });
}

void Server::Run() {
  Accept();
  sweep_timer_ = std::make_unique<asio::steady_timer>(*iocs_.front());
  Sweep();
  std::vector<std::thread> threads;
  threads.reserve(iocs_.size() - 1);
  for (std::size_t i = 1; i < iocs_.size(); ++i) {
    threads.emplace_back([this, i] {
      core::NameThisThread("bw-io");
      core::ScopedThreadRole io(core::ThreadRole::kIo);
      iocs_[i]->run();
    });
  }
  {
    core::ScopedThreadRole io(core::ThreadRole::kIo);  // this thread serves the first context
    iocs_.front()->run();
  }
  StopAll();  // the first context stopped: stop the others too
  for (auto& t : threads) t.join();
  workers_.join();
  stopped_.store(true, std::memory_order_release);
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  asio::post(*iocs_.front(), [this, grace] {
    if (draining_.exchange(true, std::memory_order_acq_rel)) return;
    beast::error_code ec;
    acceptor_.close(ec);
    if (accept_retry_timer_) accept_retry_timer_->cancel();
    shutdown_timer_ = std::make_unique<asio::steady_timer>(*iocs_.front(), grace);
    shutdown_timer_->async_wait([this](beast::error_code wec) {
      if (wec) return;
      log::Warn("server.shutdown_deadline", {{"open_connections", static_cast<std::int64_t>(open_connections_.load())}});
      StopAll();
    });
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      for (const auto& [raw, weak] : sessions_) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->CloseIfIdle();
    StopIfDrained();
  });
}

}  // namespace bulwark::http
