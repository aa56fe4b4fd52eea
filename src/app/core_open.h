#pragma once
// Opening the core: what every command that writes needs (the store, the keyring, the audit
// ledger), opened the same way for `serve`, `tenant create` and `key ...`, and the lock that keeps
// a second server off a SQLite data directory. Internal to src/app. Errors are Status values
// (nothing here throws); Refuse is the one place a start-up refusal is printed and logged. Each
// Core is owned by the command that opened it; the functions share no state.
#include <memory>
#include <string>

#include "audit/high_water.h"
#include "audit/ledger.h"
#include "audit/writer.h"
#include "config/config.h"
#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "keyring/keyring.h"
#include "keyring/master_key.h"
#include "store/store.h"

namespace bulwark::app {

struct Core {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<keyring::Keyring> keys;
  std::unique_ptr<audit::Ledger> ledger;
  // The ledger's high-water mark (audit.high_water_file), checked when the store was opened.
  std::shared_ptr<audit::HighWaterMark> high_water;
  // How a command's writer signs: a checkpoint with every commit (it runs beside a server that
  // guards its head, audit::WriterOptions::guard_head), each one raising the high-water mark.
  // `serve` sets its own policy on top.
  audit::WriterOptions writer_options;
};

struct OpenCoreOptions {
  // Maintenance commands: the configured key may be that of any live version, not only the
  // active one (keyring::Keyring::OpenAnyVersion), and an existing database is required.
  bool any_kek_version = false;
  // Also hold the version this key opens, if it is one already (a re-run of a rotation).
  const keyring::MasterKeySource* also_hold = nullptr;
  // `serve`: in WAL mode SQLite also keeps a connection for each io thread (secret reads run
  // there).
  bool serving = false;
};

// Maintenance commands work on an existing database: PostgreSQL (storage.url), or the SQLite file
// in the data directory, which they never create. kFailedPrecondition "no_database" without one.
Status RequireDatabase(const config::Config& c);

// Opens them in order, creating the data directory (0700) and, in dev mode only, a generated
// master key. On failure `step` names what failed ("storage", "keyring", "audit").
StatusOr<Core> OpenCore(config::Config& config, std::string& step,
                        const OpenCoreOptions& options = {});

// The configured store as it is, creating nothing (one connection): PostgreSQL when
// storage.url is set, else the SQLite file in the data directory (kUnavailable if missing).
StatusOr<std::unique_ptr<store::Store>> OpenExistingStore(const config::Config& c);

// The master key source the configuration names (moves a secret out of `c`); in dev mode with no
// source, the generated key file in the data directory. kFailedPrecondition "no_master_key".
StatusOr<keyring::MasterKeySource> MasterKeySourceFor(config::Config& c);

// A secret file's content without its trailing newline; a file over 64 KiB is refused. Read into
// wiped memory only (keyring::ReadWholeSecretFile).
StatusOr<crypto::SecretBytes> ReadSecretFile(const std::string& path);

// One server per SQLite data directory: it keeps state in memory that only its own changes
// drop (the kept secret rows of secrets/vault.h; the session, API-key and policy caches). An
// advisory lock on <data>/server.lock, held for the life of the process (the kernel lets go of
// it however the process ends), makes a second server on the same directory refuse to start.
// CLI commands (`key rotate-data`, `tenant create`) take no lock: they run beside the server.
class DataDirLock {
 public:
  // kFailedPrecondition "data_dir_in_use" when another process holds it; kUnavailable
  // "data_dir" when the lock file cannot be opened or locked.
  static StatusOr<std::unique_ptr<DataDirLock>> Take(const std::string& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

// Logs boot.refused, prints "bulwark: refusing to start: <what>: <message>", returns 78.
int Refuse(const std::string& what, const Status& st);

}  // namespace bulwark::app
