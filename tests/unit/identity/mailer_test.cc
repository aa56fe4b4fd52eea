#include "identity/mailer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../live_process.h"
#include "../run_program.h"
#include "crypto/secret_bytes.h"

namespace bulwark::identity {
namespace {

using namespace std::chrono_literals;

MailMessage Msg(std::string to, std::string subject, std::string text) {
  return MailMessage{std::move(to), std::move(subject), std::move(text)};
}

// ---------------------------------------------------------------------------------------------
// A real SMTP server (aiosmtpd, or Python 3.11's deprecated smtpd) run as a child process, its
// stdout (where the debugging handler prints every message it receives) captured to a file.

using testing::CanConnect;
using testing::FreePort;
using testing::ReadFile;
using testing::Spawn;
using testing::TempDir;

struct ServerKind {
  std::string python;
  bool aiosmtpd = false;  // else the stdlib smtpd module
};

// Debian's python3 first: the one python3-aiosmtpd installs into (PATH may name another).
std::optional<ServerKind> FindSmtpServer() {
  static const std::optional<ServerKind> found = []() -> std::optional<ServerKind> {
    for (const char* py : {"/usr/bin/python3", "python3"}) {
      if (testing::RunProgram({py, "-c", "import aiosmtpd"}) == 0) return ServerKind{py, true};
    }
    for (const char* py : {"/usr/bin/python3", "python3"}) {
      if (testing::RunProgram({py, "-W", "ignore", "-c", "import smtpd"}) == 0)
        return ServerKind{py, false};
    }
    return std::nullopt;
  }();
  return found;
}

class SmtpServer {
 public:
  // Starts a server on 127.0.0.1; with a certificate and key it offers (and requires) STARTTLS.
  // nullptr when it cannot be started.
  static std::unique_ptr<SmtpServer> Start(const ServerKind& kind, const std::string& dir,
                                           const std::string& tls_cert = "",
                                           const std::string& tls_key = "") {
    auto s = std::unique_ptr<SmtpServer>(new SmtpServer());
    s->out_path_ = dir + "/smtp-" + std::to_string(++counter_) + ".out";
    s->aiosmtpd_ = kind.aiosmtpd;
    for (int attempt = 0; attempt < 3; ++attempt) {  // the free port may be taken meanwhile
      s->port_ = FreePort();
      if (s->port_ <= 0) return nullptr;
      const std::string listen = "127.0.0.1:" + std::to_string(s->port_);
      std::vector<std::string> args = {kind.python, "-X", "utf8", "-u", "-W", "ignore"};
      if (kind.aiosmtpd) {
        for (const char* a : {"-m", "aiosmtpd", "-n", "-l"}) args.emplace_back(a);
        args.push_back(listen);
        if (!tls_cert.empty()) {
          for (const std::string& a :
               {std::string("--tlscert"), tls_cert, std::string("--tlskey"), tls_key}) {
            args.push_back(a);
          }
        }
      } else {
        if (!tls_cert.empty()) return nullptr;  // smtpd has no TLS
        for (const char* a : {"-m", "smtpd", "-n", "-c", "DebuggingServer"}) args.emplace_back(a);
        args.push_back(listen);
      }
      s->pid_ = Spawn(args, s->out_path_);
      if (s->pid_ <= 0) return nullptr;
      for (auto deadline = std::chrono::steady_clock::now() + 15s;
           std::chrono::steady_clock::now() < deadline;) {
        if (CanConnect(s->port_)) return s;
        int status = 0;
        if (::waitpid(s->pid_, &status, WNOHANG) == s->pid_) {
          s->pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(50ms);
      }
      s->Stop();
    }
    return nullptr;
  }

  ~SmtpServer() { Stop(); }

  int port() const { return port_; }
  // What the server printed; the smtpd fallback's b'...' lines are turned back into their bytes,
  // so both servers' output reads the same.
  std::string Output() const {
    const std::string raw = ReadFile(out_path_);
    return aiosmtpd_ ? raw : UnreprLines(raw);
  }

  // Waits (at most `timeout`) until the output contains `needle`.
  bool WaitForOutput(std::string_view needle, std::chrono::milliseconds timeout = 5s) const {
    for (auto deadline = std::chrono::steady_clock::now() + timeout;;) {
      if (Output().find(needle) != std::string::npos) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(25ms);
    }
  }

 private:
  SmtpServer() = default;
  void Stop() { testing::StopProcess(pid_); }

  // b'Caf\xc3\xa9' -> "Caf\xc3\xa9" (Python's bytes repr: \\, \', \t, \n, \r, \xNN).
  static std::string UnreprLines(const std::string& raw) {
    std::string out;
    std::istringstream in(raw);
    for (std::string line; std::getline(in, line);) {
      if (line.size() >= 3 && line.starts_with("b") && (line[1] == '\'' || line[1] == '"') &&
          line.back() == line[1]) {
        const std::string body = line.substr(2, line.size() - 3);
        for (std::size_t i = 0; i < body.size(); ++i) {
          if (body[i] != '\\' || i + 1 >= body.size()) {
            out += body[i];
            continue;
          }
          const char e = body[++i];
          if (e == 'x' && i + 2 < body.size()) {
            out += static_cast<char>(std::stoi(body.substr(i + 1, 2), nullptr, 16));
            i += 2;
          } else {
            out += e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
          }
        }
      } else {
        out += line;
      }
      out += '\n';
    }
    return out;
  }

  static inline int counter_ = 0;
  bool aiosmtpd_ = true;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string out_path_;
};

SmtpOptions PlainOptions(int port) {
  SmtpOptions o;
  o.url = "smtp://127.0.0.1:" + std::to_string(port);
  o.from = "no-reply@bulwark.test";
  o.timeout = 5000ms;
  o.allow_plaintext = true;
  return o;
}

std::unique_ptr<SmtpMailer> MakeMailer(SmtpOptions o) {
  StatusOr<std::unique_ptr<SmtpMailer>> m = SmtpMailer::Create(std::move(o));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(*m) : nullptr;
}

// ---------------------------------------------------------------------------------------------

TEST(OutboxMailer, KeepsTheNewestInOrder) {
  OutboxMailer outbox(3);
  EXPECT_TRUE(outbox.Messages().empty());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        outbox.Send(Msg("u" + std::to_string(i) + "@example.com", "s" + std::to_string(i), "t"))
            .ok());
  }
  const std::vector<MailMessage> m = outbox.Messages();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].to, "u2@example.com");
  EXPECT_EQ(m[1].subject, "s3");
  EXPECT_EQ(m[2].to, "u4@example.com");
  EXPECT_EQ(m[2].text, "t");
}

