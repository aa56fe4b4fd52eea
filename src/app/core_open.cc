#include "app/core_open.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <iostream>

#include "app/preflight.h"
#include "app/settings.h"
#include "core/log.h"
#include "crypto/encoding.h"
#include "keyring/rotation.h"
#include "store/migrate.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace bulwark::app {

namespace fs = std::filesystem;
using config::Config;

StatusOr<crypto::SecretBytes> ReadSecretFile(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(
      crypto::SecretBytes content,
      keyring::ReadWholeSecretFile(
          path, 64 * 1024,
          Status::FailedPrecondition("secret_file", "is not a readable file of at most 64 KiB")));
  std::string_view text = content.reveal_string_view();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return crypto::SecretBytes::CopyFrom(crypto::AsBytes(text));  // `content` is wiped when it goes
}

StatusOr<keyring::MasterKeySource> MasterKeySourceFor(Config& c) {
  keyring::MasterKeySource src;
  src.pbkdf2_iterations = static_cast<std::uint32_t>(c.pbkdf2_iterations);
  if (c.master_key) {
    src.kind = keyring::MasterKeySourceKind::kBase64;
    src.material = std::move(*c.master_key);
  } else if (!c.master_key_file.empty()) {
    src.kind = keyring::MasterKeySourceKind::kFile;
    src.file_path = c.master_key_file;
  } else if (c.master_password) {
    src.kind = keyring::MasterKeySourceKind::kPassword;
    src.material = std::move(*c.master_password);
  } else if (!c.master_password_file.empty()) {
    BULWARK_ASSIGN_OR_RETURN(auto pw, ReadSecretFile(c.master_password_file));
    src.kind = keyring::MasterKeySourceKind::kPassword;
    src.material = std::move(pw);
  } else if (c.dev) {
    src.kind = keyring::MasterKeySourceKind::kFile;  // the generated one (OpenCore)
    src.file_path = c.dev_key_path();
  } else {
    return Status::FailedPrecondition("no_master_key", "no master key source");
  }
  return src;
}

