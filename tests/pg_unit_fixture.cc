// The PostgreSQL 15 server the unit tests share under ctest (tests/unit/store/pg_server.h).
//
//   pg_unit_fixture start <info-file>   starts a server, writes "<port> <dir>" to info-file
//   pg_unit_fixture stop <info-file>    stops that server, removes its directory and info-file
//
// CMakeLists.txt runs these as the setup and cleanup of a ctest fixture every unit test requires.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "unit/store/pg_server.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s start|stop <info-file>\n", argv[0]);
    return 2;
  }
  const std::string command = argv[1];
  const std::filesystem::path info = argv[2];
  std::error_code ec;
  if (command == "start") {
    // A server left by an interrupted run: stop it first.
    if (std::filesystem::exists(info)) bulwark::testing::PgServer::StopAttached(info);
    bulwark::testing::PgServer pg;
    if (!pg.ok()) {
      std::fprintf(stderr, "%s\n", pg.error().c_str());
      return 1;
    }
    const std::filesystem::path partial = info.string() + ".partial";
    {
      std::ofstream out(partial, std::ios::trunc);
      out << pg.port() << ' ' << pg.dir() << '\n';
      if (!out.flush()) {
        std::fprintf(stderr, "cannot write %s\n", partial.c_str());
        return 1;  // pg stops the server on the way out
      }
    }
    std::filesystem::rename(partial, info, ec);
    if (ec) {
      std::fprintf(stderr, "cannot write %s: %s\n", info.c_str(), ec.message().c_str());
      return 1;
    }
    pg.Detach();
    std::printf("PostgreSQL 15 for the unit tests on port %d\n", pg.port());
    return 0;
  }
  if (command == "stop") {
    const bool stopped = bulwark::testing::PgServer::StopAttached(info);
    std::filesystem::remove(info, ec);
    if (!stopped) {
      std::fprintf(stderr, "no server to stop in %s\n", info.c_str());
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "usage: %s start|stop <info-file>\n", argv[0]);
  return 2;
}
