#pragma once
// The configured SIEM export: one Exporter (exporter.h) per sink named in the configuration.
//
//   audit.syslog_address = "siem.example.com:6514"  -> SyslogSink (syslog_sink.h), cursor "syslog"
//   audit.file = "/var/log/bulwark/audit.jsonl"     -> FileSink (file_sink.h), cursor "file"
//
// With several nodes on one database, each sink is exported by one node at a time (the lease in
// exporter.h); the others stand by and report the exporting node's lag.
//
// Started at boot after the audit writer, stopped after it (so the final entries are shipped
// when the receiver is up). A receiver outage never makes the service unready: it shows as lag.
//
//   BULWARK_ASSIGN_OR_RETURN(auto exports, AuditExport::Start(config, store, ledger.ledger_id()));
//   for (const SinkState& s : exports->States()) ...;
//   exports->Stop();
#include <memory>
#include <string>
#include <vector>

#include "audit/siem/exporter.h"
#include "audit/siem/sink_state.h"
#include "config/config.h"
#include "store/store.h"

namespace bulwark::audit::siem {

class AuditExport {
 public:
  // Builds and starts every configured sink (none configured: an empty, valid set). Fails on a
  // bad address or TLS setting, or when the store cannot be read; nothing is left running then.
  static StatusOr<std::unique_ptr<AuditExport>> Start(const config::Config& config, store::Store& store,
                                                      const std::string& ledger_id);
  ~AuditExport() { Stop(); }

  void Stop();
  std::vector<SinkState> States() const;

 private:
  AuditExport() = default;
  std::vector<std::unique_ptr<Exporter>> exporters_;
};

// The export settings' problems, appended to `problems`: a bad syslog address, TLS files that
// cannot be read, and (production) syslog over plain TCP to anything but loopback.
void CheckExportConfig(const config::Config& config, bool production, std::vector<config::ConfigProblem>& problems);

}  // namespace bulwark::audit::siem
