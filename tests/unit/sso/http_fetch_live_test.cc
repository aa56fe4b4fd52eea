// CurlHttpFetcher against a real HTTPS server on loopback (Python's http.server wrapped in TLS,
// with a self-signed certificate made by the openssl CLI): certificate and host verification,
// the CA file, no redirects, the response cap, and what a POST puts on the wire.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "../live_process.h"
#include "crypto/hash.h"
#include "sso/http_fetch.h"

namespace bulwark::sso {
namespace {

using namespace std::chrono_literals;

// /ok: 200 {"ok":true}; /redirect: 302 to /ok; /big: 2 MiB; POST echoes what it received.
constexpr const char* kServer = R"PY(
import http.server, json, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/ok": self.send(200, b'{"ok":true}')
        elif self.path == "/redirect": self.send(302, b"", [("Location", "/ok")])
        elif self.path == "/big": self.send(200, b"x" * (2 * 1024 * 1024))
        else: self.send(404, b"")
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send(200, json.dumps({"body": body.decode(), "auth": self.headers.get("Authorization", ""),
                                   "type": self.headers.get("Content-Type", "")}).encode())
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
)PY";

class HttpsLive : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    cert_ = dir_.path() + "/cert.pem";
    const std::string key = dir_.path() + "/key.pem";
    if (!testing::MakeSelfSignedCert("IP:127.0.0.1", cert_, key))
      GTEST_SKIP() << "openssl CLI unavailable";
    for (int attempt = 0; attempt < 3 && pid_ <= 0;
         ++attempt) {  // the free port may be taken meanwhile
      port_ = testing::FreePort();
      pid_ = testing::Spawn({"/usr/bin/python3", "-c", kServer, std::to_string(port_), cert_, key},
                            dir_.path() + "/server.out");
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (pid_ > 0 && !testing::CanConnect(port_)) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_ ||
            std::chrono::steady_clock::now() > deadline) {
          Stop();
          break;
        }
        std::this_thread::sleep_for(50ms);
      }
    }
    if (pid_ <= 0) GTEST_SKIP() << "could not start python3's https server";
  }
  void TearDown() override { Stop(); }
  void Stop() { testing::StopProcess(pid_); }
  std::string Url(std::string_view path, std::string_view host = "127.0.0.1") const {
    return "https://" + std::string(host) + ":" + std::to_string(port_) + std::string(path);
  }
  StatusOr<HttpResponse> Get(const std::string& url, std::string ca) {
    CurlHttpFetcher fetcher(HttpFetchOptions{std::move(ca), 5000ms, 10000ms, 1024 * 1024});
    HttpRequest req;
    req.url = url;
    return fetcher.Fetch(req);
  }

  testing::TempDir dir_;
  std::string cert_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(HttpsLive, VerifiesThePeerAgainstTheCaFile) {
  StatusOr<HttpResponse> r = Get(Url("/ok"), cert_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":true})");
  // Not trusted by the system store; and a name the certificate does not hold.
  EXPECT_EQ(Get(Url("/ok"), "").status().reason(), "idp_unreachable");
  EXPECT_EQ(Get(Url("/ok", "localhost"), cert_).status().reason(), "idp_unreachable");
}

TEST_F(HttpsLive, NeverFollowsRedirectsAndCapsTheBody) {
  StatusOr<HttpResponse> r = Get(Url("/redirect"), cert_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 302);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(Get(Url("/big"), cert_).status().reason(), "idp_error");
}

TEST_F(HttpsLive, PostsTheFormBodyAndAuthorizationAsGiven) {
  CurlHttpFetcher fetcher(HttpFetchOptions{cert_, 5000ms, 10000ms, 1024 * 1024});
  HttpRequest req;
  req.url = Url("/token");
  req.post = true;
  req.form_body =
      crypto::SecretBytes::CopyFrom(crypto::AsBytes("grant_type=authorization_code&code=abc%26d"));
  req.authorization = crypto::SecretBytes::CopyFrom(crypto::AsBytes("Basic Y2xpZW50OnNlY3JldA=="));
  StatusOr<HttpResponse> r = fetcher.Fetch(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  boost::json::object echo = boost::json::parse(r->body).as_object();
  EXPECT_EQ(echo.at("body").as_string(), "grant_type=authorization_code&code=abc%26d");
  EXPECT_EQ(echo.at("auth").as_string(), "Basic Y2xpZW50OnNlY3JldA==");
  EXPECT_EQ(echo.at("type").as_string(), "application/x-www-form-urlencoded");
}

}  // namespace
}  // namespace bulwark::sso
