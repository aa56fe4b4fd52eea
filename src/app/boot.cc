#include "app/boot.h"

#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>

#include "app/background_task.h"
#include "app/breakglass_sweeper.h"
#include "app/cluster_sync.h"
#include "app/core_open.h"
#include "app/preflight.h"
#include "app/process_limits.h"
#include "app/quickstart.h"
#include "app/reload.h"
#include "app/routes.h"
#include "app/service_inputs.h"
#include "app/settings.h"
#include "app/sso_flow_services.h"
#include "app/sso_services.h"
#include "audit/alerts.h"
#include "audit/background_verifier.h"
#include "audit/refusal_summary.h"
#include "audit/siem/audit_export.h"
#include "core/cidr.h"
#include "core/log.h"
#include "crypto/tls_context.h"
#include "http/baseline_stages.h"
#include "http/pipeline.h"
#include "http/server.h"
#include "identity/authenticator.h"
#include "identity/discovery.h"
#include "identity/mail_queue.h"
#include "identity/mfa.h"
#include "receipts/background_verifier.h"
#include "scim/access.h"
#include "scim/service.h"
#include "scim/tokens.h"
#include "secrets/secret_service.h"
#include "secrets/vault.h"
#include "stages/access_stages.h"
#include "stages/authenticate_stage.h"
#include "stages/ledger_audit_stage.h"
#include "stages/rate_limit_stage.h"
#include "stages/shared_rate_buckets.h"