TEST(OutboxMailer, DefaultAndZeroCapacity) {
  OutboxMailer def;
  for (int i = 0; i < 150; ++i)
    ASSERT_TRUE(def.Send(Msg("a@example.com", std::to_string(i), "")).ok());
  ASSERT_EQ(def.Messages().size(), 100u);
  EXPECT_EQ(def.Messages().front().subject, "50");
  EXPECT_EQ(def.Messages().back().subject, "149");

  OutboxMailer one(0);
  ASSERT_TRUE(one.Send(Msg("a@example.com", "first", "")).ok());
  ASSERT_TRUE(one.Send(Msg("a@example.com", "second", "")).ok());
  ASSERT_EQ(one.Messages().size(), 1u);
  EXPECT_EQ(one.Messages()[0].subject, "second");
}

TEST(OutboxMailer, IsSafeAcrossThreads) {
  OutboxMailer outbox(1000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&outbox] {
      for (int i = 0; i < 100; ++i) EXPECT_TRUE(outbox.Send(Msg("a@example.com", "s", "t")).ok());
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(outbox.Messages().size(), 400u);
}

void ExpectInvalidEmail(const Status& s) {
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(s.reason(), "invalid_email");
}

TEST(MailValidation, HeaderInjectionIsRefused) {
  const std::vector<MailMessage> bad = {
      Msg("victim@example.com\r\nBcc: all@example.com", "Hi", "t"),
      Msg("victim@example.com\nBcc: all@example.com", "Hi", "t"),
      Msg("victim@example.com\r", "Hi", "t"),
      Msg("victim@example.com", "Hi\r\nBcc: all@example.com", "t"),
      Msg("victim@example.com", "Hi\nX-Evil: 1", "t"),
      Msg("victim@example.com", "Hi\r", "t"),
      Msg("victim@example.com", "Hi\r\n\r\nforged body", "t"),
      Msg("victim@example.com", std::string("Hi\0there", 8), "t"),
      Msg("victim@example.com", "tab\there", "t"),
      Msg("victim@example.com", "bad utf8 \xff", "t"),
      Msg("victim@example.com", std::string(kMaxMailSubjectBytes + 1, 's'), "t"),
      Msg("victim@example.com", "Hi", std::string("nul\0inside", 10)),
      Msg("victim@example.com", "Hi", "bad utf8 \xc0\xaf"),
      Msg("victim@example.com", "Hi", std::string(999, 'x')),
      Msg("victim@example.com", "Hi", std::string(kMaxMailTextBytes + 1, 'x')),
  };
  OutboxMailer outbox;
  for (const MailMessage& m : bad) {
    ExpectInvalidEmail(ValidateMailMessage(m));
    ExpectInvalidEmail(outbox.Send(m));
    // The refusal never quotes the value.
    EXPECT_EQ(ValidateMailMessage(m).message().find("example.com"), std::string::npos);
    EXPECT_EQ(ValidateMailMessage(m).message().find("Bcc"), std::string::npos);
  }
  EXPECT_TRUE(outbox.Messages().empty());

  // SmtpMailer refuses before connecting anywhere (port 1 on loopback: nothing is there).
  SmtpOptions o = PlainOptions(1);
  std::unique_ptr<SmtpMailer> smtp = MakeMailer(std::move(o));
  ASSERT_NE(smtp, nullptr);
  for (const MailMessage& m : bad) ExpectInvalidEmail(smtp->Send(m));

  // The sender is checked when the mailer is made.
  for (const char* from :
       {"no-reply@bulwark.test\r\nBcc: x@y.z", "no-reply@bulwark.test\n", "Bulwark <a@b.c>", ""}) {
    SmtpOptions f = PlainOptions(1);
    f.from = from;
    StatusOr<std::unique_ptr<SmtpMailer>> m = SmtpMailer::Create(std::move(f));
    ASSERT_FALSE(m.ok());
    ExpectInvalidEmail(m.status());
  }
  // Limits are inclusive.
  EXPECT_TRUE(ValidateMailMessage(Msg("a@example.com", std::string(kMaxMailSubjectBytes, 's'),
                                      std::string(998, 'x') + "\r\n" + std::string(998, 'y')))
                  .ok());
}

TEST(MailValidation, Addresses) {
  for (const char* ok : {"a@b", "alice@example.com", "first.last+tag@sub.example.co.uk",
                         "o'neil@example.com", "x_y-z@a-b.example", "UPPER@EXAMPLE.COM", "1@2.3"}) {
    EXPECT_TRUE(IsAcceptableMailAddress(ok)) << ok;
  }
  for (const char* bad : {"",
                          "@",
                          "a@",
                          "@b",
                          "a@@b",
                          "a@b@c",
                          "a b@c",
                          "a@b c",
                          "<a@b>",
                          "Alice <a@b.c>",
                          "a@b,c@d",
                          "a@b;c",
                          ".a@b",
                          "a.@b",
                          "a..b@c",
                          "a@.b",
                          "a@b.",
                          "a@b..c",
                          "a@-b",
                          "a@b-",
                          "a@[127.0.0.1]",
                          "\"a\"@b",
                          "a(comment)@b",
                          "a@b\r\n",
                          "a@b\n",
                          "a\t@b",
                          "\xc3\xa9@b",
                          "a@\xc3\xa9.com",
                          "a@b_c.com"}) {
    EXPECT_FALSE(IsAcceptableMailAddress(bad)) << bad;
  }
  EXPECT_TRUE(IsAcceptableMailAddress(std::string(64, 'l') + "@example.com"));
  EXPECT_FALSE(IsAcceptableMailAddress(std::string(65, 'l') + "@example.com"));
  EXPECT_FALSE(IsAcceptableMailAddress("a@" + std::string(64, 'd') + ".com"));  // label > 63
  std::string long_domain;
  for (int i = 0; i < 5; ++i) long_domain += std::string(50, 'd') + ".";
  EXPECT_FALSE(IsAcceptableMailAddress("a@" + long_domain + "com"));  // > 254 in all
}

TEST(MailFormat, Rfc5322Message) {
  StatusOr<std::string> m = FormatMailMessage(
      "no-reply@bulwark.test",
      Msg("alice@example.com", "Your sign-in link", "Hello,\nclick: https://x/#t\r\n.dot\rend"),
      1795398114, "0123abcd");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m,
            "Date: Mon, 23 Nov 2026 01:41:54 +0000\r\n"
            "From: no-reply@bulwark.test\r\n"
            "To: alice@example.com\r\n"
            "Subject: Your sign-in link\r\n"
            "Message-ID: <0123abcd@bulwark.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
            "Hello,\r\nclick: https://x/#t\r\n.dot\r\nend\r\n");
  // Epoch and a leap day.
  StatusOr<std::string> e = FormatMailMessage("a@b.c", Msg("d@e.f", "s", ""), 0, "id");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->starts_with("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
  EXPECT_TRUE(e->ends_with("\r\n\r\n"));
  StatusOr<std::string> leap =
      FormatMailMessage("a@b.c", Msg("d@e.f", "s", "x\r\n"), 1709208000, "id");
  ASSERT_TRUE(leap.ok());
  EXPECT_TRUE(leap->starts_with("Date: Thu, 29 Feb 2024 12:00:00 +0000\r\n"));
  EXPECT_TRUE(leap->ends_with("\r\n\r\nx\r\n"));
  // The sender is checked here too.
  ExpectInvalidEmail(FormatMailMessage("a@b.c\r\nX: y", Msg("d@e.f", "s", ""), 0, "id").status());
  ExpectInvalidEmail(FormatMailMessage("a@b.c", Msg("d@e.f\r\nX: y", "s", ""), 0, "id").status());
}

TEST(MailFormat, NonAsciiSubjectIsEncoded) {
  StatusOr<std::string> m = FormatMailMessage("a@b.c", Msg("d@e.f", "Caf\xc3\xa9", "t"), 0, "id");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->find("\r\nSubject: =?UTF-8?B?Q2Fmw6k=?=\r\n"), std::string::npos) << *m;

  // Something that would read as an encoded word is encoded too.
  m = FormatMailMessage("a@b.c", Msg("d@e.f", "=?UTF-8?B?SGk=?=", "t"), 0, "id");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->find("\r\nSubject: =?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PQ==?=\r\n"), std::string::npos)
      << *m;

  // A long subject is folded between encoded words, never inside a character, and every line of
  // the header section stays short.
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "\xe2\x82\xac";  // 40 euro signs, 120 bytes
  m = FormatMailMessage("a@b.c", Msg("d@e.f", subject, "t"), 0, "id");
  ASSERT_TRUE(m.ok());
  const std::string headers = m->substr(0, m->find("\r\n\r\n"));
  std::size_t start = 0;
  int words = 0;
  while (start < headers.size()) {
    std::size_t end = headers.find("\r\n", start);
    if (end == std::string::npos) end = headers.size();
    EXPECT_LE(end - start, 76u);
    words += headers.compare(start, 11, " =?UTF-8?B?") == 0 ||
             headers.compare(start, 19, "Subject: =?UTF-8?B?") == 0;
    start = end + 2;
  }
  EXPECT_EQ(words, 4);  // 39 bytes (13 characters) per word: 13 + 13 + 13 + 1
  std::string thirteen;
  for (int i = 0; i < 13; ++i) thirteen += "4oKs";
  EXPECT_NE(headers.find("\r\nSubject: =?UTF-8?B?" + thirteen + "?=\r\n =?UTF-8?B?" + thirteen +
                         "?=\r\n"),
            std::string::npos)
      << headers;
  EXPECT_TRUE(headers.ends_with(
      "\r\n =?UTF-8?B?4oKs?=\r\nMessage-ID: <id@b.c>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"))
      << headers;
}

