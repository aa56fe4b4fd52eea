#pragma once
// A real PostgreSQL 15 for tests: initdb and pg_ctl into a fresh temporary directory, listening
// on a free loopback port (and a socket in that directory), stopped and removed afterwards. Run
// as the `postgres` system user when the tests run as root (initdb refuses root). Programs are
// spawned without a shell (run_program.h).
//
//   PgServer& pg = SharedPgServer();          // one server for the whole test binary
//   ASSERT_TRUE(pg.ok()) << pg.error();
//   std::string url = pg.NewDatabase();       // postgresql://bulwark@127.0.0.1:<port>/t_<n>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "../run_program.h"

namespace bulwark::testing {

class PgServer {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";

  PgServer() {
    char tmpl[] = "/tmp/bulwark-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      Fail("mkdtemp");
      return;
    }
    dir_ = tmpl;
    port_ = FreePort();
    std::vector<std::string> as_user;
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
      as_user = {"runuser", "-u", "postgres", "--"};
    }
    auto run = [as_user](std::vector<std::string> args) {
      std::vector<std::string> full = as_user;
      full.insert(full.end(), args.begin(), args.end());
      return RunProgram(full);
    };
    if (run({std::string(kBin) + "initdb", "-D", dir_ + "/data", "-U", "bulwark", "--auth=trust",
             "-E", "UTF8", "--no-sync", "--no-instructions"}) != 0) {
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
    const std::string name = "t_" + std::to_string(++counter_);
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
  std::function<void()> stop_;
  std::atomic<int> counter_{0};
};

// The one server of the test binary, started on first use.
inline PgServer& SharedPgServer() {
  static PgServer pg;
  return pg;
}

}  // namespace bulwark::testing
