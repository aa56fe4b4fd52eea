#pragma once
// Outgoing mail: magic links, verification codes and notices to users.
//
// A message's text is a secret (it may hold a magic link that logs its holder in): it is never
// logged, never put in a Status, and the wire copy SmtpMailer builds is wiped after sending.
//
// Two implementations:
//   SmtpMailer    submits to a real server with libcurl, over TLS only: "smtps://host:465"
//                 (implicit TLS) or "smtp://host:587" with STARTTLS required (a server that does
//                 not offer it is refused, not sent to in clear). The peer's certificate and host
//                 name are always verified; there is no switch to turn that off.
//   OutboxMailer  dev mode: keeps the last N messages in memory for the local outbox page.
//
// Both refuse the same messages (ValidateMailMessage), so what works in dev works in production.
//
// Example:
//   BULWARK_RETURN_IF_ERROR(identity::InitMailTransport());          // once, early in main
//   SmtpOptions o;
//   o.url = "smtps://mail.example.com:465"; o.from = "no-reply@example.com";
//   o.username = "bulwark"; o.password = std::move(password_secret);
//   BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<SmtpMailer> mailer, SmtpMailer::Create(std::move(o)));
//   BULWARK_RETURN_IF_ERROR(mailer->Send({"alice@example.com", "Your sign-in link", text}));
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::identity {

// Largest accepted subject (bytes of UTF-8) and text (bytes, before line-ending normalization).
inline constexpr std::size_t kMaxMailSubjectBytes = 512;
inline constexpr std::size_t kMaxMailTextBytes = 256 * 1024;

struct MailMessage {
  std::string to;       // one address: "alice@example.com" (no display name, no list)
  std::string subject;  // UTF-8, one line
  std::string text;     // UTF-8 plain text; may contain a magic link: a secret, never log it
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Thread-safe in both implementations.
  virtual Status Send(const MailMessage& message) = 0;
};

// Initializes libcurl (identity/curl_global.h's InitLibcurl, shared with the OpenID Provider
// client). Call once from main before any thread starts; later
// calls (and the call SmtpMailer makes itself, as a safety net) return the first call's result.
// kInternal if libcurl cannot be initialized or was built without TLS.
Status InitMailTransport();

// True for a plain addr-spec Bulwark is willing to put in To:/From: and in RCPT TO: printable
// ASCII dot-atom local part (at most 64 bytes) "@" a host name of letters, digits and hyphens,
// at most 254 bytes in all. No display names, comments, quoted strings, address literals,
// whitespace or control characters (so no header or SMTP command can be injected through it).
bool IsAcceptableMailAddress(std::string_view address);

// Checks a message before it is sent. kInvalidArgument with reason "invalid_email" when the
// recipient is not IsAcceptableMailAddress, the subject is longer than kMaxMailSubjectBytes or
// holds CR, LF or another control character (header injection) or invalid UTF-8, or the text is
// longer than kMaxMailTextBytes, holds NUL or invalid UTF-8, or has a line over 998 bytes.
// The message never quotes the offending value.
Status ValidateMailMessage(const MailMessage& message);

// The RFC 5322 message SmtpMailer submits: headers Date (from `now_unix`, UTC), From, To,
// Subject (RFC 2047 base64 encoded words when not plain ASCII), Message-ID (<message_id_local@
// from's domain>), MIME-Version, Content-Type text/plain; charset=utf-8,
// Content-Transfer-Encoding 8bit; then the text with every line ending made CRLF, ending in
// CRLF. SMTP dot-stuffing is libcurl's job, not done here. Validates as ValidateMailMessage and
// refuses an unacceptable `from`. Exposed for tests; the result holds the secret text.
StatusOr<std::string> FormatMailMessage(std::string_view from, const MailMessage& message,
                                        std::int64_t now_unix, std::string_view message_id_local);

struct SmtpOptions {
  // "smtp://host:587" (STARTTLS required, unless allow_plaintext) or "smtps://host:465". No
  // user info in the URL: credentials go in username/password.
  std::string url;
  std::string username;          // empty: no AUTH
  crypto::SecretBytes password;  // only with a username
  std::string from;              // envelope and header sender; an IsAcceptableMailAddress
  std::string ca_file;           // optional PEM bundle; empty: the system's trust store
  std::chrono::milliseconds timeout{10000};  // the whole submission, connect included
  // Dev and tests only: speak SMTP in clear on smtp:// (CURLUSESSL_NONE). Refused together with
  // credentials, so a password never crosses the network in clear.
  bool allow_plaintext = false;
};

class SmtpMailer : public Mailer {
 public:
  // Checks the options. kInvalidArgument, reason "invalid_email" for a `from` that is not
  // IsAcceptableMailAddress (CR/LF included), and reason "invalid_mail_config" for: a URL that
  // is not smtp:// or smtps:// with a host, or that holds user info, whitespace, non-ASCII or
  // control characters; a user name with control characters; a password without a user name or
  // holding NUL; credentials with allow_plaintext; a CA file that cannot be read; a timeout that
  // is not positive.
  static StatusOr<std::unique_ptr<SmtpMailer>> Create(SmtpOptions options);

  // Submits one message (one connection per call). kInvalidArgument "invalid_email" as
  // ValidateMailMessage; kUnavailable "mail_unavailable" for any transport or server failure
  // (refused connection, timeout, no STARTTLS offered, certificate or host-name mismatch, AUTH
  // or RCPT or DATA rejected). The Status never holds the text, the password or the address;
  // the log line ("mail.send_failed") holds libcurl's error code and the SMTP reply code only.
  Status Send(const MailMessage& message) override;

  // Replaces the password (the configuration's mail.smtp_password_file, re-read on SIGHUP).
  // The checks of Create apply: kInvalidArgument "invalid_mail_config" for a password without a
  // user name or holding NUL, and the old one is kept. A message being sent keeps the password
  // it started with. Returns whether the password changed (compared in constant time).
  StatusOr<bool> SetPassword(crypto::SecretBytes password);

 private:
  SmtpMailer(SmtpOptions options, std::string from_domain);

  const SmtpOptions options_;      // its password is the one at Create; password_ is the current
  const std::string from_domain_;  // for Message-ID
  mutable std::mutex password_mu_;
  crypto::SecretBytes password_;
};

// Dev mode: Send validates the message, then keeps it in memory (the oldest dropped beyond the
// capacity). Nothing goes over the network.
class OutboxMailer : public Mailer {
 public:
  // A capacity of 0 is taken as 1.
  explicit OutboxMailer(std::size_t capacity = 100);

  Status Send(const MailMessage& message) override;
  // The kept messages, newest last.
  std::vector<MailMessage> Messages() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<MailMessage> messages_;
};

}  // namespace bulwark::identity
