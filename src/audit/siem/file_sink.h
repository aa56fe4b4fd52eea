#pragma once
// The JSON-lines file sink (`audit.file`): each ledger entry's canonical bytes as one line,
// appended in seq order and fsync'd per batch before the cursor moves past it; each signed
// checkpoint, right after the entry of its size, as the line `bulwark audit export` writes for it
// ({"type":"checkpoint",...}; audit/export.h; an entry line has no "type").
//
// The file is opened O_APPEND with mode 0600 when created. After a crash between the fsync and
// the cursor write, the entries of that batch are appended again on restart (at-least-once;
// each line holds its "seq"). A line torn by a crash mid-write is ended with '\n' on reopen, so
// it never glues onto the next entry.
#include <string>

#include "audit/siem/sink.h"

namespace bulwark::audit::siem {

class FileSink final : public ExportSink {
 public:
  explicit FileSink(std::string path) : path_(std::move(path)) {}
  ~FileSink() override { Close(); }

  std::string_view name() const override { return "file"; }
  Status Connect() override;
  bool connected() const override { return fd_ >= 0; }
  void Close() override;
  Status Send(std::span<const ExportRecord> records) override;
  StatusOr<std::int64_t> Confirmed() override { return last_synced_; }
  void CancelAt(std::chrono::steady_clock::time_point) override {}  // local writes do not hang

 private:
  std::string path_;
  int fd_ = -1;
  std::int64_t last_synced_ = 0;
};

}  // namespace bulwark::audit::siem