StatusOr<std::unique_ptr<DataDirLock>> DataDirLock::Take(const std::string& data_dir) {
  const std::string path = (fs::path(data_dir) / "server.lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Status::Unavailable("data_dir", "cannot open " + path + " to lock the data directory");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool held = errno == EWOULDBLOCK;
    ::close(fd);
    if (held) {
      return Status::FailedPrecondition(
          "data_dir_in_use", "another bulwark server is serving the data directory " + data_dir);
    }
    return Status::Unavailable("data_dir", "cannot lock the data directory " + data_dir);
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() { ::close(fd_); }

int Refuse(const std::string& what, const Status& st) {
  log::Error("boot.refused", {{"step", what}, {"reason", st.reason()}, {"message", st.message()}});
  std::cerr << "bulwark: refusing to start: " << what << ": " << st.message() << "\n";
  return kExitConfigRefused;
}

namespace {

// A store whose ledger does not reach the last checkpoint signed (the high-water mark, kept
// outside the database) was rolled back or rewritten: every command that writes refuses it, in
// dev mode too (a restored copy brings back what was revoked since). A missing mark is made at
// the next checkpoint.
Status CheckHighWater(const Config& config, Core& core) {
  core.high_water = std::make_shared<audit::HighWaterMark>(config.audit_high_water_path());
  auto read = core.high_water->Read();
  if (!read.ok()) {
    return Status::FailedPrecondition(
        "high_water_invalid", "the ledger high-water mark " + core.high_water->path() +
                                  " cannot be read as a checkpoint: " + read.status().message());
  }
  const std::optional<audit::LedgerCheckpoint>& mark = *read;
  if (mark) {
    BULWARK_RETURN_IF_ERROR(audit::CheckAgainstHighWater(*core.store, *core.ledger, *mark,
                                                         core.high_water->path()));
  } else {
    BULWARK_ASSIGN_OR_RETURN(auto tx, core.store->Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(std::int64_t signed_size, core.ledger->LastCheckpointSize(*tx));
    if (signed_size > 0) {
      log::Warn("audit.high_water_missing",
                {{"path", core.high_water->path()},
                 {"message",
                  "no ledger high-water mark: a rollback of the database to before this start "
                  "cannot be detected from this node; it is written at the next checkpoint"}});
    }
  }
  core.writer_options.checkpoint_every = 1;
  core.writer_options.on_checkpoint = [mark_file = core.high_water](
                                          const audit::LedgerCheckpoint& cp) {
    if (Status s = mark_file->Raise(cp); !s.ok()) {
      log::Error("audit.high_water_unwritable",
                 {{"path", mark_file->path()}, {"message", s.message()}});
    }
  };
  return Status::Ok();
}

}  // namespace

Status RequireDatabase(const Config& c) {
  std::error_code ec;
  if (!c.storage_url.empty() || fs::exists(c.database_path(), ec)) return Status::Ok();
  return Status::FailedPrecondition("no_database", "there is no Bulwark database in " + c.data_dir);
}

StatusOr<Core> OpenCore(Config& config, std::string& step, const OpenCoreOptions& options) {
  std::error_code ec;
  step = "storage";
  if (options.any_kek_version) BULWARK_RETURN_IF_ERROR(RequireDatabase(config));
  if (!fs::exists(config.data_dir, ec)) {
    fs::create_directories(config.data_dir, ec);
    if (ec || ::chmod(config.data_dir.c_str(), 0700) != 0) {
      return Status::Unavailable("data_dir", "cannot create the data directory");
    }
  }
  if (config.dev && CountMasterKeySources(config) == 0) {
    step = "keyring";
    const std::string key_path = config.dev_key_path();
    if (!fs::exists(key_path, ec)) {
      BULWARK_RETURN_IF_ERROR(keyring::WriteDevKeyFile(key_path));
      log::Warn("dev.master_key_generated",
                {{"path", key_path},
                 {"message",
                  "DEV MODE: a master key was generated into the data directory. "
                  "Never use this data directory or key in production."}});
    }
    config.master_key_file = key_path;
  }
  step = "storage";
  // On SQLite, connections on top of the configured pool that only the threads every request
  // waits on may take (store::SqliteOptions::reserved): the ledger writer's, and when serving
  // with secret reads on the io threads (LocalReads), one per io thread. Workers holding every
  // other connection (slow LISTs, writes) then stall neither an io thread nor the commit of
  // records.
  const int kept = 1 + (options.serving && LocalReads(config) ? IoThreads(config) : 0);
  store::SqliteOptions sopts{.path = config.database_path(),
                             .create_if_missing = true,
                             .journal_mode = config.journal_mode,
                             .synchronous = config.synchronous,
                             .foreign_keys = config.foreign_keys,
                             .busy_timeout_ms = static_cast<int>(config.busy_timeout_ms),
                             .pool_size = static_cast<int>(config.pool_size) + kept,
                             .reserved = kept};
  Core core;
  if (!config.storage_url.empty()) {
    BULWARK_ASSIGN_OR_RETURN(
        core.store,
        store::OpenPostgresStore({.url = config.storage_url,
                                  .pool_size = static_cast<int>(config.pool_size),
                                  .busy_timeout_ms = static_cast<int>(config.busy_timeout_ms)}));
  } else {
    BULWARK_ASSIGN_OR_RETURN(core.store, store::OpenSqliteStore(sopts));
  }
  // A store that already has a keyring checks the master key against it before anything is
  // written, pending migrations included (opening an existing keyring only reads): a wrong key
  // must leave an older database as an older binary can still open it. A new store is migrated
  // first, and its keyring made after.
  bool has_keyring = false;
  {
    BULWARK_ASSIGN_OR_RETURN(auto rtx, core.store->Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(has_keyring, rtx->HasTable("keyring_kek"));
    if (has_keyring) {
      BULWARK_ASSIGN_OR_RETURN(auto rows, rtx->Query("SELECT COUNT(*) FROM keyring_kek"));
      has_keyring = !rows.empty() && rows[0][0].is_int() && rows[0][0].as_int() > 0;
    }
  }  // read only: rolled back
  BULWARK_ASSIGN_OR_RETURN(keyring::MasterKeySource source, MasterKeySourceFor(config));
  const auto open_keyring = [&]() -> Status {
    step = "keyring";
    if (options.any_kek_version) {
      BULWARK_ASSIGN_OR_RETURN(core.keys, keyring::Keyring::OpenAnyVersion(source, *core.store));
    } else {
      BULWARK_ASSIGN_OR_RETURN(core.keys, keyring::Keyring::Open(source, *core.store));
    }
    return Status::Ok();
  };
  if (has_keyring) BULWARK_RETURN_IF_ERROR(open_keyring());
  step = "storage";
  BULWARK_RETURN_IF_ERROR(store::Migrate(*core.store));
  if (!has_keyring) BULWARK_RETURN_IF_ERROR(open_keyring());
  step = "keyring";
  if (options.also_hold != nullptr) {
    // Not a version yet (a first rotation), or not a key at all: the caller reports that.
    (void)core.keys->Reload(*options.also_hold, *core.store);
  }
  if (options.any_kek_version) {
    // Whatever else it holds, the keyring must hold the active version: the ledger's and the
    // receipts' signing keys are sealed under it.
    BULWARK_ASSIGN_OR_RETURN(auto rtx, core.store->Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(auto versions, keyring::ListVersions(*rtx));
    for (const keyring::KekVersionInfo& v : versions) {
      if (v.active && !core.keys->holds_version(v.version)) {
        return Status::FailedPrecondition(
            "master_key_not_active",
            "the configured master key is version " + std::to_string(core.keys->kek_version()) +
                ", but version " + std::to_string(v.version) +
                " is the active version; configure the active key (or give it as --new-source to "
                "finish that rotation)");
      }
    }
  }
  step = "audit";
  BULWARK_ASSIGN_OR_RETURN(core.ledger, audit::Ledger::Open(*core.store, *core.keys));
  BULWARK_RETURN_IF_ERROR(CheckHighWater(config, core));
  return core;
}

StatusOr<std::unique_ptr<store::Store>> OpenExistingStore(const config::Config& c) {
  if (!c.storage_url.empty()) {
    return store::OpenPostgresStore({.url = c.storage_url, .pool_size = 1});
  }
  return store::OpenSqliteStore({.path = c.database_path(),
                                 .create_if_missing = false,
                                 .journal_mode = c.journal_mode,
                                 .synchronous = c.synchronous,
                                 .foreign_keys = c.foreign_keys,
                                 .busy_timeout_ms = static_cast<int>(c.busy_timeout_ms),
                                 .pool_size = 1});
}

}  // namespace bulwark::app