TEST(SmtpMailerConfig, RefusesUnsafeOptions) {
  auto reason = [](SmtpOptions o) {
    StatusOr<std::unique_ptr<SmtpMailer>> m = SmtpMailer::Create(std::move(o));
    return m.ok() ? std::string("ok") : m.status().reason();
  };
  auto with = [](auto mutate) {
    SmtpOptions o;
    o.url = "smtps://mail.example.com:465";
    o.from = "no-reply@example.com";
    mutate(o);
    return o;
  };
  EXPECT_EQ(reason(with([](SmtpOptions&) {})), "ok");
  EXPECT_EQ(reason(with([](SmtpOptions& o) { o.url = "smtp://mail.example.com:587"; })), "ok");
  EXPECT_EQ(reason(with([](SmtpOptions& o) {
              o.username = "bulwark";
              o.password = crypto::SecretBytes::FromString(std::string("pw"));
            })),
            "ok");
  for (const char* url :
       {"http://mail.example.com", "SMTP://mail.example.com", "smtp://", "smtps://:465",
        "smtp://user:pw@mail.example.com", "smtp://mail.example.com\r\n", "smtp://mail example.com",
        "mail.example.com:25", ""}) {
    EXPECT_EQ(reason(with([&](SmtpOptions& o) { o.url = url; })), "invalid_mail_config") << url;
  }
  EXPECT_EQ(reason(with([](SmtpOptions& o) {
              o.password = crypto::SecretBytes::FromString(std::string("pw"));
            })),
            "invalid_mail_config");  // password without user
  EXPECT_EQ(reason(with([](SmtpOptions& o) {
              o.username = "u";
              o.password = crypto::SecretBytes::FromString(std::string("p\0w", 3));
            })),
            "invalid_mail_config");
  EXPECT_EQ(reason(with([](SmtpOptions& o) { o.username = "u\r\nRSET"; })), "invalid_mail_config");
  EXPECT_EQ(reason(with([](SmtpOptions& o) {
              o.url = "smtp://mail.example.com:25";
              o.allow_plaintext = true;
              o.username = "u";
              o.password = crypto::SecretBytes::FromString(std::string("pw"));
            })),
            "invalid_mail_config");  // never a password in clear
  EXPECT_EQ(reason(with([](SmtpOptions& o) { o.ca_file = "/nonexistent/ca.pem"; })),
            "invalid_mail_config");
  EXPECT_EQ(reason(with([](SmtpOptions& o) { o.timeout = 0ms; })), "invalid_mail_config");
}

