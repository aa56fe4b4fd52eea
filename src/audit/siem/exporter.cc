#include "audit/siem/exporter.h"

#include <unistd.h>

#include <algorithm>

#include "audit/siem/syslog_format.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/thread_name.h"
#include "crypto/random.h"

namespace bulwark::audit::siem {
namespace {

using Clock = std::chrono::steady_clock;
using store::TxMode;
using store::Value;

std::int64_t NowUnixMillis() { return core::NowUnixMicros() / 1000; }

// The holder's writes of its row: each changes nothing unless `owner` is still this node.
constexpr std::string_view kSaveCursor =
    "UPDATE audit_export_cursors SET seq = CASE WHEN seq < ? THEN ? ELSE seq END, updated_at = ?, "
    "owner = ?, lease_until = ? WHERE sink = ? AND owner = ?";
constexpr std::string_view kRenewLease =
    "UPDATE audit_export_cursors SET owner = ?, lease_until = ? WHERE sink = ? AND owner = ?";
// Taking the lease: a new row, or one whose lease is free, expired or already this node's.
constexpr std::string_view kNewCursor =
    "INSERT INTO audit_export_cursors(sink, seq, updated_at, owner, lease_until) "
    "VALUES (?, 0, ?, ?, ?) ON CONFLICT(sink) DO NOTHING";
constexpr std::string_view kTakeLease =
    "UPDATE audit_export_cursors SET owner = ?, lease_until = ? WHERE sink = ? AND "
    "(owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?)";

}  // namespace

StatusOr<std::string> NewExportNodeId() {
  BULWARK_ASSIGN_OR_RETURN(std::string random, crypto::RandomHex(8));
  return LocalHostname() + "/" + std::to_string(::getpid()) + "/" + random;
}

StatusOr<std::int64_t> ReadExportCursor(store::Store& store, std::string_view sink) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT seq FROM audit_export_cursors WHERE sink = ?",
                                                {Value::Text(std::string(sink))}));
  if (rows.empty() || rows[0][0].is_null()) return std::int64_t{0};
  return rows[0][0].as_int();
}

Exporter::Exporter(store::Store& store, std::unique_ptr<ExportSink> sink, ExporterOptions options,
                   std::string node)
    : store_(store), sink_(std::move(sink)), options_(options), node_(std::move(node)) {}

Exporter::~Exporter() { Stop(); }

Status Exporter::Start() {
  if (node_.empty()) {
    BULWARK_ASSIGN_OR_RETURN(node_, NewExportNodeId());
  }
  BULWARK_ASSIGN_OR_RETURN(std::int64_t cursor, ReadExportCursor(store_, sink_->name()));
  confirmed_ = cursor;
  sent_ = cursor;
  persisted_ = cursor;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT MAX(seq) FROM audit_ledger"));
    head_ = rows.empty() || rows[0][0].is_null() ? 0 : rows[0][0].as_int();
    BULWARK_ASSIGN_OR_RETURN(auto cps, tx->Query("SELECT MAX(id) FROM audit_checkpoints"));
    checkpoint_head_ = cps.empty() || cps[0][0].is_null() ? 0 : cps[0][0].as_int();
  }
  sent_checkpoint_ = 0;
  if (cursor > head_) {
    log::Warn("audit.export_cursor_ahead", {{"sink", sink_->name()}, {"cursor", cursor}, {"head", head_.load()}});
  }
  last_persist_ = Clock::now();
  thread_ = std::thread([this] {
    core::NameThisThread("bw-siem-export");
    Run();
  });
  return Status::Ok();
}

void Exporter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    if (!stopping_) {
      stopping_ = true;
      drain_deadline_ = Clock::now() + options_.drain;
    }
  }
  sink_->CancelAt(drain_deadline_);
  cv_.notify_all();
  thread_.join();
}

std::int64_t Exporter::lag() const {
  return std::max<std::int64_t>(0, head_.load(std::memory_order_relaxed) - confirmed_.load(std::memory_order_relaxed));
}

void Exporter::Wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  const bool was_stopping = stopping_;  // wake early only when Stop() is first called
  cv_.wait_for(lock, d, [&] { return stopping_ != was_stopping; });
}

