#pragma once
// Ships the durable audit ledger to one sink, in seq order, at least once, from its own thread:
// every entry, and every signed checkpoint right after the entry of its size (ExportRecord).
//
// The exporter reads entries after its cursor from the store (never from the request path),
// sends them, and advances its cursor only over entries the sink confirms. The cursor is
// persisted in audit_export_cursors (one row per sink name), so after a restart, a receiver
// outage or a lost connection it resends from the last confirmed entry: duplicates are possible
// (each message carries its seq), gaps are not. While the sink is down it retries with a backoff
// of 100 ms doubling to 5 s; requests never wait for it, they only make the lag grow.
//
// One node at a time: every node of a database runs an exporter per configured sink, but only the
// one holding the sink's lease (columns owner, lease_until of its cursor row) connects and ships.
// Before it ships, an exporter claims the lease in a short write when it is free, expired or
// already its own, and the holder renews it at least every options.renew (and with every cursor
// write). Every write of the row is conditional on owner = this exporter's node id, so the cursor
// only ever moves forward, and only by the holder: a write that changes nothing means another
// node took the lease, and this one closes its sink and waits again. The others poll the row every
// options.poll and take over from the shared cursor once the lease has expired (a holder that
// died) or was released (Stop()). So each entry is shipped once while the holder lives; a
// takeover repeats at most what was sent but not yet persisted. A holder that cannot renew (the
// store is down) stops shipping when half its lease is left. Lease times are wall-clock Unix ms
// written by the holder: the nodes' clocks must agree to well within options.lease (NTP).
// A single node always gets the lease; after a crash its restart waits out the dead process's
// lease (at most options.lease) before exporting.
//
//   Exporter ex(store, std::make_unique<FileSink>("/var/log/bulwark/audit.jsonl"), {});
//   BULWARK_RETURN_IF_ERROR(ex.Start());
//   ...  ex.lag() entries behind the ledger head; ex.connected(); ex.active() holds the lease
//   ex.Stop();  // delivers what it can within options.drain, persists the cursor, releases
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/siem/sink.h"
#include "core/status.h"
#include "store/store.h"

namespace bulwark::audit::siem {

struct ExporterOptions {
  std::int64_t batch = 256;                             // entries read and sent at a time
  std::chrono::milliseconds poll{200};                  // how often new entries are looked for
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds persist_interval{500};      // cursor writes at most this often
  std::chrono::milliseconds drain{2000};                // Stop() tries this long to catch up
  std::chrono::milliseconds lease{10'000};              // another node may take over after this
  std::chrono::milliseconds renew{2000};                // the holder renews at least this often
};

// A new random id for this process's exporters: "<hostname>/<pid>/<16 hex digits>", so that
// `SELECT sink, owner FROM audit_export_cursors` shows which node exports what.
StatusOr<std::string> NewExportNodeId();

// The persisted cursor of `sink` (0 when it has none), read in its own transaction.
StatusOr<std::int64_t> ReadExportCursor(store::Store& store, std::string_view sink);

class Exporter {
 public:
  // `node`: this node's id in the lease (NewExportNodeId()); empty: Start() makes a new one.
  Exporter(store::Store& store, std::unique_ptr<ExportSink> sink, ExporterOptions options,
           std::string node = {});
  ~Exporter();  // Stop()

  // Reads the persisted cursor and the ledger head, then starts the thread. Fails (and starts
  // nothing) only when the store cannot be read.
  Status Start();
  // Delivers what it can within options.drain (not at all while disconnected or without the
  // lease), persists the cursor, releases the lease, closes the sink and joins the thread.
  // Idempotent.
  void Stop();

  std::string_view sink_name() const { return sink_->name(); }
  // Ledger head minus the last confirmed seq (as of the last poll); never negative. A node
  // without the lease shows the shared cursor: the lag of the node that exports.
  std::int64_t lag() const;
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  // True while this node holds the sink's lease (it is the one exporting).
  bool active() const { return active_.load(std::memory_order_relaxed); }
  // The last seq the sink confirmed (without the lease: the shared cursor, as of the last poll).
  std::int64_t cursor() const { return confirmed_.load(std::memory_order_relaxed); }

 private:
  void Run();
  void RefreshHead();
  struct Batch {
    std::vector<ExportRecord> records;
    // Every checkpoint up to this id is in `records` or was sent before (covers a size below
    // the batch's start).
    std::int64_t checkpoints_through = 0;
  };
  // Entries after `after` and the checkpoints among them: those of a size from `after` on (one of
  // size `after` may have been committed after its entry was sent) and an id above
  // sent_checkpoint_, each after the entry of its size.
  StatusOr<Batch> ReadBatch(std::int64_t after);
  // True when this node may ship now: claims, renews or gives up the lease as needed.
  bool HoldLease();
  bool Claim();
  void LoseLease(std::string_view reason);
  // One write of this node's cursor row, conditional on holding the lease: renews the lease (or
  // releases it) and, with `cursor`, raises the persisted cursor to it (never lowers it). False:
  // another node holds the lease now, and nothing was written.
  StatusOr<bool> WriteLease(std::optional<std::int64_t> cursor, bool release);
  void PersistCursor(bool force);
  void Failed(const Status& why);
  void Wait(std::chrono::milliseconds d);

  store::Store& store_;
  std::unique_ptr<ExportSink> sink_;
  const ExporterOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};

  std::atomic<std::int64_t> head_{0};
  std::atomic<std::int64_t> checkpoint_head_{0};  // the newest checkpoint's id
  std::atomic<std::int64_t> confirmed_{0};
  std::atomic<bool> connected_{false};
  std::atomic<bool> active_{false};  // written by the exporter thread only

  std::string node_;  // set by Start() at the latest; the rest is exporter thread only
  std::chrono::steady_clock::time_point lease_deadline_{};  // our lease ends by then at the latest
  std::chrono::steady_clock::time_point renew_at_{};
  std::int64_t sent_ = 0;
  // The newest checkpoint id sent on this connection; 0 after a reconnect, so those of a size
  // from the confirmed seq on are sent again (at least once, like the entries).
  std::int64_t sent_checkpoint_ = 0;
  std::int64_t persisted_ = 0;
  std::chrono::steady_clock::time_point last_persist_{};
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_attempt_{};
  bool failing_ = false;
  std::thread thread_;
};

}  // namespace bulwark::audit::siem
