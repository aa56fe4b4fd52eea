// Durable-ledger cost on a mutation: the same INSERT by 16 concurrent callers, (a) through
// AuditWriter::Commit (the change and its audit record in one group-committed transaction, as
// every mutating request does) and (b) as plain write transactions with no ledger (one commit,
// one fsync each). Ratio = (a) / (b) items per second; the goal is at least 0.8.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>

#include "audit/ledger.h"
#include "audit/writer.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "keyring/keyring.h"
#include "store/migrate.h"
#include "store/sqlite/sqlite_store.h"

namespace {

using namespace bulwark;

struct Env {
  std::string dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<keyring::Keyring> keys;
  std::unique_ptr<audit::Ledger> ledger;
  std::unique_ptr<audit::AuditWriter> writer;
};

template <typename T>
T Must(StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "audit bench setup: %s: %s\n", what, v.status().ToString().c_str());
    std::exit(2);
  }
  return std::move(v).value();
}

Env& Shared() {
  static Env env = [] {
    Env e;
    e.dir = (std::filesystem::temp_directory_path() / "bulwark-audit-bench").string();
    std::filesystem::remove_all(e.dir);
    std::filesystem::create_directories(e.dir);
    e.store = Must(store::OpenSqliteStore({.path = e.dir + "/db.sqlite", .pool_size = 20}), "open store");
    (void)store::Migrate(*e.store);
    {
      auto tx = Must(e.store->Begin(store::TxMode::kWrite), "begin");
      (void)tx->Exec("CREATE TABLE items (id INTEGER PRIMARY KEY, tenant TEXT, name TEXT, value BLOB)");
      (void)tx->Commit();
    }
    keyring::MasterKeySource src;
    std::vector<std::uint8_t> raw(32);
    (void)crypto::RandomBytes(raw);
    src.material = crypto::SecretBytes::FromString(crypto::Base64Encode(raw));
    e.keys = Must(keyring::Keyring::Open(src, *e.store), "keyring");
    e.ledger = Must(audit::Ledger::Open(*e.store, *e.keys), "ledger");
    e.writer = std::make_unique<audit::AuditWriter>(*e.store, *e.ledger, audit::WriterOptions{});
    return e;
  }();
  return env;
}

Status InsertItem(store::Transaction& tx, int i) {
  return tx.Exec("INSERT INTO items(tenant, name, value) VALUES (?, ?, ?)",
                 {store::Value::Text("tenant-a"), store::Value::Text("item-" + std::to_string(i)),
                  store::Value::Bytes(std::vector<std::uint8_t>(256, 7))})
      .status();
}

void BM_MutationWithDurableLedger(benchmark::State& state) {
  Env& env = Shared();
  int i = 0;
  for (auto _ : state) {
    audit::Event e;
    e.actor = {audit::ActorKind::kApiKey, "key-1"};
    e.tenant = "tenant-a";
    e.action = "item.create";
    e.resource = "item-" + std::to_string(i);
    Status s = env.writer->Commit([i](store::Transaction& tx) { return InsertItem(tx, i); }, std::move(e));
    if (!s.ok()) state.SkipWithError("commit failed");
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

// The canonical bytes of one secret read's ledger entry, as the audit writer builds each record.
void BM_LedgerEntryBytes(benchmark::State& state) {
  audit::Event e;
  e.time = "2026-11-23T15:59:39.243061Z";
  e.actor = {audit::ActorKind::kApiKey, "f7d5108f472c4fdb"};
  e.tenant = "tnt_f3f54e24cfcabad879e45b42";
  e.action = "secret.read";
  e.resource = "secret:bench/s0535";
  e.request_id = "5e9b68f87f3215170000000000053a35";
  e.client = "127.0.0.1";
  e.auth_method = "api_key";
  e.details = {{"status", 200}, {"version", 1}};
  std::int64_t seq = 686384;
  for (auto _ : state) {
    auto bytes = audit::EntryBytes(e, ++seq);
    if (!bytes.ok()) state.SkipWithError("entry failed");
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MutationWithoutLedger(benchmark::State& state) {
  Env& env = Shared();
  int i = 0;
  for (auto _ : state) {
    auto tx = env.store->Begin(store::TxMode::kWrite);
    if (!tx.ok() || !InsertItem(**tx, i).ok() || !(*tx)->Commit().ok()) state.SkipWithError("tx failed");
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_MutationWithDurableLedger)->Threads(16)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_MutationWithoutLedger)->Threads(16)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_LedgerEntryBytes);

}  // namespace