void Exporter::RefreshHead() {
  auto tx = store_.Begin(TxMode::kRead);
  if (!tx.ok()) return;
  auto rows = (*tx)->Query("SELECT MAX(seq) FROM audit_ledger");
  if (rows.ok() && !rows->empty() && !(*rows)[0][0].is_null()) head_ = (*rows)[0][0].as_int();
  auto cps = (*tx)->Query("SELECT MAX(id) FROM audit_checkpoints");
  if (cps.ok() && !cps->empty() && !(*cps)[0][0].is_null()) checkpoint_head_ = (*cps)[0][0].as_int();
}

StatusOr<Exporter::Batch> Exporter::ReadBatch(std::int64_t after) {
  // One snapshot for both tables. A checkpoint signs the head of the transaction that writes it,
  // so every checkpoint of a size below `after` was visible when the entry after it was read.
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT seq, entry FROM audit_ledger WHERE seq > ? ORDER BY seq LIMIT ?",
                                                {Value::Int(after), Value::Int(options_.batch)}));
  const bool full = static_cast<std::int64_t>(rows.size()) >= options_.batch;
  // A full batch takes the checkpoints up to its last entry; the rest come with the next one.
  const std::int64_t upto = full ? rows.back()[0].as_int() : INT64_MAX;
  BULWARK_ASSIGN_OR_RETURN(
      auto cps, tx->Query("SELECT id, size, head_hash, body, key_id, signature FROM audit_checkpoints "
                          "WHERE id > ? AND size >= ? AND size <= ? ORDER BY size, id",
                          {Value::Int(sent_checkpoint_), Value::Int(after), Value::Int(upto)}));
  Batch out;
  out.checkpoints_through = sent_checkpoint_;
  if (!full) {
    BULWARK_ASSIGN_OR_RETURN(auto top, tx->Query("SELECT MAX(id) FROM audit_checkpoints"));
    if (!top.empty() && !top[0][0].is_null()) {
      out.checkpoints_through = std::max(out.checkpoints_through, top[0][0].as_int());
    }
  }
  const auto as_vector = [](const Value& v) {
    const auto& b = v.as_bytes();
    return std::vector<std::uint8_t>(b.begin(), b.end());
  };
  out.records.reserve(rows.size() + cps.size());
  std::size_t next_cp = 0;
  auto add_checkpoints_upto = [&](std::int64_t seq) {
    for (; next_cp < cps.size() && cps[next_cp][1].as_int() <= seq; ++next_cp) {
      const auto& c = cps[next_cp];
      const auto& body = c[3].as_bytes();
      LedgerCheckpoint cp{.id = c[0].as_int(),
                          .body = std::string(body.begin(), body.end()),
                          .key_id = c[4].as_text(),
                          .signature = as_vector(c[5]),
                          .has_columns = true,
                          .size = c[1].as_int(),
                          .head_hash = as_vector(c[2])};
      out.checkpoints_through = std::max(out.checkpoints_through, cp.id);
      out.records.push_back({cp.size, std::string(), std::move(cp)});
    }
  };
  add_checkpoints_upto(after);
  for (const auto& row : rows) {
    const auto& bytes = row[1].as_bytes();
    out.records.push_back({row[0].as_int(), std::string(bytes.begin(), bytes.end()), std::nullopt});
    add_checkpoints_upto(row[0].as_int());
  }
  add_checkpoints_upto(upto);
  return out;
}

StatusOr<bool> Exporter::WriteLease(std::optional<std::int64_t> cursor, bool release) {
  const auto started = Clock::now();
  const Value owner = release ? Value::Null() : Value::Text(node_);
  const Value until =
      release ? Value::Null() : Value::Int(NowUnixMillis() + options_.lease.count());
  // A cursor write waits its turn with the ledger's writers (durable); a bare renewal needs only
  // the row (TxMode::kRowWrite: losing it in a database crash at worst moves a takeover).
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(cursor ? TxMode::kWrite : TxMode::kRowWrite));
  const Value sink = Value::Text(std::string(sink_->name()));
  const Value me = Value::Text(node_);
  StatusOr<std::int64_t> changed =
      cursor
          ? tx->Exec(kSaveCursor, {Value::Int(*cursor), Value::Int(*cursor),
                                   Value::Text(core::NowIso8601Micros()), owner, until, sink, me})
          : tx->Exec(kRenewLease, {owner, until, sink, me});
  BULWARK_RETURN_IF_ERROR(changed.status());
  if (*changed == 0) return false;
  BULWARK_RETURN_IF_ERROR(tx->Commit());
  if (!release) {
    lease_deadline_ = started + options_.lease;
    renew_at_ = started + options_.renew;
  }
  return true;
}

