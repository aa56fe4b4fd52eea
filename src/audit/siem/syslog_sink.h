#pragma once
// The syslog sink: RFC 5424 messages (syslog_format.h) over TCP with octet-counting framing
// (RFC 6587 §3.4.1), optionally inside TLS with the receiver's certificate verified.
//
// Plain TCP has no application acknowledgement, so "delivered" is decided conservatively: an
// entry is confirmed when the receiver's TCP stack has acknowledged every byte up to it
// (the socket's unacknowledged-output count, TIOCOUTQ) AND the connection is still open
// `confirm_grace` after it was sent. A receiver that goes away resets or closes the connection;
// everything not yet confirmed is then resent on the next connection. What remains uncovered
// is a receiver that acknowledged bytes and then lost them itself (a crash, not a shutdown);
// use a receiver with a disk-assisted queue if that matters.
//
// Every network step has a deadline (connect, TLS handshake, write), so a dead or stalled
// receiver costs the exporter thread a timeout, never a request.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "audit/siem/sink.h"
#include "audit/siem/syslog_format.h"

namespace bulwark::audit::siem {

struct SyslogSinkOptions {
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;
  std::string ca_file;      // TLS: trust anchors (empty: the system store)
  std::string server_name;  // TLS: name (or IP) the certificate must carry; SNI when a name
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds confirm_grace{200};
};

// "host:port" or "[v6]:port" -> host and port. kInvalidArgument "syslog_address" otherwise.
StatusOr<std::pair<std::string, std::uint16_t>> ParseSyslogAddress(std::string_view address);

class SyslogSink final : public ExportSink {
 public:
  // Builds the TLS context when options.tls (TLS 1.2 minimum, peer verification required).
  // Fails with kFailedPrecondition "syslog_tls" if the CA file cannot be loaded.
  static StatusOr<std::unique_ptr<SyslogSink>> Create(SyslogSinkOptions options, SyslogIdentity identity);
  ~SyslogSink() override;

  std::string_view name() const override { return "syslog"; }
  Status Connect() override;
  bool connected() const override { return connected_; }
  void Close() override;
  Status Send(std::span<const ExportRecord> records) override;
  StatusOr<std::int64_t> Confirmed() override;
  void CancelAt(std::chrono::steady_clock::time_point deadline) override;

 private:
  SyslogSink(SyslogSinkOptions options, SyslogIdentity identity);
  using Tcp = boost::asio::ip::tcp;
  Tcp::socket& Socket();
  // Runs the io_context until `done`, the deadline or the cancel deadline; on a timeout closes
  // the socket (which aborts the operation) and returns false.
  // `abort` (default: close the socket) is what cancels the pending operation.
  bool RunUntil(const bool& done, std::chrono::steady_clock::time_point deadline,
                const std::function<void()>& abort = {});
  Status Lost(std::string message);

  SyslogSinkOptions options_;
  SyslogIdentity identity_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::optional<Tcp::socket> plain_;
  std::optional<boost::asio::ssl::stream<Tcp::socket>> tls_;
  bool connected_ = false;
  std::atomic<std::int64_t> cancel_at_ns_{INT64_MAX};

  struct InFlight {
    std::int64_t seq;         // last entry of a batch
    std::uint64_t end_bytes;  // bytes written on this connection up to and including it
    std::chrono::steady_clock::time_point sent;
  };
  std::deque<InFlight> in_flight_;
  std::uint64_t bytes_written_ = 0;
  std::int64_t confirmed_ = 0;
};

}  // namespace bulwark::audit::siem
