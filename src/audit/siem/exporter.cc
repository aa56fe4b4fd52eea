#include "audit/siem/exporter.h"

#include <algorithm>

#include "core/clock.h"
#include "core/log.h"

namespace bulwark::audit::siem {
namespace {

using Clock = std::chrono::steady_clock;
using store::TxMode;
using store::Value;

}  // namespace

StatusOr<std::int64_t> ReadExportCursor(store::Store& store, std::string_view sink) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT seq FROM audit_export_cursors WHERE sink = ?",
                                                {Value::Text(std::string(sink))}));
  if (rows.empty() || rows[0][0].is_null()) return std::int64_t{0};
  return rows[0][0].as_int();
}

Exporter::Exporter(store::Store& store, std::unique_ptr<ExportSink> sink, ExporterOptions options)
    : store_(store), sink_(std::move(sink)), options_(options) {}

Exporter::~Exporter() { Stop(); }

Status Exporter::Start() {
  BULWARK_ASSIGN_OR_RETURN(std::int64_t cursor, ReadExportCursor(store_, sink_->name()));
  confirmed_ = cursor;
  sent_ = cursor;
  persisted_ = cursor;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT MAX(seq) FROM audit_ledger"));
    head_ = rows.empty() || rows[0][0].is_null() ? 0 : rows[0][0].as_int();
  }
  if (cursor > head_) {
    log::Warn("audit.export_cursor_ahead", {{"sink", sink_->name()}, {"cursor", cursor}, {"head", head_.load()}});
  }
  last_persist_ = Clock::now();
  thread_ = std::thread([this] { Run(); });
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
}

StatusOr<std::vector<ExportRecord>> Exporter::ReadBatch(std::int64_t after) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT seq, entry FROM audit_ledger WHERE seq > ? ORDER BY seq LIMIT ?",
                                                {Value::Int(after), Value::Int(options_.batch)}));
  std::vector<ExportRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    const auto& bytes = row[1].as_bytes();
    out.push_back({row[0].as_int(), std::string(bytes.begin(), bytes.end())});
  }
  return out;
}

void Exporter::PersistCursor(bool force) {
  const std::int64_t c = confirmed_.load();
  if (c <= persisted_) return;
  if (!force && Clock::now() - last_persist_ < options_.persist_interval) return;
  auto write = [&]() -> Status {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(TxMode::kWrite));
    BULWARK_RETURN_IF_ERROR(tx->Exec(
        "INSERT INTO audit_export_cursors(sink, seq, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(sink) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
        {Value::Text(std::string(sink_->name())), Value::Int(c), Value::Text(core::NowIso8601Micros())}).status());
    return tx->Commit();
  };
  last_persist_ = Clock::now();
  if (Status s = write(); !s.ok()) {
    // Not fatal: the in-memory cursor is right; a restart would only resend more.
    log::Warn("audit.export_cursor_not_saved", {{"sink", sink_->name()}, {"reason", s.reason()}});
    return;
  }
  persisted_ = c;
}

void Exporter::Failed(const Status& why) {
  sink_->Close();
  connected_ = false;
  sent_ = confirmed_.load();
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
    if (stopping && (!sink_->connected() || confirmed_ >= head_ || now >= deadline)) break;

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

    if (sent_ < head_) {
      auto batch = ReadBatch(sent_);
      if (!batch.ok()) {
        Wait(options_.poll);  // the store is busy or down: keep the connection, try again
        continue;
      }
      if (!batch->empty()) {
        if (Status s = sink_->Send(*batch); !s.ok()) {
          Failed(s);
          continue;
        }
        sent_ = batch->back().seq;
        continue;
      }
    }
    // Sent entries awaiting confirmation are checked again soon; otherwise wait for new ones.
    Wait(sent_ > confirmed_ ? std::min(options_.poll, std::chrono::milliseconds(50)) : options_.poll);
  }
  if (sink_->connected()) {
    if (auto c = sink_->Confirmed(); c.ok() && *c > confirmed_) confirmed_ = *c;
  }
  PersistCursor(true);
  sink_->Close();
  connected_ = false;
}

}  // namespace bulwark::audit::siem
