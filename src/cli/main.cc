// bulwark: the single binary. Subcommands parse their flags here and hand off to src/app.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/boot.h"
#include "app/key_commands.h"
#include "app/tool_store.h"
#include "audit/export.h"
#include "audit/verify.h"
#include "core/build_info.h"
#include "receipts/verify.h"

extern char** environ;

int main(int argc, char** argv) {
  CLI::App app{"Bulwark: the security core for multi-tenant platforms"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bulwark ") + bulwark::build::kVersion + " (" +
                                        bulwark::build::kCommit + ")");

  bulwark::core::ConfigSources sources;
  sources.environ = environ;
  std::string listen;
  std::string data;

  CLI::App* serve = app.add_subcommand("serve", "Run the server (production unless --dev)");
  serve->add_flag(
      "--dev", sources.dev_flag,
      "Dev mode: generated keys, local overlay, plain HTTP on loopback. Never in production.");
  serve->add_option("--config", sources.file, "TOML configuration file")->check(CLI::ExistingFile);
  serve->add_option("--listen", listen, "Listen address host:port (default 127.0.0.1:8420)");
  serve->add_option("--data", data, "Data directory (default ./data)");

  CLI::App* config = app.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  CLI::App* check = config->add_subcommand(
      "check", "Print every configuration problem; exit 1 if the mode would refuse to start");
  check->add_flag("--dev", sources.dev_flag, "Check for dev mode instead of production");
  check->add_option("--config", sources.file, "TOML configuration file");
  check->add_option("--data", data, "Data directory");

  CLI::App* audit_cmd = app.add_subcommand("audit", "Audit ledger tools (offline, read-only)");
  audit_cmd->require_subcommand(1);
  std::string audit_data;
  std::string audit_export_file;
  std::vector<std::string> audit_pubkey;
  std::string pubkey_kid;
  std::string audit_out;
  CLI::App* verify = audit_cmd->add_subcommand(
      "verify",
      "Check the ledger's hash chain and signed checkpoints; exit 1 naming the first damage");
  auto* verify_data =
      verify->add_option("--data", audit_data, "Data directory (or the database file)");
  verify
      ->add_option("--config", sources.file,
                   "TOML configuration file: read its store (storage.url, unless --export) and the "
                   "checkpoint policy the unsigned tail is held to (audit.checkpoint_*)")
      ->check(CLI::ExistingFile);
  verify->add_option("--export", audit_export_file, "A file written by `bulwark audit export`")
      ->excludes(verify_data);
  verify->add_option("--pubkey", audit_pubkey,
                     "PEM file of the trusted checkpoint public key(s), as `audit pubkey` prints "
                     "them; may be given several times (keys from before and after a rotation); "
                     "without it the keys in the ledger are trusted")
      ->allow_extra_args(false);  // one file per --pubkey: `--pubkey k.pem FILE` keeps FILE apart
  std::string audit_since;
  verify->add_option("--since-checkpoint", audit_since,
                     "A trusted checkpoint the ledger must extend: the high-water file "
                     "(audit.high_water_file) or a checkpoint line of an export");
  CLI::App* exp =
      audit_cmd->add_subcommand("export", "Write the ledger with its checkpoints as JSON lines");
  exp->add_option("--out", audit_out, "Output file (default: standard output)");
  CLI::App* pubkey =
      audit_cmd->add_subcommand("pubkey", "Print the checkpoint signing public key(s) as PEM");

  CLI::App* receipt_cmd =
      app.add_subcommand("receipt", "Signed receipt tools (offline, read-only)");
  receipt_cmd->require_subcommand(1);
  std::string receipt_file;
  std::vector<std::string> receipt_pubkey;
  CLI::App* receipt_verify =
      receipt_cmd->add_subcommand("verify",
                                  "Check a receipt (full or public projection) or a JSON-lines "
                                  "series and its chain; exit 1 if invalid");
  receipt_verify->add_option("file", receipt_file,
                             "The receipt, or JSON lines of one tenant's series");
  receipt_verify->add_option("--pubkey", receipt_pubkey,
                             "PEM file of the trusted receipt signing public key(s), as `receipt "
                             "pubkey` prints them; may be given several times")
      ->allow_extra_args(false);  // one file per --pubkey: `--pubkey k.pem FILE` keeps FILE apart
  CLI::App* receipt_pubkey_cmd =
      receipt_cmd->add_subcommand("pubkey", "Print the receipt signing public key(s) as PEM");
  for (CLI::App* sub : {pubkey, receipt_pubkey_cmd}) {
    sub->add_option("--kid", pubkey_kid, "Only the key with this kid (ed25519:...)");
  }
  for (CLI::App* sub : {exp, pubkey, receipt_pubkey_cmd}) {
    sub->add_option("--data", audit_data, "Data directory (or the database file)");
    sub->add_option("--config", sources.file,
                    "TOML configuration file: read its store (storage.url)")
        ->check(CLI::ExistingFile);
  }

  CLI::App* tenant_cmd = app.add_subcommand("tenant", "Tenant bootstrap");
  tenant_cmd->require_subcommand(1);
  std::string tenant_name;
  std::string tenant_owner;
  CLI::App* tenant_create = tenant_cmd->add_subcommand(
      "create", "Create a tenant and its first owner (no default accounts exist)");
  tenant_create->add_option("--name", tenant_name, "Tenant name: 1-63 of a-z, 0-9, '-'")
      ->required();
  tenant_create->add_option("--owner", tenant_owner, "Email address of the first owner")
      ->required();
  tenant_create->add_flag("--dev", sources.dev_flag,
                          "Use the dev-mode data directory and generated key");
  tenant_create->add_option("--config", sources.file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  tenant_create->add_option("--data", data, "Data directory (default ./data)");

  CLI::App* key_cmd = app.add_subcommand(
      "key", "Master key (KEK), data key and signing key rotation and retirement");
  key_cmd->require_subcommand(1);
  std::string key_new_source;
  std::uint32_t key_version = 0;
  CLI::App* key_rotate = key_cmd->add_subcommand(
      "rotate",
      "Re-wrap every data key under a new master key version in one transaction (the running "
      "server picks the new key up on SIGHUP or POST /api/v1/ops/keyring/reload)");
  key_rotate
      ->add_option("--new-source", key_new_source,
                   "The new master key: file:/path, env:VARNAME (base64) or password-file:/path")
      ->required();
  CLI::App* key_retire = key_cmd->add_subcommand(
      "retire", "Retire a master key version once no data key is sealed under it");
  key_retire->add_option("--version", key_version, "The master key version to retire")
      ->required()
      ->check(CLI::Range(1u, 0xFFFFFFFFu));
  std::string rotate_tenant;
  std::int64_t rotate_batch = 500;
  std::int64_t rotate_pause_ms = 0;
  CLI::App* key_rotate_data = key_cmd->add_subcommand(
      "rotate-data",
      "Reseal every secret of a tenant under a new data key, in batches beside the running "
      "server; a re-run resumes an interrupted rotation");
  key_rotate_data->add_option("--tenant", rotate_tenant, "Tenant id or name")->required();
  key_rotate_data->add_option("--batch-size", rotate_batch, "Versions per transaction (500)");
  key_rotate_data->add_option("--pause-ms", rotate_pause_ms, "Pause between batches (0)");
  CLI::App* key_status = key_cmd->add_subcommand(
      "status", "Print every master key version and how many data keys each seals (JSON)");
  std::string signing_kind;
  std::string signing_kid;
  CLI::App* key_rotate_signing = key_cmd->add_subcommand(
      "rotate-signing",
      "Make a new signing key of one kind (jwt, ledger or receipt); running servers sign with it "
      "after SIGHUP or POST /api/v1/ops/keyring/reload, and the previous keys keep verifying");
  key_rotate_signing->add_option("--kind", signing_kind, "jwt, ledger or receipt")->required();
  CLI::App* key_retire_signing = key_cmd->add_subcommand(
      "retire-signing",
      "Retire a signing key that is no longer the active one and destroy its private half");
  key_retire_signing->add_option("--kind", signing_kind, "jwt, ledger or receipt")->required();
  key_retire_signing->add_option("--kid", signing_kid, "The key to retire (ed25519:...)")
      ->required();
  CLI::App* key_signing_status = key_cmd->add_subcommand(
      "signing-status", "Print every signing key of each kind and which one is active (JSON)");
  key_signing_status->add_option("--kind", signing_kind, "Only this kind: jwt, ledger or receipt");
  for (CLI::App* sub : {key_rotate, key_retire, key_status, key_rotate_data, key_rotate_signing,
                        key_retire_signing, key_signing_status}) {
    sub->add_flag("--dev", sources.dev_flag, "Use the dev-mode data directory and generated key");
    sub->add_option("--config", sources.file, "TOML configuration file")->check(CLI::ExistingFile);
    sub->add_option("--data", data, "Data directory (default ./data)");
  }

  CLI::App* db_cmd = app.add_subcommand("db", "Database schema and roles");
  db_cmd->require_subcommand(1);
  std::string app_role;
  CLI::App* db_migrate = db_cmd->add_subcommand(
      "migrate",
      "Bring the database to this binary's schema; with --grant-app-role, give the role the nodes "
      "connect as its privileges (PostgreSQL: SELECT and INSERT only on the append-only tables)");
  db_migrate->add_option("--grant-app-role", app_role, "PostgreSQL role the nodes connect as");
  db_migrate->add_flag("--dev", sources.dev_flag, "Use the dev-mode data directory");
  db_migrate->add_option("--config", sources.file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  db_migrate->add_option("--data", data, "Data directory (default ./data)");

  bool routes_dev = false;
  CLI::App* routes = app.add_subcommand(
      "routes", "Print the route table (method, path, auth decision) as JSON lines");
  routes->add_flag("--dev", routes_dev, "Include the dev-mode local overlay");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!listen.empty()) sources.listen_flag = listen;
  if (!data.empty()) sources.data_flag = data;
  if (!audit_data.empty()) sources.data_flag = audit_data;
  // The offline tools read the configured store; opened only when the command needs it.
  const bulwark::store::Opener tool_store = [&sources] {
    return bulwark::app::OpenToolStore(sources);
  };

  if (*serve) return bulwark::app::Serve(sources);
  if (*check) return bulwark::app::ConfigCheck(sources, std::cout);
  if (*tenant_create)
    return bulwark::app::TenantCreate(sources, tenant_name, tenant_owner, std::cout);
  if (*key_rotate) return bulwark::app::KeyRotate(sources, key_new_source, std::cout);
  if (*key_retire) return bulwark::app::KeyRetire(sources, key_version, std::cout);
  if (*key_status) return bulwark::app::KeyStatus(sources, std::cout);
  if (*key_rotate_signing) return bulwark::app::KeyRotateSigning(sources, signing_kind, std::cout);
  if (*key_retire_signing)
    return bulwark::app::KeyRetireSigning(sources, signing_kind, signing_kid, std::cout);
  if (*key_signing_status) return bulwark::app::KeySigningStatus(sources, signing_kind, std::cout);
  if (*db_migrate) return bulwark::app::DbMigrate(sources, app_role, std::cout);
  if (*key_rotate_data)
    return bulwark::app::KeyRotateData(sources, rotate_tenant, rotate_batch, rotate_pause_ms,
                                       std::cout);
  if (*routes) return bulwark::app::PrintRoutes(routes_dev, std::cout);
  if (*verify) {
    // The unsigned tail the configured checkpoint policy allows (defaults without a config).
    const bulwark::core::Config policy = bulwark::core::LoadConfig(sources).config;
    return bulwark::audit::RunAuditVerify(
        audit_export_file.empty() ? tool_store : nullptr, audit_export_file, audit_pubkey,
        std::cout, audit_since,
        bulwark::audit::TailPolicyFor(policy.audit_checkpoint_every,
                                      policy.audit_checkpoint_interval_ms));
  }
  if (*exp)
    return bulwark::audit::RunAuditExport(tool_store, audit_out.empty() ? "-" : audit_out,
                                          std::cerr);
  if (*pubkey) return bulwark::audit::RunAuditPubkey(tool_store, pubkey_kid, std::cout);
  if (*receipt_verify)
    return bulwark::receipts::RunReceiptVerify(receipt_file, receipt_pubkey, std::cout);
  if (*receipt_pubkey_cmd)
    return bulwark::receipts::RunReceiptPubkey(tool_store, pubkey_kid, std::cout);
  return 2;
}
