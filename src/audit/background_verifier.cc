#include "audit/background_verifier.h"

#include "audit/query.h"
#include "audit/verify.h"
#include "core/log.h"

namespace bulwark::audit {
namespace {
constexpr std::int64_t kPageSize = 10'000;
// Every this many passes the verifier starts again from genesis, so an entry (or an index row,
// or a checkpoint) altered after it was first checked is found too.
constexpr int kFullRescanEvery = 120;

bool SameBytes(const std::vector<std::uint8_t>& a, std::span<const std::uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}
}  // namespace

BackgroundVerifier::BackgroundVerifier(store::Store& store, const Ledger& ledger, AuditWriter& writer,
                                       std::chrono::milliseconds interval)
    : store_(store),
      ledger_(ledger),
      writer_(writer),
      last_hash_(ledger.genesis()),
      thread_("bw-audit-verify", interval, [this] { VerifyNewEntries(); }) {}

BackgroundVerifier::~BackgroundVerifier() { Stop(); }

void BackgroundVerifier::Stop() { thread_.Stop(); }

void BackgroundVerifier::Alert(std::string_view what, std::int64_t seq,
                               std::vector<std::pair<std::string, DetailValue>> details) {
  alerts_.fetch_add(1);
  log::Error("audit.alert", {{"alert", "ledger_hash_mismatch"}, {"seq", seq}, {"what", std::string(what)}});
  Event alert;
  alert.actor = {ActorKind::kSystem, "background-verifier"};
  alert.action = "alert.ledger_hash_mismatch";
  alert.resource = "audit_ledger";
  alert.result = Result::kError;
  alert.reason = "ledger_hash_mismatch";
  alert.details.emplace_back("seq", seq);
  if (what != "entry") alert.details.emplace_back("what", std::string(what));
  for (auto& d : details) alert.details.push_back(std::move(d));
  // Appended after the damage: the chain from here on is the writer's, and the alert itself
  // reaches every exporter. If even this fails, the log line above remains.
  (void)writer_.Record(std::move(alert));
}

std::int64_t BackgroundVerifier::VerifyNewEntries() {
  std::lock_guard<std::mutex> pass(mu_);
  if (++passes_ % kFullRescanEvery == 0) {
    verified_.store(0);
    last_hash_ = ledger_.genesis();
    checkpoints_checked_ = 0;
    reported_index_.clear();
  }
  const std::int64_t bad = VerifyChain();
  VerifyCheckpoints();
  return bad;
}

std::int64_t BackgroundVerifier::VerifyChain() {
  for (;;) {
    auto tx = store_.Begin(store::TxMode::kRead);
    if (!tx.ok()) return 0;  // the store is down: readiness reports that; try again next pass
    const std::int64_t from = verified_.load();
    // The index row of each entry comes along: what the audit API filters on must say what the
    // entry says.
    auto rows = (*tx)->Query("SELECT l.seq, l.entry, l.prev_hash, l.hash, " + IndexColumnList("i") +
                                 " FROM audit_ledger l LEFT JOIN audit_index i ON i.seq = l.seq "
                                 "WHERE l.seq > ? ORDER BY l.seq LIMIT ?",
                             {store::Value::Int(from), store::Value::Int(kPageSize)});
    if (!rows.ok() || rows->empty()) return 0;
    std::int64_t expected = from + 1;
    for (const auto& row : *rows) {
      // A column of the wrong type is damage too (e.g. an entry rewritten as TEXT).
      const bool typed = row[0].is_int() && row[1].is_bytes() && row[2].is_bytes() && row[3].is_bytes();
      const std::int64_t seq = row[0].is_int() ? row[0].as_int() : -1;
      crypto::Digest256 computed{};
      bool ok = typed && seq == expected;
      if (ok) {
        const auto& entry = row[1].as_bytes();
        const auto& prev = row[2].as_bytes();
        const auto& stored = row[3].as_bytes();
        crypto::Sha256Hasher h;
        h.Update(std::span<const std::uint8_t>(last_hash_));
        h.Update(std::span<const std::uint8_t>(entry));
        computed = h.Finish();
        ok = prev.size() == 32 && std::equal(prev.begin(), prev.end(), last_hash_.begin()) &&
             stored.size() == 32 && std::equal(stored.begin(), stored.end(), computed.begin());
      }
      if (!ok) {
        if (reported_seq_ != expected) {
          reported_seq_ = expected;
          Alert("entry", expected, {});
        }
        return expected;
      }
      const auto& entry = row[1].as_bytes();
      const std::optional<IndexColumns> want =
          IndexColumnsOfEntry(std::string_view(reinterpret_cast<const char*>(entry.data()), entry.size()));
      if ((row[8].is_null() || !want || *want != IndexColumnsOfRow(row, 4)) &&
          reported_index_.insert(seq).second) {
        Alert("audit_index", seq, {});
      }
      last_hash_ = computed;
      verified_.store(seq);
      ++expected;
    }
  }
}

void BackgroundVerifier::VerifyCheckpoints() {
  auto tx = store_.Begin(store::TxMode::kRead);
  if (!tx.ok()) return;
  auto rows = (*tx)->Query(
      "SELECT id, size, head_hash, body, key_id, signature FROM audit_checkpoints WHERE id > ? "
      "ORDER BY id",
      {store::Value::Int(checkpoints_checked_)});
  if (!rows.ok()) return;
  const std::vector<crypto::Ed25519PublicKey> keys{ledger_.public_key()};
  for (const auto& row : *rows) {
    if (!row[0].is_int()) return;
    const std::int64_t id = row[0].as_int();
    const std::int64_t size = row[1].is_int() ? row[1].as_int() : -1;
    if (size > verified_.load()) return;  // its entries are not verified yet: next pass
    checkpoints_checked_ = id;
    LedgerCheckpoint cp;
    if (row[3].is_bytes()) cp.body.assign(row[3].as_bytes().begin(), row[3].as_bytes().end());
    if (row[5].is_bytes()) cp.signature = row[5].as_bytes();
    auto claim = OpenTrustedCheckpoint(cp, keys);
    bool ok = claim.ok() && claim->ledger_id == ledger_.ledger_id() && claim->size == size &&
              row[2].is_bytes() && SameBytes(claim->head_hash, row[2].as_bytes());
    if (ok && size == 0) {
      ok = SameBytes(claim->head_hash, ledger_.genesis());
    } else if (ok) {
      auto at = (*tx)->Query("SELECT hash FROM audit_ledger WHERE seq = ?", {store::Value::Int(size)});
      ok = at.ok() && !at->empty() && (*at)[0][0].is_bytes() &&
           SameBytes(claim->head_hash, (*at)[0][0].as_bytes());
    }
    if (!ok) Alert("checkpoint", size < 0 ? 0 : size, {{"checkpoint", id}});
  }
}

}  // namespace bulwark::audit