bool Exporter::Claim() {
  const std::string sink(sink_->name());
  {
    // A node without the lease only reads, once per poll, until the lease looks free.
    auto tx = store_.Begin(TxMode::kRead);
    if (!tx.ok()) return false;
    auto rows =
        (*tx)->Query("SELECT seq, owner, lease_until FROM audit_export_cursors WHERE sink = ?",
                     {Value::Text(sink)});
    if (!rows.ok()) return false;
    if (!rows->empty()) {
      const auto& row = (*rows)[0];
      // Shown as this node's cursor while it stands by: the lag is the exporting node's.
      if (row[0].as_int() > confirmed_) confirmed_ = row[0].as_int();
      const bool free = row[1].is_null() || row[1].as_text() == node_ || row[2].is_null() ||
                        row[2].as_int() < NowUnixMillis();
      if (!free) return false;
    }
  }
  const auto started = Clock::now();
  auto claim = [&]() -> StatusOr<std::optional<std::int64_t>> {
    const std::int64_t now = NowUnixMillis();
    const std::int64_t until = now + options_.lease.count();
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(TxMode::kRowWrite));
    BULWARK_ASSIGN_OR_RETURN(
        std::int64_t changed,
        tx->Exec(kNewCursor, {Value::Text(sink), Value::Text(core::NowIso8601Micros()),
                              Value::Text(node_), Value::Int(until)}));
    if (changed == 0) {
      // The same test as above, now atomic: the row stays locked until this transaction ends, so
      // a holder's conditional write racing with it changes nothing.
      BULWARK_ASSIGN_OR_RETURN(
          changed, tx->Exec(kTakeLease, {Value::Text(node_), Value::Int(until), Value::Text(sink),
                                         Value::Text(node_), Value::Int(now)}));
      if (changed == 0) return std::optional<std::int64_t>();  // another node was quicker
    }
    BULWARK_ASSIGN_OR_RETURN(
        auto rows,
        tx->Query("SELECT seq FROM audit_export_cursors WHERE sink = ?", {Value::Text(sink)}));
    if (rows.empty()) return Status::Internal("the claimed export cursor row is missing");
    BULWARK_RETURN_IF_ERROR(tx->Commit());
    return std::optional<std::int64_t>(rows[0][0].as_int());
  };
  auto claimed = claim();
  if (!claimed.ok() || !claimed->has_value()) return false;
  // Resume from the shared cursor (or from what this node itself confirmed, if further: that was
  // delivered too, but not yet persisted when it lost the lease).
  const std::int64_t shared = **claimed;
  if (shared > confirmed_) confirmed_ = shared;
  sent_ = confirmed_.load();
  sent_checkpoint_ = 0;
  persisted_ = shared;
  last_persist_ = Clock::now();
  lease_deadline_ = started + options_.lease;
  renew_at_ = started + options_.renew;
  active_ = true;
  log::Info("audit.export_lease_acquired",
            {{"sink", sink_->name()}, {"node", node_}, {"cursor", confirmed_.load()}});
  return true;
}

void Exporter::LoseLease(std::string_view reason) {
  log::Warn("audit.export_lease_lost", {{"sink", sink_->name()},
                                        {"node", node_},
                                        {"reason", reason},
                                        {"cursor", confirmed_.load()}});
  active_ = false;
  sink_->Close();  // what was sent but not confirmed is the new holder's to resend
  connected_ = false;
  sent_ = confirmed_.load();
  sent_checkpoint_ = 0;
}

bool Exporter::HoldLease() {
  if (!active_) return Claim();
  const auto now = Clock::now();
  if (now < renew_at_) return true;
  auto renewed = WriteLease(std::nullopt, /*release=*/false);
  if (renewed.ok()) {
    if (*renewed) return true;
    LoseLease("taken");
    return false;
  }
  // The store cannot be written: another node may take over once our lease has expired, so stop
  // shipping with half of it left, and let it go for good at its end.
  if (now >= lease_deadline_) {
    LoseLease("expired");
    return false;
  }
  return now < lease_deadline_ - options_.lease / 2;
}

