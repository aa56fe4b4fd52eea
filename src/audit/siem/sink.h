#pragma once
// Where the exporter ships ledger entries and signed checkpoints: a syslog receiver, a JSON-lines
// file.
//
// A sink is used by exactly one exporter thread (exporter.h), except CancelAt(), which any thread
// may call to bound how long a blocked call may still take. Every call returns a Status; none
// throws. A sink never holds a secret: it ships entries, which hold none by construction.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "audit/verify.h"
#include "core/status.h"

namespace bulwark::audit::siem {

// One ledger entry: its seq and the exact canonical bytes the ledger stored and hashed. Or one
// signed checkpoint (`checkpoint` set): `seq` is then the size it covers, so it follows the entry
// of that seq, and `entry` is empty. Checkpoints go to every sink, in order with the entries, so a
// SIEM holds the signed heads it needs to detect a rollback (docs/operations.md).
struct ExportRecord {
  std::int64_t seq = 0;
  std::string entry;
  std::optional<LedgerCheckpoint> checkpoint;
};

class ExportSink {
 public:
  virtual ~ExportSink() = default;

  // Stable name: the cursor's key in audit_export_cursors and the `sink` metric label.
  virtual std::string_view name() const = 0;

  // Opens the connection or file. kUnavailable when the receiver cannot be reached.
  virtual Status Connect() = 0;
  virtual bool connected() const = 0;
  // Closes it; entries sent but not confirmed count as not delivered.
  virtual void Close() = 0;

  // Writes `records` in order: entries of ascending, consecutive seq, each checkpoint right after
  // the entry of its size (so a seq may repeat once per checkpoint). An error means the connection is
  // unusable: the caller closes it and resends from the last confirmed seq.
  virtual Status Send(std::span<const ExportRecord> records) = 0;

  // The highest seq known to be delivered (0 if none since Connect), never beyond the last one
  // sent. An error means the connection was lost: entries after the last confirmed one may not
  // have arrived.
  virtual StatusOr<std::int64_t> Confirmed() = 0;

  // From now on, calls blocked past `deadline` give up (kUnavailable "export_cancelled").
  virtual void CancelAt(std::chrono::steady_clock::time_point deadline) = 0;
};

}  // namespace bulwark::audit::siem
