#pragma once
// Ships the durable audit ledger to one sink, in seq order, at least once, from its own thread.
//
// The exporter reads entries after its cursor from the store (never from the request path),
// sends them, and advances its cursor only over entries the sink confirms. The cursor is
// persisted in audit_export_cursors (one row per sink name), so after a restart, a receiver
// outage or a lost connection it resends from the last confirmed entry: duplicates are possible
// (each message carries its seq), gaps are not. While the sink is down it retries with a backoff
// of 100 ms doubling to 5 s; requests never wait for it, they only make the lag grow.
//
//   Exporter ex(store, std::make_unique<FileSink>("/var/log/bulwark/audit.jsonl"), {});
//   BULWARK_RETURN_IF_ERROR(ex.Start());
//   ...  ex.lag() entries behind the ledger head; ex.connected()
//   ex.Stop();  // delivers what it can within options.drain, persists the cursor
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
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
};

// The persisted cursor of `sink` (0 when it has none), read in its own transaction.
StatusOr<std::int64_t> ReadExportCursor(store::Store& store, std::string_view sink);

class Exporter {
 public:
  Exporter(store::Store& store, std::unique_ptr<ExportSink> sink, ExporterOptions options);
  ~Exporter();  // Stop()

  // Reads the persisted cursor and the ledger head, then starts the thread. Fails (and starts
  // nothing) only when the store cannot be read.
  Status Start();
  // Delivers what it can within options.drain (not at all while disconnected), persists the
  // cursor, closes the sink and joins the thread. Idempotent.
  void Stop();

  std::string_view sink_name() const { return sink_->name(); }
  // Ledger head minus the last confirmed seq (as of the last poll); never negative.
  std::int64_t lag() const;
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  // The last seq the sink confirmed.
  std::int64_t cursor() const { return confirmed_.load(std::memory_order_relaxed); }

 private:
  void Run();
  void RefreshHead();
  StatusOr<std::vector<ExportRecord>> ReadBatch(std::int64_t after);
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
  std::atomic<std::int64_t> confirmed_{0};
  std::atomic<bool> connected_{false};

  // Exporter thread only.
  std::int64_t sent_ = 0;
  std::int64_t persisted_ = 0;
  std::chrono::steady_clock::time_point last_persist_{};
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_attempt_{};
  bool failing_ = false;
  std::thread thread_;
};

}  // namespace bulwark::audit::siem
