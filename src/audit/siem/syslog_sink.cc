#include "audit/siem/syslog_sink.h"

#include "crypto/tls_context.h"

#include <poll.h>
#include <sys/ioctl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

namespace bulwark::audit::siem {
namespace {

using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

std::int64_t Ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

StatusOr<std::pair<std::string, std::uint16_t>> ParseSyslogAddress(std::string_view address) {
  const auto bad = [] {
    return Status::InvalidArgument("syslog_address", "must be host:port or [ipv6]:port with a port 1-65535");
  };
  std::string_view host;
  std::string_view port;
  if (address.starts_with('[')) {
    const auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') return bad();
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos || address.find(':') != colon) return bad();
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return bad();
  }
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) return bad();
  }
  return std::pair<std::string, std::uint16_t>(std::string(host), static_cast<std::uint16_t>(value));
}

SyslogSink::SyslogSink(SyslogSinkOptions options, SyslogIdentity identity)
    : options_(std::move(options)), identity_(std::move(identity)) {}

SyslogSink::~SyslogSink() { Close(); }

StatusOr<std::unique_ptr<SyslogSink>> SyslogSink::Create(SyslogSinkOptions options, SyslogIdentity identity) {
  std::unique_ptr<SyslogSink> sink(new SyslogSink(std::move(options), std::move(identity)));
  if (!sink->options_.tls) return sink;
  BULWARK_ASSIGN_OR_RETURN(auto ctx, crypto::MakeClientTlsContext(sink->options_.ca_file, "syslog_tls"));
  if (sink->options_.server_name.empty()) sink->options_.server_name = sink->options_.host;
  sink->tls_context_ = std::move(ctx);
  return sink;
}

SyslogSink::Tcp::socket& SyslogSink::Socket() { return tls_ ? tls_->next_layer() : *plain_; }

void SyslogSink::CancelAt(Clock::time_point deadline) { cancel_at_ns_ = Ns(deadline); }

bool SyslogSink::RunUntil(const bool& done, Clock::time_point deadline, const std::function<void()>& abort) {
  const auto slice = std::chrono::milliseconds(50);
  for (;;) {
    if (done) return true;
    const auto now = Clock::now();
    if (now >= deadline || Ns(now) >= cancel_at_ns_.load()) break;
    io_.restart();
    io_.run_for(std::min<Clock::duration>(slice, deadline - now));
  }
  // Timed out: closing the socket aborts the pending operation; run its handler to completion.
  boost::system::error_code ignored;
  if (abort) {
    abort();
  } else if (plain_ || tls_) {
    Socket().close(ignored);
  }
  io_.restart();
  io_.run();
  return done;
}

Status SyslogSink::Lost(std::string message) {
  Close();
  return Status::Unavailable("syslog_unavailable", std::move(message));
}

Status SyslogSink::Connect() {
  Close();
  bool done = false;
  boost::system::error_code ec;
  Tcp::resolver::results_type endpoints;
  Tcp::resolver resolver(io_);
  resolver.async_resolve(options_.host, std::to_string(options_.port),
                         [&](const boost::system::error_code& e, Tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                           done = true;
                         });
  const auto deadline = Clock::now() + options_.connect_timeout;
  if (!RunUntil(done, deadline, [&resolver] { resolver.cancel(); }) || ec) return Lost("cannot resolve the syslog receiver");

  if (tls_context_) {
    tls_.emplace(io_, *tls_context_);
  } else {
    plain_.emplace(io_);
  }
  done = false;
  asio::async_connect(Socket(), endpoints, [&](const boost::system::error_code& e, const Tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!RunUntil(done, deadline) || ec) return Lost("cannot connect to the syslog receiver");
  Socket().set_option(Tcp::no_delay(true), ec);

  if (tls_) {
    const bool ok = crypto::SetTlsPeerName(*tls_, options_.server_name).ok();
    if (!ok) return Lost("cannot set the TLS server name");
    done = false;
    tls_->async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& e) {
      ec = e;
      done = true;
    });
    if (!RunUntil(done, Clock::now() + options_.connect_timeout) || ec) {
      return Lost("TLS handshake with the syslog receiver failed (certificate not verified or no common protocol)");
    }
  }
  connected_ = true;
  bytes_written_ = 0;
  in_flight_.clear();
  confirmed_ = 0;
  return Status::Ok();
}

void SyslogSink::Close() {
  boost::system::error_code ignored;
  if (plain_) plain_->close(ignored);
  if (tls_) tls_->next_layer().close(ignored);  // no close_notify: the receiver may be gone
  io_.restart();
  io_.poll();
  plain_.reset();
  tls_.reset();
  connected_ = false;
  in_flight_.clear();
}

Status SyslogSink::Send(std::span<const ExportRecord> records) {
  if (!connected_) return Lost("not connected");
  if (records.empty()) return Status::Ok();
  std::string frames;
  for (const ExportRecord& r : records) {
    frames += FrameOctetCounting(r.checkpoint ? FormatSyslogCheckpoint(identity_, *r.checkpoint)
                                              : FormatSyslogRecord(identity_, r.seq, r.entry));
  }
  bool done = false;
  boost::system::error_code ec;
  std::size_t written = 0;
  auto handler = [&](const boost::system::error_code& e, std::size_t n) {
    ec = e;
    written = n;
    done = true;
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(frames), handler);
  } else {
    asio::async_write(*plain_, asio::buffer(frames), handler);
  }
  if (!RunUntil(done, Clock::now() + options_.write_timeout)) return Lost("writing to the syslog receiver timed out");
  if (ec || written != frames.size()) return Lost("the syslog receiver closed the connection");
  bytes_written_ += written;
  in_flight_.push_back({records.back().seq, bytes_written_, Clock::now()});
  return Status::Ok();
}

StatusOr<std::int64_t> SyslogSink::Confirmed() {
  if (!connected_) return Lost("not connected");
  const int fd = Socket().native_handle();
  pollfd p{.fd = fd, .events = POLLIN | POLLRDHUP, .revents = 0};
  if (::poll(&p, 1, 0) < 0) return Lost("cannot poll the syslog connection");
  // The receiver never speaks first in syslog; a hang-up or reset means it is gone, and what it
  // had not read is lost. (Bytes it sent, such as TLS 1.3 session tickets, are left unread.)
  if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return Lost("the syslog receiver closed the connection");
  if (!tls_ && (p.revents & POLLIN) != 0) {
    char junk[512];
    while (::recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0) {
    }
  }
  int unacked = 0;
  if (::ioctl(fd, TIOCOUTQ, &unacked) != 0) return Lost("cannot inspect the syslog connection");
  const std::uint64_t outq = static_cast<std::uint64_t>(std::max(unacked, 0));
  // Over TLS the record overhead makes byte counts incomparable: confirm only when all is acked.
  const std::uint64_t acked = tls_ ? (outq == 0 ? bytes_written_ : 0) : bytes_written_ - std::min(outq, bytes_written_);
  const auto cutoff = Clock::now() - options_.confirm_grace;
  while (!in_flight_.empty() && in_flight_.front().end_bytes <= acked && in_flight_.front().sent <= cutoff) {
    confirmed_ = in_flight_.front().seq;
    in_flight_.pop_front();
  }
  return confirmed_;
}

}  // namespace bulwark::audit::siem
