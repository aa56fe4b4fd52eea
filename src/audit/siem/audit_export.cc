#include "audit/siem/audit_export.h"

#include <unistd.h>

#include <boost/asio/ip/address.hpp>

#include "audit/siem/file_sink.h"
#include "audit/siem/syslog_sink.h"
#include "core/log.h"

namespace bulwark::audit::siem {
namespace {

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

}  // namespace

StatusOr<std::unique_ptr<AuditExport>> AuditExport::Start(const config::Config& config, store::Store& store,
                                                          const std::string& ledger_id) {
  std::unique_ptr<AuditExport> set(new AuditExport());
  const ExporterOptions options{.batch = config.audit_export_batch};
  // Every sink, the file included, is exported by one node at a time (the lease in exporter.h),
  // under one cursor for all nodes. A file sink thus holds each entry on whichever node exported
  // it, so log collectors on every node together forward each entry once, as syslog receives it
  // once. A cursor per node ("file@<host>") would make every node write the whole ledger, and a
  // SIEM fed from those files would get it once per node: the duplication the lease prevents.
  // (It would also restart from 0 on every new hostname, as containers get.)
  BULWARK_ASSIGN_OR_RETURN(const std::string node, NewExportNodeId());
  if (!config.audit_syslog_address.empty()) {
    BULWARK_ASSIGN_OR_RETURN(auto hp, ParseSyslogAddress(config.audit_syslog_address));
    SyslogSinkOptions so{.host = hp.first, .port = hp.second, .tls = config.audit_syslog_tls,
                         .ca_file = config.audit_syslog_ca_file, .server_name = config.audit_syslog_server_name};
    SyslogIdentity id{.facility = static_cast<int>(config.audit_syslog_facility), .hostname = LocalHostname(),
                      .procid = std::to_string(::getpid()), .ledger_id = ledger_id};
    BULWARK_ASSIGN_OR_RETURN(auto sink, SyslogSink::Create(std::move(so), std::move(id)));
    set->exporters_.push_back(std::make_unique<Exporter>(store, std::move(sink), options, node));
  }
  if (!config.audit_file.empty()) {
    set->exporters_.push_back(std::make_unique<Exporter>(
        store, std::make_unique<FileSink>(config.audit_file), options, node));
  }
  for (auto& ex : set->exporters_) {
    BULWARK_RETURN_IF_ERROR(ex->Start());  // on failure `set` stops the ones already started
    log::Info(
        "audit.export_started",
        {{"sink", ex->sink_name()}, {"node", node}, {"cursor", ex->cursor()}, {"lag", ex->lag()}});
  }
  return set;
}

void AuditExport::Stop() {
  for (auto& ex : exporters_) ex->Stop();
}

std::vector<SinkState> AuditExport::States() const {
  std::vector<SinkState> out;
  for (const auto& ex : exporters_) {
    out.push_back({std::string(ex->sink_name()), ex->lag(), ex->connected(), ex->active()});
  }
  return out;
}

void CheckExportConfig(const config::Config& c, bool production, std::vector<config::ConfigProblem>& problems) {
  using Severity = config::ConfigProblem::Severity;
  if (c.audit_syslog_address.empty()) return;
  auto hp = ParseSyslogAddress(c.audit_syslog_address);
  if (!hp.ok()) {
    problems.push_back({Severity::kError, "audit.syslog_address", hp.status().message()});
    return;
  }
  if (c.audit_syslog_tls) {
    auto sink = SyslogSink::Create({.host = hp->first, .port = hp->second, .tls = true,
                                    .ca_file = c.audit_syslog_ca_file, .server_name = c.audit_syslog_server_name},
                                   {});
    if (!sink.ok()) problems.push_back({Severity::kError, "audit.syslog_ca_file", sink.status().message()});
  } else if (!IsLoopbackHost(hp->first)) {
    problems.push_back({production ? Severity::kError : Severity::kWarning, "audit.syslog_tls",
                        "syslog over plain TCP beyond loopback: audit records would cross the network "
                        "unencrypted and unauthenticated; set audit.syslog_tls = true"});
  }
}

}  // namespace bulwark::audit::siem