TEST(SmtpMailer, InitMailTransportIsIdempotent) {
  EXPECT_TRUE(InitMailTransport().ok());
  EXPECT_TRUE(InitMailTransport().ok());
}

// ---------------------------------------------------------------------------------------------
// Against a real SMTP server.

class SmtpMailerLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitMailTransport().ok());
    kind_ = FindSmtpServer();
    if (!kind_) GTEST_SKIP() << "neither python3-aiosmtpd nor the smtpd module is available";
    ASSERT_FALSE(dir_.path().empty());
  }

  // A self-signed certificate for `san` in dir, via the openssl CLI. False if it cannot be made.
  bool MakeCert(const std::string& san, const std::string& cert, const std::string& key) {
    return testing::MakeSelfSignedCert(san, cert, key);
  }

  std::optional<ServerKind> kind_;
  TempDir dir_;
};

TEST_F(SmtpMailerLiveTest, DeliversOneMessage) {
  std::unique_ptr<SmtpServer> server = SmtpServer::Start(*kind_, dir_.path());
  ASSERT_NE(server, nullptr) << "could not start the SMTP server";
  std::unique_ptr<SmtpMailer> mailer = MakeMailer(PlainOptions(server->port()));
  ASSERT_NE(mailer, nullptr);

  const std::string link = "https://bulwark.test/magic#token=MAGIC-7f3a9c";
  const MailMessage m =
      Msg("alice@example.com", "Sign in to Bulwark \xe2\x9c\x93",
          "Hello,\n\nYour link: " + link + "\n.leading dot line\n..two dots\nCaf\xc3\xa9\n");
  const Status s = mailer->Send(m);
  ASSERT_TRUE(s.ok()) << s.ToString();

  ASSERT_TRUE(server->WaitForOutput("END MESSAGE")) << server->Output();
  const std::string out = server->Output();
  EXPECT_NE(out.find("From: no-reply@bulwark.test"), std::string::npos) << out;
  EXPECT_NE(out.find("To: alice@example.com"), std::string::npos) << out;
  EXPECT_NE(out.find("Subject: =?UTF-8?B?"), std::string::npos) << out;
  EXPECT_NE(out.find("Message-ID: <"), std::string::npos) << out;
  EXPECT_NE(out.find("@bulwark.test>"), std::string::npos) << out;
  EXPECT_NE(out.find("Date: "), std::string::npos) << out;
  EXPECT_NE(out.find("Content-Type: text/plain; charset=utf-8"), std::string::npos) << out;
  EXPECT_NE(out.find("Content-Transfer-Encoding: 8bit"), std::string::npos) << out;
  EXPECT_NE(out.find("Your link: " + link), std::string::npos) << out;
  EXPECT_NE(out.find("Caf\xc3\xa9"), std::string::npos) << out;
  // Dot-stuffing is transparent: the server sees the lines exactly as written.
  EXPECT_NE(out.find("\n.leading dot line\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n..two dots\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("\n...two dots"), std::string::npos) << out;

  // A second message on a new connection works too.
  ASSERT_TRUE(mailer->Send(Msg("bob@example.com", "Second", "two")).ok());
  ASSERT_TRUE(server->WaitForOutput("To: bob@example.com")) << server->Output();
}

TEST_F(SmtpMailerLiveTest, ConnectionRefusedIsUnavailableQuickly) {
  const int port = FreePort();  // nothing listens there
  ASSERT_GT(port, 0);
  std::unique_ptr<SmtpMailer> mailer = MakeMailer(PlainOptions(port));
  ASSERT_NE(mailer, nullptr);
  const auto start = std::chrono::steady_clock::now();
  const Status s = mailer->Send(Msg("alice@example.com", "Hi", "secret link MAGIC-1"));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.reason(), "mail_unavailable");
  EXPECT_EQ(s.ToString().find("MAGIC"), std::string::npos);
  EXPECT_EQ(s.ToString().find("alice"), std::string::npos);
  EXPECT_LT(took, 2s);
}

TEST_F(SmtpMailerLiveTest, StartTlsIsRequiredUnlessPlaintextIsAllowed) {
  std::unique_ptr<SmtpServer> server =
      SmtpServer::Start(*kind_, dir_.path());  // no STARTTLS offered
  ASSERT_NE(server, nullptr);
  SmtpOptions o = PlainOptions(server->port());
  o.allow_plaintext = false;
  std::unique_ptr<SmtpMailer> mailer = MakeMailer(std::move(o));
  ASSERT_NE(mailer, nullptr);
  const Status s = mailer->Send(Msg("alice@example.com", "Hi", "secret link MAGIC-2"));
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.ToString();
  EXPECT_EQ(s.reason(), "mail_unavailable");
  EXPECT_EQ(s.ToString().find("MAGIC"), std::string::npos);

  // Implicit TLS against the plaintext server fails the handshake instead of talking in clear.
  SmtpOptions tls = PlainOptions(server->port());
  tls.url = "smtps://127.0.0.1:" + std::to_string(server->port());
  tls.allow_plaintext = false;
  tls.timeout = 3000ms;
  std::unique_ptr<SmtpMailer> smtps = MakeMailer(std::move(tls));
  ASSERT_NE(smtps, nullptr);
  EXPECT_EQ(smtps->Send(Msg("alice@example.com", "Hi", "secret link MAGIC-3")).code(),
            ErrorCode::kUnavailable);

  // Nothing was delivered (the server still answers, so it had every chance to print it).
  ASSERT_TRUE(mailer != nullptr);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(server->Output().find("MAGIC"), std::string::npos) << server->Output();
  EXPECT_EQ(server->Output().find("MESSAGE FOLLOWS"), std::string::npos) << server->Output();
}

TEST_F(SmtpMailerLiveTest, StartTlsWithVerifiedCertificate) {
  if (!kind_->aiosmtpd) GTEST_SKIP() << "the smtpd fallback has no STARTTLS";
  const std::string cert = dir_.path() + "/cert.pem";
  const std::string key = dir_.path() + "/key.pem";
  ASSERT_TRUE(MakeCert("IP:127.0.0.1", cert, key));
  std::unique_ptr<SmtpServer> server = SmtpServer::Start(*kind_, dir_.path(), cert, key);
  ASSERT_NE(server, nullptr);

  SmtpOptions o = PlainOptions(server->port());
  o.allow_plaintext = false;
  o.ca_file = cert;
  std::unique_ptr<SmtpMailer> mailer = MakeMailer(std::move(o));
  ASSERT_NE(mailer, nullptr);
  const Status s = mailer->Send(Msg("alice@example.com", "Over TLS", "link MAGIC-TLS-OK"));
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(server->WaitForOutput("MAGIC-TLS-OK")) << server->Output();

  // The same server, but its certificate is not trusted (system store only): refused.
  SmtpOptions untrusted = PlainOptions(server->port());
  untrusted.allow_plaintext = false;
  std::unique_ptr<SmtpMailer> m2 = MakeMailer(std::move(untrusted));
  ASSERT_NE(m2, nullptr);
  EXPECT_EQ(m2->Send(Msg("alice@example.com", "Hi", "link MAGIC-UNTRUSTED")).code(),
            ErrorCode::kUnavailable);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(server->Output().find("MAGIC-UNTRUSTED"), std::string::npos);
}

TEST_F(SmtpMailerLiveTest, StartTlsRefusesACertificateForAnotherHost) {
  if (!kind_->aiosmtpd) GTEST_SKIP() << "the smtpd fallback has no STARTTLS";
  const std::string cert = dir_.path() + "/other.pem";
  const std::string key = dir_.path() + "/other-key.pem";
  ASSERT_TRUE(MakeCert("DNS:mail.other.example", cert, key));
  std::unique_ptr<SmtpServer> server = SmtpServer::Start(*kind_, dir_.path(), cert, key);
  ASSERT_NE(server, nullptr);
  SmtpOptions o = PlainOptions(server->port());
  o.allow_plaintext = false;
  o.ca_file = cert;  // trusted, but not for 127.0.0.1
  std::unique_ptr<SmtpMailer> mailer = MakeMailer(std::move(o));
  ASSERT_NE(mailer, nullptr);
  EXPECT_EQ(mailer->Send(Msg("alice@example.com", "Hi", "link MAGIC-WRONG-HOST")).code(),
            ErrorCode::kUnavailable);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(server->Output().find("MAGIC-WRONG-HOST"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::identity