namespace bulwark::app {
namespace {

namespace fs = std::filesystem;
using config::Config;
using config::ConfigProblem;

// How long a change written into an SQLite database by another process (`bulwark key
// rotate-data`, or an edit behind the server's back) may go unseen by reads of a current version.
constexpr std::chrono::milliseconds kSqliteCurrentRowTtl{1000};

// Everything `serve` runs besides the HTTP front, in the order it is built; destroyed in reverse,
// so each part outlives what uses it.
struct Services {
  // Opened (OpenServing).
  std::unique_ptr<DataDirLock> dir_lock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<keyring::Keyring> keys;
  std::unique_ptr<audit::Ledger> ledger;
  std::unique_ptr<audit::AuditWriter> writer;
  // Built (BuildServices).
  std::unique_ptr<receipts::ReceiptService> receipts;
  std::unique_ptr<audit::AlertMonitor> alerts;
  std::unique_ptr<audit::RefusalSummaries> refusal_summaries;
  std::unique_ptr<audit::BackgroundVerifier> verifier;
  std::unique_ptr<receipts::BackgroundVerifier> receipt_verifier;
  std::unique_ptr<audit::siem::AuditExport> exports;
  std::optional<crypto::SecretBytes> operator_token;
  std::unique_ptr<identity::SessionService> sessions;
  std::unique_ptr<identity::MfaService> mfa;
  std::unique_ptr<identity::ApiKeyService> api_keys;
  std::unique_ptr<policy::TenantPolicies> tenant_policies;
  std::unique_ptr<secrets::Vault> vault;
  std::unique_ptr<policy::PathAccess> path_access;
  std::unique_ptr<secrets::SecretService> secret_service;  // over store, vault and path_access
  std::unique_ptr<SsoServices> sso;                        // connections, domains
  // SCIM: the tenant tokens, the members' access, the service. Group changes re-map roles by
  // the tenant's SSO connections' group-to-role mapping.
  std::unique_ptr<scim::ScimTokens> scim_tokens;
  std::unique_ptr<sso::ConnectionRoleSource> scim_group_roles;
  std::unique_ptr<scim::MemberAccess> scim_access;
  std::unique_ptr<scim::ScimProvisioningGate> scim_gate;   // asked by the SSO sign-in
  std::unique_ptr<scim::ScimService> scim;
  std::unique_ptr<SsoFlowServices> sso_flow;               // provider client, sign-in flow
  std::unique_ptr<Reloader> reloader;
  std::unique_ptr<BackgroundTask> cluster_signing_reload;
  std::unique_ptr<store::PgListener> cluster_sync;  // PostgreSQL: the other nodes' changes
  std::shared_ptr<identity::Mailer> mailer;         // null: no mail (production, mail.disabled)
  identity::OutboxMailer* outbox = nullptr;         // dev without SMTP: the local outbox
  identity::SmtpMailer* smtp = nullptr;
  std::unique_ptr<identity::MailQueue> mail;
  std::shared_ptr<stages::RouteRateLimiter> limiter;
  crypto::SecretBytes email_pseudonym_key;  // names addresses with no account in sign-in records
  std::string dev_link_base;                // set once the server listens (dev)
  // Started once the pipeline is built.
  std::unique_ptr<BreakglassSweeper> breakglass_sweeper;
};

// The HTTP front: the route table, its metrics and the request pipeline.
struct Front {
  http::Router router;
  http::Metrics metrics;
  std::shared_ptr<http::BaselineAuthenticator> operator_auth;  // SIGHUP swaps its token
  std::unique_ptr<http::Pipeline> pipeline;
};

// Preflight: every problem of the configured mode, refused (78, nothing written) if any is an
// error; then the log, where the warnings go. 0 to go on.
int RefuseOrLog(const config::ConfigLoad& loaded) {
  const Config& config = loaded.config;
  const std::vector<ConfigProblem> problems = AllProblems(loaded);
  if (const std::size_t errors = CountErrors(problems); errors > 0) {
    std::cerr << "bulwark: refusing to start in " << (config.dev ? "dev" : "production")
              << " mode: " << errors << " problem(s); nothing was written\n";
    PrintProblems(problems, std::cerr);
    return kExitConfigRefused;
  }
  if (Status s = log::Init(*log::ParseLevel(config.log_level), config.log_file); !s.ok()) {
    return Refuse("log", s);
  }
  for (const auto& pr : problems)
    log::Warn("config.warning", {{"setting", pr.key}, {"message", pr.message}});
  if (config.dev) {
    log::Warn("dev.mode", {{"message",
                            "DEV MODE: plain HTTP on loopback, local overlay on, "
                            "generated keys allowed. Not for production."}});
  }
  return 0;
}

// Opens the store, keyring and ledger (app/core_open.h) and the ledger's writer. Nothing has been
// written before this: with SQLite, a data directory another server is serving is refused before
// anything opens it (a new one is locked once OpenCore made it).
Status OpenServing(Config& config, Services& sv, std::string& step) {
  const auto lock_dir = [&]() -> Status {
    step = "storage";
    if (!config.storage_url.empty() || sv.dir_lock) return Status::Ok();
    BULWARK_ASSIGN_OR_RETURN(sv.dir_lock, DataDirLock::Take(config.data_dir));
    return Status::Ok();
  };
  if (std::error_code ec; fs::is_directory(config.data_dir, ec)) {
    BULWARK_RETURN_IF_ERROR(lock_dir());
  }
  BULWARK_ASSIGN_OR_RETURN(Core core, OpenCore(config, step, {.serving = true}));
  BULWARK_RETURN_IF_ERROR(lock_dir());
  sv.store = std::move(core.store);
  sv.keys = std::move(core.keys);
  sv.ledger = std::move(core.ledger);
  audit::WriterOptions writer_options = core.writer_options;
  writer_options.checkpoint_every = config.audit_checkpoint_every;
  writer_options.checkpoint_interval = std::chrono::milliseconds(config.audit_checkpoint_interval_ms);
  // On SQLite this server is the ledger's only writer (CLI commands beside it sign their heads).
  writer_options.guard_head = sv.store->backend() == store::Backend::kSqlite;
  sv.writer = std::make_unique<audit::AuditWriter>(*sv.store, *sv.ledger, std::move(writer_options));
  return Status::Ok();
}

// Sessions (signing key sealed by the keyring), MFA, API keys, policies and the vault. The
// issuer: the public URL, normalised; in dev without one, the configured listen address (the
// bound one is set once the server listens).
Status BuildIdentityAndSecrets(const Config& config, Services& sv, std::string& step) {
  step = "identity";
  std::string issuer;
  if (!config.public_url.empty()) {
    BULWARK_ASSIGN_OR_RETURN(issuer, identity::NormalizeIssuer(config.public_url));
  } else {
    issuer = identity::DevIssuer(config.listen);
  }
  BULWARK_ASSIGN_OR_RETURN(
      sv.sessions,
      identity::SessionService::Open(*sv.store, *sv.keys,
                                     {.issuer = std::move(issuer),
                                      .audiences = config.access_token_audiences,
                                      .access_ttl_s = config.access_token_ttl_s,
                                      .idle_timeout_s = config.session_idle_timeout_s,
                                      .absolute_timeout_s = config.session_absolute_timeout_s}));
  sv.mfa = std::make_unique<identity::MfaService>(*sv.keys);
  sv.api_keys = std::make_unique<identity::ApiKeyService>(*sv.store);
  sv.tenant_policies = std::make_unique<policy::TenantPolicies>(*sv.store);
  // With SQLite this process is the store's only writer of secrets, so reads of a current
  // version may use the row last read (secrets/vault.h); PostgreSQL has other nodes writing.
  sv.vault = std::make_unique<secrets::Vault>(
      *sv.keys, secrets::VaultOptions{
                    .max_value_bytes = static_cast<std::size_t>(config.secrets_max_value_bytes),
                    .default_max_versions = config.secrets_max_versions,
                    .current_row_ttl = sv.store->backend() == store::Backend::kSqlite
                                           ? kSqliteCurrentRowTtl
                                           : std::chrono::milliseconds(0)});
  sv.path_access = std::make_unique<policy::PathAccess>(*sv.store);
  sv.secret_service =
      std::make_unique<secrets::SecretService>(*sv.store, *sv.vault, *sv.path_access);
  sv.scim_tokens = std::make_unique<scim::ScimTokens>(*sv.store);
  sv.scim_group_roles = std::make_unique<sso::ConnectionRoleSource>();
  sv.scim_access =
      std::make_unique<scim::MemberAccess>(*sv.sessions, *sv.api_keys, *sv.scim_group_roles);
  sv.scim_gate = std::make_unique<scim::ScimProvisioningGate>();
  std::string scim_base = config.public_url;
  while (!scim_base.empty() && scim_base.back() == '/') scim_base.pop_back();
  sv.scim = std::make_unique<scim::ScimService>(*sv.scim_access,
                                                scim::ScimOptions{.base_url = scim_base});
  return Status::Ok();
}

// Outgoing mail (off the request path), the rate limiter (one node keeps its buckets in memory;
// nodes sharing PostgreSQL share them there) and the key that names addresses with no account
// in sign-in records (api/identity_routes.h).
Status BuildMailAndLimits(const Config& config, Services& sv, std::string& step) {
  step = "mail";
  BULWARK_ASSIGN_OR_RETURN(sv.mailer, MailerFor(config, &sv.outbox, &sv.smtp));
  if (sv.mailer) sv.mail = std::make_unique<identity::MailQueue>(sv.mailer);
  step = "rate_limit";
  BULWARK_ASSIGN_OR_RETURN(auto rules, stages::RateLimitRules(config.rate_limit_rules));
  std::shared_ptr<stages::RateBuckets> buckets;
  if (sv.store->backend() == store::Backend::kPostgresql) {
    BULWARK_ASSIGN_OR_RETURN(
        auto key, HmacKey(*sv.store, *sv.keys, "rate-bucket-names-v1", "rate_bucket_hmac"));
    buckets = std::make_shared<stages::SharedRateBuckets>(*sv.store, std::move(key));
  } else {
    buckets = std::make_shared<stages::TokenBuckets>();
  }
  sv.limiter = std::make_shared<stages::RouteRateLimiter>(std::move(rules), std::move(buckets));
  step = "identity";
  BULWARK_ASSIGN_OR_RETURN(sv.email_pseudonym_key,
                           HmacKey(*sv.store, *sv.keys, "sign-in-email-pseudonyms-v1",
                                   "email_pseudonym_hmac"));
  return Status::Ok();
}

// Every service the routes and stages use, in the order they are made: receipts, the ledger's
// monitors and verifiers, SIEM export (its own threads read the durable ledger; requests never
// wait for a receiver), the operator token, identity and secrets, reloads, cluster sync, mail and
// rate limits.
Status BuildServices(const config::ConfigSources& sources, const Config& config, Services& sv,
                     std::string& step) {
  const bool production = !config.dev;
  step = "receipts";
  BULWARK_ASSIGN_OR_RETURN(sv.receipts, receipts::ReceiptService::Open(*sv.store, *sv.keys));
  const auto verify_interval = std::chrono::milliseconds(config.audit_verify_interval_ms);
  sv.alerts = std::make_unique<audit::AlertMonitor>(audit::AlertRules{
      .auth_failure_threshold = config.audit_alert_auth_failures,
      .rate_limit_threshold = config.audit_alert_rate_limited,
      .window = std::chrono::milliseconds(config.audit_alert_window_ms)});
  sv.refusal_summaries = std::make_unique<audit::RefusalSummaries>(
      *sv.writer, audit::RefusalSummaryOptions{
                      .threshold = config.audit_refusal_summary_threshold,
                      .window = std::chrono::milliseconds(config.audit_refusal_summary_window_ms)});
  sv.verifier =
      std::make_unique<audit::BackgroundVerifier>(*sv.store, *sv.ledger, *sv.writer, verify_interval);
  sv.receipt_verifier = std::make_unique<receipts::BackgroundVerifier>(*sv.store, *sv.receipts,
                                                                       *sv.writer, verify_interval);
  step = "audit_export";
  BULWARK_ASSIGN_OR_RETURN(sv.exports,
                           audit::siem::AuditExport::Start(config, *sv.store, sv.ledger->ledger_id()));
  step = "operator";
  BULWARK_ASSIGN_OR_RETURN(sv.operator_token, OperatorToken(config));
  BULWARK_RETURN_IF_ERROR(BuildIdentityAndSecrets(config, sv, step));
  step = "sso";
  BULWARK_ASSIGN_OR_RETURN(sv.sso, BuildSsoServices(config, *sv.keys, *sv.receipts));
  BULWARK_ASSIGN_OR_RETURN(sv.sso_flow, BuildSsoFlowServices(config, *sv.store,
                                                             *sv.sso->connections, *sv.sessions,
                                                             *sv.api_keys, *sv.scim_gate));
  // Master and signing key reloads: SIGHUP, POST /api/v1/ops/keyring/reload and, for signing
  // keys on PostgreSQL, any node's change (`bulwark key rotate-signing`).
  sv.reloader = std::make_unique<Reloader>(Reloader::Deps{.sources = &sources,
                                                          .production = production,
                                                          .keys = sv.keys.get(),
                                                          .store = sv.store.get(),
                                                          .writer = sv.writer.get(),
                                                          .sessions = sv.sessions.get(),
                                                          .ledger = sv.ledger.get(),
                                                          .receipts = sv.receipts.get()});
  sv.cluster_signing_reload =
      std::make_unique<BackgroundTask>([r = sv.reloader.get()] { r->SigningKeys("cluster"); });
  // Several nodes on one PostgreSQL: follow the other nodes' changes (app/cluster_sync.h).
  if (sv.store->backend() == store::Backend::kPostgresql) {
    step = "storage";
    BULWARK_ASSIGN_OR_RETURN(
        sv.cluster_sync,
        StartClusterSync(config.storage_url,
                         {.sessions = sv.sessions.get(),
                          .api_keys = sv.api_keys.get(),
                          .tenant_policies = sv.tenant_policies.get(),
                          .path_access = sv.path_access.get(),
                          .signing_keys_changed = [t = sv.cluster_signing_reload.get()] {
                            t->Poke();
                          }}));
  }
  return BuildMailAndLimits(config, sv, step);
}

// The route table (app/routes.h) with what each surface's adapters use when a request arrives.
Status AddRoutes(http::Router& router, const http::Metrics& metrics, const Config& config,
                 Services& sv) {
  Reloader* reloader = sv.reloader.get();
  api::OpsDeps ops{.store = sv.store.get(),
                   .metrics = &metrics,
                   .keys_loaded = [k = sv.keys.get()] { return k != nullptr; },
                   .ledger_healthy = [w = sv.writer.get()] { return w->healthy(); },
                   .audit_file = config.audit_file,
                   .audit_export = [e = sv.exports.get()] { return e->States(); },
                   .reload_keyring =
                       [reloader] {
                         auto out = reloader->MasterKey("api");
                         reloader->SigningKeys("api");
                         return out;
                       },
                   .production = !config.dev};
  const RouteDeps deps{
      .ops = ops,
      .receipts = {.service = sv.receipts.get(),
                   .writer = sv.writer.get(),
                   .ledger = sv.ledger.get()},
      .identity = {.store = sv.store.get(),
                   .writer = sv.writer.get(),
                   .sessions = sv.sessions.get(),
                   .mfa = sv.mfa.get(),
                   .api_keys = sv.api_keys.get(),
                   .policies = sv.tenant_policies.get(),
                   .receipts = sv.receipts.get(),
                   .path_access = sv.path_access.get(),
                   .mail = sv.mail.get(),
                   .outbox = sv.outbox,
                   .limiter = sv.limiter.get(),
                   .magic_link_ttl_s = config.magic_link_ttl_s,
                   .public_url = config.public_url,
                   .dev_link_base = &sv.dev_link_base,
                   .email_pseudonym_key = &sv.email_pseudonym_key},
      .discovery = {.sessions = sv.sessions.get()},
      .api_keys = {.store = sv.store.get(),
                   .writer = sv.writer.get(),
                   .api_keys = sv.api_keys.get(),
                   .receipts = sv.receipts.get()},
      .settings = {.store = sv.store.get(),
                   .writer = sv.writer.get(),
                   .sessions = sv.sessions.get(),
                   .api_keys = sv.api_keys.get(),
                   .policies = sv.tenant_policies.get(),
                   .receipts = sv.receipts.get()},
      .breakglass = {.store = sv.store.get(),
                     .writer = sv.writer.get(),
                     .sessions = sv.sessions.get(),
                     .receipts = sv.receipts.get(),
                     .breakglass_enabled = config.breakglass_enabled},
      .policies = {.store = sv.store.get(),
                   .writer = sv.writer.get(),
                   .path_access = sv.path_access.get()},
      .secrets = {.store = sv.store.get(),
                  .writer = sv.writer.get(),
                  .service = sv.secret_service.get(),
                  .vault = sv.vault.get(),
                  .max_value_bytes = static_cast<std::size_t>(config.secrets_max_value_bytes)},
      .sso_admin = {.store = sv.store.get(), .writer = sv.writer.get(),
                    .connections = sv.sso->connections.get(), .domains = sv.sso->domains.get()},
      .scim = {.store = sv.store.get(),
               .writer = sv.writer.get(),
               .scim = sv.scim.get(),
               .tokens = sv.scim_tokens.get()},
      .sso_flow = {.store = sv.store.get(), .writer = sv.writer.get(),
                   .sessions = sv.sessions.get(), .flow = sv.sso_flow->flow.get()}};
  return RegisterRoutes(router, deps, config.dev && config.local_overlay_enabled());
}

// The request pipeline: the routes, the hosts it answers for, and its stages (rate limit,
// authenticate, tenant guard, authorize, audit record).
Status BuildPipeline(const Config& config, Services& sv, Front& front, std::string& step) {
  step = "routes";
  BULWARK_RETURN_IF_ERROR(AddRoutes(front.router, front.metrics, config, sv));
  std::vector<std::string> labels;
  for (const auto& r : front.router.routes()) labels.push_back(r.label);
  front.metrics.SetRoutes(std::move(labels));

  std::vector<std::string> allowed_hosts;
  if (!config.public_url.empty()) {  // the host of the issuer, the public URL normalised
    const std::string issuer_url = sv.sessions->issuer();
    std::string host = issuer_url.substr(issuer_url.find("://") + 3);
    host = host.substr(0, host.find_first_of("/:"));
    if (!host.empty()) allowed_hosts.push_back(host);
  }
  http::PipelineOptions popts{.production = !config.dev,
                              .trusted_proxies = *core::ParseCidrList(config.trusted_proxies),
                              .cors_allowed_origins = config.cors_allowed_origins,
                              .allowed_hosts = std::move(allowed_hosts),
                              // A SQLite read is a local page lookup; a PostgreSQL one waits
                              // on the network, which no io thread may do.
                              .local_reads = LocalReads(config)};
  std::vector<std::string> operator_cidrs = config.operator_allow_cidrs;
  if (config.dev && operator_cidrs.empty())
    operator_cidrs = {"127.0.0.0/8", "::1"};  // dev: loopback operates
  front.operator_auth = std::make_shared<http::BaselineAuthenticator>(
      *core::ParseCidrList(operator_cidrs), sv.operator_token);
  http::PipelineStages pipeline_stages{
      .rate_limiter = sv.limiter,
      .authenticator = std::make_shared<stages::AuthenticateStage>(
          front.operator_auth, identity::CredentialAuthenticator(*sv.sessions, *sv.api_keys),
          sv.scim_tokens.get()),
      .tenant_guard = std::make_shared<stages::CredentialTenantGuard>(sv.tenant_policies.get()),
      .authorizer = std::make_shared<stages::RoleAuthorizer>(sv.tenant_policies.get()),
      .audit = std::make_shared<stages::LedgerAuditStage>(*sv.writer, sv.alerts.get(),
                                                        sv.refusal_summaries.get()),
  };
  front.pipeline = std::make_unique<http::Pipeline>(std::move(popts), front.router, front.metrics,
                                                    std::move(pipeline_stages));
  return Status::Ok();
}

// The server's options as the configuration sets them; kInvalidArgument (from the TLS context)
// when the certificate or key cannot be loaded.
StatusOr<http::ServerOptions> ServerOptionsFor(const Config& config) {
  http::ServerOptions o{
      .listen = config.listen,
      .io_threads = IoThreads(config),
      .worker_threads = static_cast<int>(config.worker_threads),
      .max_header_bytes = static_cast<std::size_t>(config.max_header_bytes),
      .max_body_bytes = static_cast<std::size_t>(config.max_body_bytes),
      .max_connections = static_cast<std::size_t>(config.max_connections),
      .max_connections_per_client = static_cast<std::size_t>(config.max_connections_per_client),
      .uncapped_peers = *core::ParseCidrList(config.trusted_proxies),
      .header_timeout = std::chrono::milliseconds(config.header_timeout_ms),
      .request_timeout = std::chrono::milliseconds(config.request_timeout_ms),
      .idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms),
      .tls = nullptr};
  if (!config.tls_cert_file.empty()) {
    BULWARK_ASSIGN_OR_RETURN(o.tls,
                             crypto::MakeServerTlsContext(config.tls_cert_file, config.tls_key_file));
  }
  return o;
}

// Says the server listens (and in dev, where to reach it), then runs it until SIGTERM or SIGINT, which drain it within the configured grace. SIGHUP
// reloads on a thread of its own (a password's KDF takes a while, and the io threads must not
// wait for it): the master key, then the signing keys (a rotated key may be sealed under the new
// master key), then the operator token and SMTP password, each on its own, so that one failing
// (say, a master key given in the environment, which cannot be re-read) does not stop the others.
void RunUntilSignalled(http::Server& server, const config::ConfigSources& sources,
                       const Config& config, Services& sv, Front& front) {
  BackgroundTask hup_reload([r = sv.reloader.get(), auth = front.operator_auth, smtp = sv.smtp] {
    (void)r->MasterKey("sighup");
    r->SigningKeys("sighup");
    r->ServiceSecrets("sighup", *auth, smtp);
  });
  boost::asio::signal_set hup(server.io_context(), SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hup =
      [&hup, &hup_reload, &on_hup](const boost::system::error_code& sig_ec, int) {
        if (sig_ec) return;
        hup_reload.Poke();
        hup.async_wait(on_hup);
      };
  hup.async_wait(on_hup);

  boost::asio::signal_set signals(server.io_context(), SIGTERM, SIGINT);
  const auto grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  signals.async_wait([&server, &hup, grace](const boost::system::error_code& sig_ec, int signo) {
    if (sig_ec) return;
    log::Info("server.shutdown_requested",
              {{"signal", signo}, {"grace_ms", static_cast<std::int64_t>(grace.count())}});
    boost::system::error_code ignored;
    hup.cancel(ignored);
    server.Shutdown(grace);
  });

  log::Info("server.listening", {{"address", server.bound_address()},
                                 {"mode", config.dev ? "dev" : "production"},
                                 {"tls", !config.tls_cert_file.empty()},
                                 {"store", std::string(store::BackendName(sv.store->backend()))},
                                 {"routes", static_cast<std::int64_t>(front.router.routes().size())}});
  if (config.dev) {
    sv.dev_link_base = ClientAddress(config, server.bound_address());
    PrintDevWelcome(std::cerr, config, sources, server.bound_address());
  }
  server.Run();
  hup_reload.Stop();
}

// Stops the background work in the order each depends on the next: no more cluster-triggered
// reloads, then the sweeper, mail (delivers what is queued), API keys (writes the batched
// last-used times), the verifier, the refusal summaries (writes every open summary), the writer
// (drains and writes the final checkpoint) and SIEM export (ships what it can of the tail,
// bounded, and persists the cursors).
void StopInOrder(Services& sv) {
  sv.cluster_sync.reset();
  sv.cluster_signing_reload->Stop();
  sv.breakglass_sweeper->Stop();
  if (sv.mail) sv.mail->Stop();
  sv.api_keys->Stop();
  sv.verifier->Stop();
  sv.refusal_summaries->Stop();
  sv.writer->Stop();
  sv.exports->Stop();
}

}  // namespace

int Serve(const config::ConfigSources& sources_in) {
  if (!sources_in.dev_flag) KeepKeysOutOfCoreDumps();  // before any secret is read
  config::ConfigSources sources = sources_in;
  sources.scrub_secrets = true;  // the server keeps secrets only in SecretBytes from here on
  config::ConfigLoad loaded = config::LoadConfig(sources);
  Config& config = loaded.config;
  if (int refused = RefuseOrLog(loaded); refused != 0) return refused;

  std::string step;
  Services sv;
  if (Status s = OpenServing(config, sv, step); !s.ok()) return Refuse(step, s);
  if (Status s = BuildServices(sources, config, sv, step); !s.ok()) return Refuse(step, s);
  Front front;
  if (Status s = BuildPipeline(config, sv, front, step); !s.ok()) return Refuse(step, s);
  sv.breakglass_sweeper = std::make_unique<BreakglassSweeper>(
      *sv.store, *sv.writer, *sv.receipts, *sv.sessions, std::chrono::seconds(1));

  auto server_options = ServerOptionsFor(config);
  if (!server_options.ok()) return Refuse("tls", server_options.status());
  RaiseDescriptorLimit();
  http::Server server(std::move(*server_options), *front.pipeline, front.metrics);
  if (Status s = server.Listen(); !s.ok()) return Refuse("listen", s);
  if (config.public_url.empty()) sv.sessions->SetIssuer(identity::DevIssuer(server.bound_address()));
  RunUntilSignalled(server, sources, config, sv, front);
  StopInOrder(sv);
  log::Info("server.stopped", {{"ledger_head", sv.writer->stats().head}});
  return 0;
}

}  // namespace bulwark::app