void Exporter::PersistCursor(bool force) {
  const std::int64_t c = confirmed_.load();
  if (c <= persisted_) return;
  if (!force && Clock::now() - last_persist_ < options_.persist_interval) return;
  last_persist_ = Clock::now();
  auto written = WriteLease(c, /*release=*/false);
  if (!written.ok()) {
    // Not fatal: the in-memory cursor is right; a restart would only resend more.
    log::Warn("audit.export_cursor_not_saved",
              {{"sink", sink_->name()}, {"reason", written.status().reason()}});
    return;
  }
  if (!*written) {
    LoseLease("taken");
    return;
  }
  persisted_ = c;
}

void Exporter::Failed(const Status& why) {
  sink_->Close();
  connected_ = false;
  sent_ = confirmed_.load();
  sent_checkpoint_ = 0;
  backoff_ = backoff_.count() == 0 ? options_.backoff_initial : std::min(backoff_ * 2, options_.backoff_max);
  next_attempt_ = Clock::now() + backoff_;
  if (!failing_) {
    failing_ = true;
    log::Warn("audit.export_unavailable", {{"sink", sink_->name()}, {"reason", why.reason()},
                                           {"message", why.message()}, {"cursor", confirmed_.load()}});
  }
}

void Exporter::Run() {
  for (;;) {
    RefreshHead();
    bool stopping = false;
    Clock::time_point deadline;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
      deadline = drain_deadline_;
    }
    const auto now = Clock::now();
    if (stopping && (!active_ || !sink_->connected() ||
                     (confirmed_ >= head_ && sent_checkpoint_ >= checkpoint_head_) ||
                     now >= deadline))
      break;

    if (!HoldLease()) {  // another node exports this sink: check the lease again at the next poll
      Wait(options_.poll);
      continue;
    }

    if (!sink_->connected()) {
      if (now < next_attempt_) {
        Wait(std::min(options_.poll, std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now) +
                                         std::chrono::milliseconds(1)));
        continue;
      }
      if (Status s = sink_->Connect(); !s.ok()) {
        Failed(s);
        continue;
      }
      connected_ = true;
      backoff_ = std::chrono::milliseconds(0);
      if (failing_) {
        failing_ = false;
        log::Info("audit.export_resumed", {{"sink", sink_->name()}, {"cursor", confirmed_.load()}});
      }
    }

    auto confirmed = sink_->Confirmed();
    if (!confirmed.ok()) {
      Failed(confirmed.status());
      continue;
    }
    if (*confirmed > confirmed_) confirmed_ = *confirmed;
    PersistCursor(false);
    if (!active_) continue;  // the cursor write found another node holding the lease

    if (sent_ < head_ || sent_checkpoint_ < checkpoint_head_) {
      auto batch = ReadBatch(sent_);
      if (!batch.ok()) {
        Wait(options_.poll);  // the store is busy or down: keep the connection, try again
        continue;
      }
      if (!batch->records.empty()) {
        if (Status s = sink_->Send(batch->records); !s.ok()) {
          Failed(s);
          continue;
        }
        sent_ = batch->records.back().seq;
        sent_checkpoint_ = batch->checkpoints_through;
        continue;
      }
      sent_checkpoint_ = batch->checkpoints_through;
    }
    // Sent entries awaiting confirmation are checked again soon; otherwise wait for new ones.
    Wait(sent_ > confirmed_ ? std::min(options_.poll, std::chrono::milliseconds(50)) : options_.poll);
  }
  if (active_) {
    if (sink_->connected()) {
      if (auto c = sink_->Confirmed(); c.ok() && *c > confirmed_) confirmed_ = *c;
    }
    // Persist and let go in one write, so another node takes over at its next poll.
    if (auto released = WriteLease(confirmed_.load(), /*release=*/true); !released.ok()) {
      log::Warn("audit.export_cursor_not_saved",
                {{"sink", sink_->name()}, {"reason", released.status().reason()}});
    } else if (*released) {
      log::Info("audit.export_lease_released",
                {{"sink", sink_->name()}, {"node", node_}, {"cursor", confirmed_.load()}});
    }
    active_ = false;
  }
  sink_->Close();
  connected_ = false;
}

}  // namespace bulwark::audit::siem
