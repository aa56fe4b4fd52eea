// bulwark: the single binary. Subcommands parse their flags here and hand off to src/app.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/boot.h"
#include "core/build_info.h"

extern char** environ;

int main(int argc, char** argv) {
  CLI::App app{"Bulwark: the security core for multi-tenant platforms"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bulwark ") + bulwark::build::kVersion + " (" +
                                        bulwark::build::kCommit + ")");

  bulwark::core::ConfigSources sources;
  sources.environ = environ;
  std::string listen;
  std::string data;

  CLI::App* serve = app.add_subcommand("serve", "Run the server (production unless --dev)");
  serve->add_flag("--dev", sources.dev_flag,
                  "Dev mode: generated keys, local overlay, plain HTTP on loopback. Never in production.");
  serve->add_option("--config", sources.file, "TOML configuration file")->check(CLI::ExistingFile);
  serve->add_option("--listen", listen, "Listen address host:port (default 127.0.0.1:8420)");
  serve->add_option("--data", data, "Data directory (default ./data)");

  CLI::App* config = app.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  CLI::App* check = config->add_subcommand(
      "check", "Print every configuration problem; exit 1 if the mode would refuse to start");
  check->add_flag("--dev", sources.dev_flag, "Check for dev mode instead of production");
  check->add_option("--config", sources.file, "TOML configuration file");
  check->add_option("--data", data, "Data directory");

  bool routes_dev = false;
  CLI::App* routes = app.add_subcommand("routes", "Print the route table (method, path, auth decision) as JSON lines");
  routes->add_flag("--dev", routes_dev, "Include the dev-mode local overlay");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!listen.empty()) sources.listen_flag = listen;
  if (!data.empty()) sources.data_flag = data;

  if (*serve) return bulwark::app::Serve(sources);
  if (*check) return bulwark::app::ConfigCheck(sources, std::cout);
  if (*routes) return bulwark::app::PrintRoutes(routes_dev, std::cout);
  return 2;
}
