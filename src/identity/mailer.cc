#include "identity/mailer.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <span>
#include <utility>

#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"
#include "crypto/compare.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "identity/curl_global.h"

namespace bulwark::identity {
namespace {

constexpr std::size_t kMaxLineBytes = 998;  // RFC 5322 section 2.1.1, without the CRLF
// RFC 2047: a line holding encoded words is at most 76 characters. 39 bytes make 52 base64
// characters, so "Subject: =?UTF-8?B?" + 52 + "?=" is 73.
constexpr std::size_t kEncodedWordInputBytes = 39;

Status InvalidEmail(std::string message) {
  return Status::InvalidArgument("invalid_email", std::move(message));
}
Status InvalidConfig(std::string message) {
  return Status::InvalidArgument("invalid_mail_config", std::move(message));
}
Status MailUnavailable() {
  return Status::Unavailable("mail_unavailable", "the mail server could not take the message");
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

bool IsAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool IsHostName(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = d.find('.', start);
    const std::string_view label =
        d.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Byte length of the UTF-8 sequence starting with `lead` (the text is already known valid).
std::size_t Utf8SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

bool NeedsEncodedWords(std::string_view subject) {
  if (subject.find("=?") != std::string_view::npos) return true;  // would read as an encoded word
  return std::any_of(subject.begin(), subject.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// "Subject: ..." without the CRLF; long non-ASCII subjects are folded between encoded words.
std::string SubjectHeader(std::string_view subject) {
  std::string out = "Subject: ";
  if (!NeedsEncodedWords(subject)) {
    out += subject;
    return out;
  }
  std::size_t i = 0;
  bool first = true;
  while (i < subject.size()) {
    std::size_t end = i;
    while (end < subject.size()) {
      const std::size_t n = Utf8SequenceLength(static_cast<unsigned char>(subject[end]));
      if (end + n - i > kEncodedWordInputBytes) break;
      end += n;
    }
    if (!first) out += "\r\n ";
    first = false;
    out += "=?UTF-8?B?";
    out += crypto::Base64Encode(crypto::AsBytes(subject.substr(i, end - i)));
    out += "?=";
    i = end;
  }
  return out;
}

// RFC 5322 date-time in UTC, e.g. "Mon, 23 Nov 2026 01:38:00 +0000" (no locale involved).
StatusOr<std::string> RfcDate(std::int64_t now_unix) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = static_cast<std::time_t>(now_unix);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1900) {
    return Status::Internal("the clock is out of range");
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return std::string(buf);
}

// Sends the bytes of one message to libcurl.
struct Upload {
  std::span<const std::uint8_t> data;
  std::size_t offset = 0;
};

std::size_t ReadUpload(char* buffer, std::size_t size, std::size_t nitems, void* userdata) {
  Upload* up = static_cast<Upload*>(userdata);
  const std::size_t n = std::min(size * nitems, up->data.size() - up->offset);
  if (n > 0) std::memcpy(buffer, up->data.data() + up->offset, n);
  up->offset += n;
  return n;
}

bool HasControlOrSpace(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return IsControl(u) || u == ' ' || u >= 0x80;
  });
}

Status CheckUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("smtps://")) {
    rest = url.substr(8);
  } else if (url.starts_with("smtp://")) {
    rest = url.substr(7);
  } else {
    return InvalidConfig("the mail URL must start with smtp:// or smtps://");
  }
  if (HasControlOrSpace(url))
    return InvalidConfig("the mail URL holds spaces or control characters");
  if (url.find('@') != std::string_view::npos) {
    return InvalidConfig("the mail URL must not hold credentials; use username and password");
  }
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.front() == ':')
    return InvalidConfig("the mail URL has no host");
  return Status::Ok();
}

}  // namespace

Status InitMailTransport() { return InitLibcurl(); }

bool IsAcceptableMailAddress(std::string_view address) {
  if (address.size() > 254) return false;
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos || address.rfind('@') != at) return false;
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.')
    return false;
  if (local.find("..") != std::string_view::npos) return false;
  if (!std::all_of(local.begin(), local.end(), [](char c) { return c == '.' || IsAtext(c); }))
    return false;
  return IsHostName(domain);
}

