#pragma once
// A real PostgreSQL 15 for tests: initdb and pg_ctl into a fresh temporary directory, listening
// on a free loopback port (and a socket in that directory), stopped and removed afterwards. Run
// as the `postgres` system user when the tests run as root (initdb refuses root). Programs are
// spawned without a shell (run_program.h).
//
//   PgServer& pg = SharedPgServer();          // one server for the whole test binary
//   ASSERT_TRUE(pg.ok()) << pg.error();
//   std::string url = pg.NewDatabase();       // postgresql://bulwark@127.0.0.1:<port>/t_<pid>_<n>
//
// Under ctest every test runs in its own process, and an initdb per process cost ~2 s for each
// of some 45 tests. So ctest starts one server for the whole run (tests/pg_unit_fixture.cc, a
// fixture every unit test requires) and names a file holding its port and directory in
// BULWARK_TEST_PG_INFO; SharedPgServer() then attaches to it. Database names carry the process
// id, so two tests running at once never share one. Run directly, the test binary starts its own.
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../run_program.h"

namespace bulwark::testing {

class PgServer {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";

  // Attaches to the server a fixture started (`info_file`: "<port> <dir>"); never stops it.
  static PgServer Attach(const std::string& info_file) {
    PgServer pg(Attached{});
    std::ifstream in(info_file);
    if (!(in >> pg.port_ >> pg.dir_) || pg.port_ <= 0) {
      pg.Fail("no running server described in " + info_file + " (BULWARK_TEST_PG_INFO)");
      return pg;
    }
    pg.started_ = true;
    pg.owned_ = false;
    return pg;
  }

  // Stops a server a fixture started and removes its directory (info_file as for Attach).
  static bool StopAttached(const std::string& info_file) {
    PgServer pg = Attach(info_file);
    if (!pg.ok()) return false;
    const int rc = RunAs(AsUser())(
        {std::string(kBin) + "pg_ctl", "-D", pg.dir_ + "/data", "-m", "immediate", "-w", "stop"});
    std::error_code ec;
    if (!keep()) std::filesystem::remove_all(pg.dir_, ec);
    return rc == 0;
  }

  // Leaves the server running when this object goes: a fixture's start hands it to the tests.
  void Detach() { owned_ = false; }
  const std::string& dir() const { return dir_; }

  PgServer(PgServer&& other) noexcept
      : dir_(std::move(other.dir_)),
        error_(std::move(other.error_)),
        port_(other.port_),
        started_(other.started_),
        owned_(other.owned_),
        stop_(std::move(other.stop_)) {
    other.started_ = false;
    other.owned_ = false;
    other.dir_.clear();
  }
  PgServer& operator=(PgServer&&) = delete;

  PgServer() {
    char tmpl[] = "/tmp/bulwark-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      Fail("mkdtemp");
      return;
    }
    dir_ = tmpl;
    port_ = FreePort();
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        Fail("no postgres user to run initdb as");
        return;
      }
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        Fail("chown");
        return;
      }
    }
    auto run = RunAs(AsUser());
    // A language's collation (ICU en-US), as most production databases have, unlike SQLite's
    // byte order: tests/integration/pg_helpers.py does the same.
    if (run({std::string(kBin) + "initdb", "-D", dir_ + "/data", "-U", "bulwark", "--auth=trust",
             "-E", "UTF8", "--locale-provider=icu", "--icu-locale=en-US", "--no-sync",
             "--no-instructions"}) != 0) {
      {
        Fail("initdb");
        return;
      }
    }
    if (run({std::string(kBin) + "pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w",
             "-o", "-p " + std::to_string(port_) + " -k " + dir_ + " -c listen_addresses=127.0.0.1",
             "start"}) != 0) {
      {
        Fail("pg_ctl start (see " + dir_ + "/server.log)");
        return;
      }
    }
    started_ = true;
    stop_ = [run, dir = dir_] {
      run({std::string(kBin) + "pg_ctl", "-D", dir + "/data", "-m", "immediate", "-w", "stop"});
    };
  }

  ~PgServer() {
    if (!owned_) return;
    if (started_) stop_();
    std::error_code ec;
    if (!dir_.empty() && !keep()) std::filesystem::remove_all(dir_, ec);
  }

  bool ok() const { return started_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }

  std::string Url(const std::string& db) const {
    return "postgresql://bulwark@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // A new, empty database (owned by `owner`, the superuser by default); returns its URL, for
  // connecting as the owner.
  std::string NewDatabase(const std::string& owner = "bulwark") {
    const std::string name = "t_" + std::to_string(::getpid()) + "_" + std::to_string(++counter_);
    Admin("CREATE DATABASE " + name + " OWNER " + owner);
    return "postgresql://" + owner + "@127.0.0.1:" + std::to_string(port_) + "/" + name;
  }

  // Runs one statement as the superuser on `db`; true if it succeeded.
  bool Admin(const std::string& sql, const std::string& db = "postgres") {
    PGconn* c = PQconnectdb(Url(db).c_str());
    PGresult* r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    PQfinish(c);
    return ok;
  }

 private:
  struct Attached {};
  explicit PgServer(Attached) {}
  // initdb refuses root: as root, the server's programs run as the `postgres` system user.
  static std::vector<std::string> AsUser() {
    if (::geteuid() != 0) return {};
    return {"runuser", "-u", "postgres", "--"};
  }
  static std::function<int(std::vector<std::string>)> RunAs(std::vector<std::string> as_user) {
    return [as_user = std::move(as_user)](std::vector<std::string> args) {
      std::vector<std::string> full = as_user;
      full.insert(full.end(), args.begin(), args.end());
      return RunProgram(full);
    };
  }
  static bool keep() { return std::getenv("BULWARK_KEEP_PG") != nullptr; }
  void Fail(std::string why) { error_ = "PostgreSQL test server: " + why; }
  static int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  std::string dir_;
  std::string error_;
  int port_ = 0;
  bool started_ = false;
  bool owned_ = true;  // stopped and removed with this object
  std::function<void()> stop_;
  std::atomic<int> counter_{0};
};

// The one server of the test binary, started on first use.
inline PgServer& SharedPgServer() {
  static PgServer pg = [] {
    const char* info = std::getenv("BULWARK_TEST_PG_INFO");
    return info != nullptr ? PgServer::Attach(info) : PgServer();
  }();
  return pg;
}

}  // namespace bulwark::testing
