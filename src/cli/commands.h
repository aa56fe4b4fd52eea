#pragma once
// The command tree of the `bulwark` binary, one registration function per command group.
//
// A group adds its subcommands to the root CLI11 app and, for each one that does something, what
// runs it once the command line is parsed (CommandTable::Add). Option values live in state the
// run function owns (a shared_ptr captured by it), so a group needs nothing from main() but the
// app, the shared Context and the table. A new group: a function like these in its own file,
// declared here, called in main() (src/cli/main.cc).
//
// Conventions every command follows (docs/cli.md): results on stdout, errors on stderr, no log
// lines unless --verbose (`serve` always logs), and these exit codes.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace bulwark::cli {

inline constexpr int kExitOk = 0;
// Refused, invalid, damage found, not found: the command ran and the answer is no.
inline constexpr int kExitFailure = 1;
// The command line is wrong: an unknown command or option, a missing or malformed value, or a
// file it names that cannot be read. Nothing was changed.
inline constexpr int kExitUsage = 2;
// The configuration is refused, or the store or master key it names cannot be opened
// (EX_CONFIG of sysexits.h). Nothing was changed.
inline constexpr int kExitConfig = 78;

// What several commands' flags fill in; read by the run functions after parsing.
struct Context {
  config::ConfigSources sources;
  std::string listen;  // --listen
  std::string data;    // --data
  bool verbose = false;
  CLI::App* root = nullptr;

  // The configuration sources with --listen and --data applied.
  config::ConfigSources Sources() const;
};

struct CommandOptions {
  // The command logs as the server does (JSON lines on stderr) even without --verbose.
  bool logs = false;
};

class CommandTable {
 public:
  void Add(CLI::App* command, std::function<int()> run, CommandOptions options = {});

  struct Entry {
    CLI::App* command;
    std::function<int()> run;
    CommandOptions options;
  };
  // The command the parsed line names (nullptr when none: a group without its subcommand, which
  // CLI11 refuses before this is asked).
  const Entry* Parsed() const;

 private:
  std::vector<Entry> entries_;
};

// The flags every command takes (-V/--version, --verbose) and the root's requirements.
void SetUpRoot(CLI::App& app, Context& ctx);

// serve, config check, routes, db migrate.
void AddServerCommands(CLI::App& app, Context& ctx, CommandTable& table);
// tenant create.
void AddTenantCommands(CLI::App& app, Context& ctx, CommandTable& table);
// dev quickstart (refused in production).
void AddDevCommands(CLI::App& app, Context& ctx, CommandTable& table);
// key rotate, retire, status, rotate-data, rotate-signing, retire-signing, signing-status.
void AddKeyCommands(CLI::App& app, Context& ctx, CommandTable& table);
// audit verify, export, pubkey; receipt verify, pubkey.
void AddAuditCommands(CLI::App& app, Context& ctx, CommandTable& table);
// help, completion, man (cli/docs.h): they read the tree the other groups built.
void AddDocCommands(CLI::App& app, Context& ctx, CommandTable& table);

// Parses argv and runs the command: help and version on stdout (exit 0), a usage error on stderr
// with the nearest command or option suggested (exit 2), otherwise the command's own exit code.
int Main(CLI::App& app, Context& ctx, const CommandTable& table, int argc, char** argv);

}  // namespace bulwark::cli
