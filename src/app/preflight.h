#pragma once
// Preflight: every reason the configured mode must refuse to start, found without writing
// anything (docs/design.md, "where start-up refuses"). A function of the configuration and of
// what it names: the files it points at (key, password and token files, TLS certificate, data
// directory, audit sink), the database (opened read-only, one connection, to check its health
// and schema) and the process's limit on open files. `serve` and `config check` report the same
// list; `key rotate` checks a new master key source with the rules the configured one is held
// to, and a keyring reload applies the same keyring settings rules (BrokenKeyringRules).
//
// Thread-safe (no shared state). Problems are values, never exceptions; nothing here logs.
//
//   std::vector<config::ConfigProblem> problems = app::AllProblems(config::LoadConfig(sources));
//   if (app::CountErrors(problems) > 0) { app::PrintProblems(problems, std::cerr); return 78; }
#include <cstddef>
#include <iosfwd>
#include <vector>

#include "config/config.h"
#include "keyring/master_key.h"

namespace bulwark::app {

// Exit code when the configuration is refused (EX_CONFIG).
inline constexpr int kExitConfigRefused = 78;

// Every problem that stops `serve` in the configured mode (production unless config.dev), plus
// warnings. Reads files and the database; creates and changes nothing.
std::vector<config::ConfigProblem> Preflight(const config::Config& config);

// The loaded configuration's own problems (file, syntax, values) followed by Preflight's: even
// with file errors every other problem is reported too, so that one round trip fixes them all.
std::vector<config::ConfigProblem> AllProblems(const config::ConfigLoad& loaded);

// What `serve` refuses about a master key source, for the one `bulwark key rotate` moves to, so
// that it is one the server will boot with: weak material, a key file generated in dev mode, a
// key or password file others may read (errors in production, warnings in dev).
std::vector<config::ConfigProblem> CheckNewMasterKeySource(const keyring::MasterKeySource& source,
                                                         bool production);

// How many master key sources the configuration sets (BULWARK_MASTER_KEY,
// keyring.master_key_file, BULWARK_MASTER_PASSWORD, keyring.master_password_file).
int CountMasterKeySources(const config::Config& c);

// The rules on the keyring settings, held by boot (Preflight) and by a keyring reload alike.
enum class KeyringRule {
  kOneSourceAtMost,  // more than one master key source is set
  kSourceRequired,   // production, and no master key source is set (dev generates one)
  kKdfIterations,    // keyring.pbkdf2_iterations is below keyring::kMinPbkdf2Iterations
};
// Every rule `c` breaks, in the order above (empty when the settings hold).
std::vector<KeyringRule> BrokenKeyringRules(const config::Config& c, bool production);

// The problems that are errors.
std::size_t CountErrors(const std::vector<config::ConfigProblem>& problems);

// Each problem on its own line, indented: "  error: server.listen: ...".
void PrintProblems(const std::vector<config::ConfigProblem>& problems, std::ostream& out);

}  // namespace bulwark::app
