#include "store/migrations.h"

namespace bulwark::store {
namespace {

// Migration 1: the keyring. A KEK (key-encryption key) row records how the master key is derived
// and a check value to recognise it, never the key; wrapped_keys holds data keys sealed by a KEK.
constexpr std::string_view kFoundation = R"sql(
CREATE TABLE keyring_kek (
  version INTEGER PRIMARY KEY,
  source_kind TEXT NOT NULL,
  salt BLOB,
  iterations INTEGER,
  check_value BLOB NOT NULL,
  created_at TEXT NOT NULL,
  retired_at TEXT
);
CREATE TABLE wrapped_keys (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  kek_version INTEGER NOT NULL REFERENCES keyring_kek(version),
  wrapped BLOB NOT NULL,
  created_at TEXT NOT NULL
);
)sql";

constexpr Migration kMigrations[] = {
    {1, "foundation", kFoundation},
};

}  // namespace

std::span<const Migration> AllMigrations() { return kMigrations; }

int LatestSchemaVersion() { return AllMigrations().back().version; }

}  // namespace bulwark::store
