#pragma once
// A migrated SQLite store in a scratch directory with a keyring opened on a random master key:
// what every service test (ledger, receipts, exporters, queries) starts from.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "audit/ledger.h"
#include "audit/writer.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "keyring/keyring.h"
#include "store/migrate.h"
#include "store/store_test_util.h"

namespace bulwark::testing {

struct KeyedStore {
  store::testing::TempDir dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<keyring::Keyring> keys;

  KeyedStore() {
    store = store::testing::MustOpen(store::testing::Options(dir.File("db.sqlite")));
    EXPECT_TRUE(store::Migrate(*store).ok());
    keyring::MasterKeySource src;
    src.kind = keyring::MasterKeySourceKind::kBase64;
    std::vector<std::uint8_t> raw(32);
    EXPECT_TRUE(crypto::RandomBytes(raw).ok());
    src.material = crypto::SecretBytes::FromString(crypto::Base64Encode(raw));
    auto k = keyring::Keyring::Open(src, *store);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    keys = std::move(*k);
  }

  // Runs `fn(tx)` in a write transaction and commits when the StatusOr it returns is OK (a
  // failed call rolls back, as the AuditWriter would).
  template <typename Fn>
  auto Write(Fn fn) {
    auto tx = store->Begin(store::TxMode::kWrite);
    EXPECT_TRUE(tx.ok());
    auto result = fn(**tx);
    if (result.ok()) {
      EXPECT_TRUE((*tx)->Commit().ok());
    }
    return result;
  }
};

// The same with the audit ledger open on it and a writer (default options) in front of it.
struct KeyedLedger : KeyedStore {
  std::unique_ptr<audit::Ledger> ledger;
  std::unique_ptr<audit::AuditWriter> writer;

  KeyedLedger() {
    auto l = audit::Ledger::Open(*store, *keys);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    ledger = std::move(*l);
    writer = std::make_unique<audit::AuditWriter>(*store, *ledger, audit::WriterOptions{});
  }
};

}  // namespace bulwark::testing