Status ValidateMailMessage(const MailMessage& m) {
  if (!IsAcceptableMailAddress(m.to))
    return InvalidEmail("the recipient is not an acceptable address");
  if (m.subject.size() > kMaxMailSubjectBytes) return InvalidEmail("the subject is too long");
  if (std::any_of(m.subject.begin(), m.subject.end(),
                  [](char c) { return IsControl(static_cast<unsigned char>(c)); })) {
    return InvalidEmail("the subject holds a line break or control character");
  }
  if (!core::IsValidUtf8(m.subject)) return InvalidEmail("the subject is not valid UTF-8");
  if (m.text.size() > kMaxMailTextBytes) return InvalidEmail("the text is too long");
  if (m.text.find('\0') != std::string::npos) return InvalidEmail("the text holds a NUL byte");
  if (!core::IsValidUtf8(m.text)) return InvalidEmail("the text is not valid UTF-8");
  std::size_t line = 0;
  for (char c : m.text) {
    if (c == '\r' || c == '\n') {
      line = 0;
    } else if (++line > kMaxLineBytes) {
      return InvalidEmail("a line of the text is longer than 998 bytes");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> FormatMailMessage(std::string_view from, const MailMessage& m,
                                        std::int64_t now_unix, std::string_view message_id_local) {
  if (!IsAcceptableMailAddress(from))
    return InvalidEmail("the sender is not an acceptable address");
  BULWARK_RETURN_IF_ERROR(ValidateMailMessage(m));
  if (message_id_local.empty() || HasControlOrSpace(message_id_local) ||
      message_id_local.find_first_of("<>@") != std::string_view::npos) {
    return Status::Internal("bad Message-ID");
  }
  BULWARK_ASSIGN_OR_RETURN(std::string date, RfcDate(now_unix));
  const std::string subject = SubjectHeader(m.subject);

  std::string out;
  // Reserved up front, so that the secret text is never left behind in a freed buffer.
  out.reserve(512 + from.size() * 2 + m.to.size() + subject.size() + m.text.size() * 2);
  out += "Date: " + date + "\r\n";
  out += "From: ";
  out += from;
  out += "\r\nTo: ";
  out += m.to;
  out += "\r\n";
  out += subject;
  out += "\r\nMessage-ID: <";
  out += message_id_local;
  out += '@';
  out += from.substr(from.find('@') + 1);
  out += ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n";
  for (std::size_t i = 0; i < m.text.size(); ++i) {
    const char c = m.text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < m.text.size() && m.text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

StatusOr<std::unique_ptr<SmtpMailer>> SmtpMailer::Create(SmtpOptions options) {
  BULWARK_RETURN_IF_ERROR(CheckUrl(options.url));
  if (!IsAcceptableMailAddress(options.from))
    return InvalidEmail("the sender is not an acceptable address");
  if (std::any_of(options.username.begin(), options.username.end(),
                  [](char c) { return IsControl(static_cast<unsigned char>(c)); })) {
    return InvalidConfig("the user name holds control characters");
  }
  if (!options.password.empty()) {
    if (options.username.empty()) return InvalidConfig("a password needs a user name");
    if (options.password.reveal_string_view().find('\0') != std::string_view::npos) {
      return InvalidConfig("the password holds a NUL byte");
    }
  }
  if (options.allow_plaintext && !options.username.empty()) {
    return InvalidConfig("credentials are never sent without TLS");
  }
  if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
    return InvalidConfig("the CA file cannot be read");
  }
  if (options.timeout.count() <= 0) return InvalidConfig("the timeout must be positive");
  std::string domain = options.from.substr(options.from.find('@') + 1);
  return std::unique_ptr<SmtpMailer>(new SmtpMailer(std::move(options), std::move(domain)));
}

SmtpMailer::SmtpMailer(SmtpOptions options, std::string from_domain)
    : options_(std::move(options)),
      from_domain_(std::move(from_domain)),
      password_(options_.password.Clone()) {}

StatusOr<bool> SmtpMailer::SetPassword(crypto::SecretBytes password) {
  if (!password.empty()) {
    if (options_.username.empty()) return InvalidConfig("a password needs a user name");
    if (password.reveal_string_view().find('\0') != std::string_view::npos) {
      return InvalidConfig("the password holds a NUL byte");
    }
  }
  std::lock_guard<std::mutex> lock(password_mu_);
  // Digests of both, so the comparison depends on neither length nor content.
  const bool same = crypto::ConstantTimeEquals(crypto::Sha256(password.reveal_span()),
                                               crypto::Sha256(password_.reveal_span()));
  if (!same) password_ = std::move(password);
  return !same;
}

Status SmtpMailer::Send(const MailMessage& message) {
  BULWARK_RETURN_IF_ERROR(ValidateMailMessage(message));
  BULWARK_RETURN_IF_ERROR(InitMailTransport());
  BULWARK_ASSIGN_OR_RETURN(std::string message_id, crypto::RandomHex(16));
  BULWARK_ASSIGN_OR_RETURN(
      std::string wire_text,
      FormatMailMessage(options_.from, message, core::NowUnixSeconds(), message_id));
  // Owns the wire copy from here on, and wipes it on every way out.
  const crypto::SecretBytes wire = crypto::SecretBytes::FromString(std::move(wire_text));

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status::Internal("libcurl could not create a handle");
  const std::string mail_from = "<" + options_.from + ">";
  const std::string rcpt = "<" + message.to + ">";
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients(
      curl_slist_append(nullptr, rcpt.c_str()), &curl_slist_free_all);
  if (!recipients) return Status::Internal("libcurl could not allocate");
  // libcurl wants a NUL-terminated password; this copy is wiped when Send returns (libcurl's own
  // copy is freed, not wiped, by curl_easy_cleanup).
  crypto::SecretBytes password;
  {
    std::lock_guard<std::mutex> lock(password_mu_);
    password = crypto::SecretBytes(password_.size() + 1);
    std::copy(password_.reveal_span().begin(), password_.reveal_span().end(),
              password.reveal_mutable_span().begin());
  }

  Upload upload{wire.reveal_span()};
  CURL* h = curl.get();
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption opt, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, value);
  };
  set(CURLOPT_URL, options_.url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  set(CURLOPT_USE_SSL,
      static_cast<long>(options_.allow_plaintext ? CURLUSESSL_NONE : CURLUSESSL_ALL));
  set(CURLOPT_SSL_VERIFYPEER, 1L);  // never turned off
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) set(CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.username.empty()) {
    set(CURLOPT_USERNAME, options_.username.c_str());
    set(CURLOPT_PASSWORD, reinterpret_cast<const char*>(password.reveal_span().data()));
  }
  set(CURLOPT_MAIL_FROM, mail_from.c_str());
  set(CURLOPT_MAIL_RCPT, recipients.get());
  set(CURLOPT_UPLOAD, 1L);
  set(CURLOPT_READFUNCTION, &ReadUpload);
  set(CURLOPT_READDATA, static_cast<void*>(&upload));
  set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(wire.size()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_VERBOSE, 0L);  // the protocol trace would hold the message
  if (rc != CURLE_OK) {
    log::Error("mail.config_failed",
               {{"curl_code", static_cast<int>(rc)}, {"curl_error", curl_easy_strerror(rc)}});
    return Status::Internal("the mail transport could not be configured");
  }

  rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    long smtp_code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &smtp_code);
    log::Warn("mail.send_failed", {{"curl_code", static_cast<int>(rc)},
                                   {"curl_error", curl_easy_strerror(rc)},
                                   {"smtp_code", static_cast<std::int64_t>(smtp_code)},
                                   {"server", options_.url}});
    return MailUnavailable();
  }
  return Status::Ok();
}

OutboxMailer::OutboxMailer(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

Status OutboxMailer::Send(const MailMessage& message) {
  BULWARK_RETURN_IF_ERROR(ValidateMailMessage(message));
  std::lock_guard<std::mutex> lock(mu_);
  messages_.push_back(message);
  while (messages_.size() > capacity_) messages_.pop_front();
  return Status::Ok();
}

std::vector<MailMessage> OutboxMailer::Messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {messages_.begin(), messages_.end()};
}

}  // namespace bulwark::identity
