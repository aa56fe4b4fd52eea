// The command groups of `bulwark`: each adds its subcommands and hands off to src/app, src/audit
// and src/receipts once parsed.
#include "cli/commands.h"

#include <cstdint>
#include <iostream>
#include <memory>

#include "app/boot.h"
#include "app/config_commands.h"
#include "app/key_commands.h"
#include "app/quickstart.h"
#include "app/route_commands.h"
#include "app/tenant_commands.h"
#include "app/tool_store.h"
#include "audit/export.h"
#include "audit/verify.h"
#include "core/build_info.h"
#include "receipts/verify.h"

namespace bulwark::cli {
namespace {

// --dev, --config and --data as the commands that open the configured store take them.
void AddStoreFlags(CLI::App* sub, Context& ctx, bool dev = true) {
  if (dev) {
    sub->add_flag("--dev", ctx.sources.dev_flag,
                  "Use the dev-mode data directory and generated key");
  }
  sub->add_option("--config", ctx.sources.file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  sub->add_option("--data", ctx.data, "Data directory (default ./data)");
}

// The offline tools read the configured store; opened only when the command needs it.
store::Opener ToolStore(const Context& ctx) {
  return [sources = ctx.Sources()] { return app::OpenToolStore(sources); };
}

}  // namespace

config::ConfigSources Context::Sources() const {
  config::ConfigSources s = sources;
  if (!listen.empty()) s.listen_flag = listen;
  if (!data.empty()) s.data_flag = data;
  return s;
}

void CommandTable::Add(CLI::App* command, std::function<int()> run, CommandOptions options) {
  entries_.push_back({command, std::move(run), options});
}

const CommandTable::Entry* CommandTable::Parsed() const {
  for (const Entry& e : entries_) {
    if (e.command->parsed()) return &e;
  }
  return nullptr;
}

void SetUpRoot(CLI::App& app, Context& ctx) {
  ctx.root = &app;
  app.name("bulwark");
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", std::string("bulwark ") + build::kVersion + " (" +
                                           build::kCommit + ")",
                       "Print the version and commit, then exit");
  app.add_flag("--verbose", ctx.verbose,
               "Also write the command's log lines (JSON) to stderr; `serve` always does")
      ->configurable(false);
  app.footer(
      "Exit codes: 0 ok; 1 failure (refused, invalid, damage found, not found); 2 usage error "
      "(unknown command or option, bad or missing value, unreadable input file); 78 the "
      "configuration, store or master key cannot be used.\n"
      "`bulwark help COMMAND` describes a command; docs/cli.md and `bulwark man` describe all.");
}

void AddServerCommands(CLI::App& app, Context& ctx, CommandTable& table) {
  CLI::App* serve = app.add_subcommand("serve", "Run the server (production unless --dev)");
  serve->add_flag(
      "--dev", ctx.sources.dev_flag,
      "Dev mode: generated keys, local overlay, plain HTTP on loopback. Never in production.");
  serve->add_option("--config", ctx.sources.file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  serve->add_option("--listen", ctx.listen, "Listen address host:port (default 127.0.0.1:8420)");
  serve->add_option("--data", ctx.data, "Data directory (default ./data)");
  table.Add(serve, [&ctx] { return app::Serve(ctx.Sources()); }, {.logs = true});

  CLI::App* config = app.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  CLI::App* check = config->add_subcommand(
      "check", "Print every configuration problem; exit 1 if the mode would refuse to start");
  check->add_flag("--dev", ctx.sources.dev_flag, "Check for dev mode instead of production");
  check->add_option("--config", ctx.sources.file, "TOML configuration file");
  check->add_option("--data", ctx.data, "Data directory");
  table.Add(check, [&ctx] { return app::ConfigCheck(ctx.Sources(), std::cout); });

  CLI::App* db_cmd = app.add_subcommand("db", "Database schema and roles");
  db_cmd->require_subcommand(1);
  auto app_role = std::make_shared<std::string>();
  CLI::App* db_migrate = db_cmd->add_subcommand(
      "migrate",
      "Bring the database to this binary's schema; with --grant-app-role, give the role the nodes "
      "connect as its privileges (PostgreSQL: SELECT and INSERT only on the append-only tables)");
  db_migrate->add_option("--grant-app-role", *app_role, "PostgreSQL role the nodes connect as");
  db_migrate->add_flag("--dev", ctx.sources.dev_flag, "Use the dev-mode data directory");
  AddStoreFlags(db_migrate, ctx, /*dev=*/false);
  table.Add(db_migrate,
            [&ctx, app_role] { return app::DbMigrate(ctx.Sources(), *app_role, std::cout); });

  auto routes_dev = std::make_shared<bool>(false);
  CLI::App* routes = app.add_subcommand(
      "routes", "Print the route table (method, path, auth decision) as JSON lines");
  routes->add_flag("--dev", *routes_dev, "Include the dev-mode local overlay");
  table.Add(routes, [routes_dev] { return app::PrintRoutes(*routes_dev, std::cout); });
}

void AddTenantCommands(CLI::App& app, Context& ctx, CommandTable& table) {
  CLI::App* tenant_cmd = app.add_subcommand("tenant", "Tenant bootstrap");
  tenant_cmd->require_subcommand(1);
  struct Args {
    std::string name;
    std::string owner;
  };
  auto args = std::make_shared<Args>();
  CLI::App* create = tenant_cmd->add_subcommand(
      "create", "Create a tenant and its first owner (no default accounts exist)");
  create->add_option("--name", args->name, "Tenant name: 1-63 of a-z, 0-9, '-'")->required();
  create->add_option("--owner", args->owner, "Email address of the first owner")->required();
  AddStoreFlags(create, ctx);
  table.Add(create, [&ctx, args] {
    return app::TenantCreate(ctx.Sources(), args->name, args->owner, std::cout);
  });
}

void AddDevCommands(CLI::App& app, Context& ctx, CommandTable& table) {
  CLI::App* dev_cmd = app.add_subcommand("dev", "Dev-mode conveniences (refused in production)");
  dev_cmd->require_subcommand(1);
  auto options = std::make_shared<app::QuickstartOptions>();
  CLI::App* quickstart = dev_cmd->add_subcommand(
      "quickstart",
      "Create (or reuse) a tenant, its owner, a dev/* path policy and an API key bound to it; "
      "print the shell exports (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE) on stdout");
  quickstart->add_option("--tenant", options->tenant, "Tenant name (default dev)");
  quickstart->add_option("--owner", options->owner,
                         "Email address of its owner (default owner@dev.test)");
  AddStoreFlags(quickstart, ctx);
  quickstart->add_option("--listen", ctx.listen,
                         "The dev server's address, for VAULT_ADDR (default 127.0.0.1:8420)");
  table.Add(quickstart, [&ctx, options] {
    return app::DevQuickstart(ctx.Sources(), *options, std::cout, std::cerr);
  });
}

void AddKeyCommands(CLI::App& app, Context& ctx, CommandTable& table) {
  CLI::App* key_cmd = app.add_subcommand(
      "key", "Master key (KEK), data key and signing key rotation and retirement");
  key_cmd->require_subcommand(1);
  struct Args {
    std::string new_source;
    std::uint32_t version = 0;
    std::string tenant;
    std::int64_t batch = 500;
    std::int64_t pause_ms = 0;
    std::string kind;
    std::string kid;
  };
  auto a = std::make_shared<Args>();

  CLI::App* rotate = key_cmd->add_subcommand(
      "rotate",
      "Re-wrap every data key under a new master key version in one transaction (the running "
      "server picks the new key up on SIGHUP or POST /api/v1/ops/keyring/reload)");
  rotate
      ->add_option("--new-source", a->new_source,
                   "The new master key: file:/path, env:VARNAME (base64) or password-file:/path")
      ->required();
  table.Add(rotate, [&ctx, a] { return app::KeyRotate(ctx.Sources(), a->new_source, std::cout); });

  CLI::App* retire = key_cmd->add_subcommand(
      "retire", "Retire a master key version once no data key is sealed under it");
  retire->add_option("--version", a->version, "The master key version to retire")
      ->required()
      ->check(CLI::Range(1u, 0xFFFFFFFFu));
  table.Add(retire, [&ctx, a] { return app::KeyRetire(ctx.Sources(), a->version, std::cout); });

  CLI::App* status = key_cmd->add_subcommand(
      "status", "Print every master key version and how many data keys each seals (JSON)");
  table.Add(status, [&ctx] { return app::KeyStatus(ctx.Sources(), std::cout); });

  CLI::App* rotate_data = key_cmd->add_subcommand(
      "rotate-data",
      "Reseal every secret of a tenant under a new data key, in batches beside the running "
      "server; a re-run resumes an interrupted rotation");
  rotate_data->add_option("--tenant", a->tenant, "Tenant id or name")->required();
  rotate_data->add_option("--batch-size", a->batch, "Versions per transaction (500)");
  rotate_data->add_option("--pause-ms", a->pause_ms, "Pause between batches (0)");
  table.Add(rotate_data, [&ctx, a] {
    return app::KeyRotateData(ctx.Sources(), a->tenant, a->batch, a->pause_ms, std::cout);
  });

  CLI::App* rotate_signing = key_cmd->add_subcommand(
      "rotate-signing",
      "Make a new signing key of one kind (jwt, ledger or receipt); running servers sign with it "
      "after SIGHUP or POST /api/v1/ops/keyring/reload, and the previous keys keep verifying");
  rotate_signing->add_option("--kind", a->kind, "jwt, ledger or receipt")->required();
  table.Add(rotate_signing,
            [&ctx, a] { return app::KeyRotateSigning(ctx.Sources(), a->kind, std::cout); });

  CLI::App* retire_signing = key_cmd->add_subcommand(
      "retire-signing",
      "Retire a signing key that is no longer the active one and destroy its private half");
  retire_signing->add_option("--kind", a->kind, "jwt, ledger or receipt")->required();
  retire_signing->add_option("--kid", a->kid, "The key to retire (ed25519:...)")->required();
  table.Add(retire_signing, [&ctx, a] {
    return app::KeyRetireSigning(ctx.Sources(), a->kind, a->kid, std::cout);
  });

  CLI::App* signing_status = key_cmd->add_subcommand(
      "signing-status", "Print every signing key of each kind and which one is active (JSON)");
  signing_status->add_option("--kind", a->kind, "Only this kind: jwt, ledger or receipt");
  table.Add(signing_status,
            [&ctx, a] { return app::KeySigningStatus(ctx.Sources(), a->kind, std::cout); });

  for (CLI::App* sub :
       {rotate, retire, status, rotate_data, rotate_signing, retire_signing, signing_status}) {
    AddStoreFlags(sub, ctx);
  }
}

void AddAuditCommands(CLI::App& app, Context& ctx, CommandTable& table) {
  struct Args {
    std::string export_file;
    std::vector<std::string> pubkeys;
    std::string kid;
    std::string out;
    std::string since;
    std::string receipt_file;
  };
  auto a = std::make_shared<Args>();

  CLI::App* audit_cmd = app.add_subcommand("audit", "Audit ledger tools (offline, read-only)");
  audit_cmd->require_subcommand(1);
  CLI::App* verify = audit_cmd->add_subcommand(
      "verify",
      "Check the ledger's hash chain and signed checkpoints; exit 1 naming the first damage");
  auto* verify_data = verify->add_option("--data", ctx.data, "Data directory (or the database file)");
  verify
      ->add_option("--config", ctx.sources.file,
                   "TOML configuration file: read its store (storage.url, unless --export) and the "
                   "checkpoint policy the unsigned tail is held to (audit.checkpoint_*)")
      ->check(CLI::ExistingFile);
  verify->add_option("--export", a->export_file, "A file written by `bulwark audit export`")
      ->excludes(verify_data);
  verify
      ->add_option("--pubkey", a->pubkeys,
                   "PEM file of the trusted checkpoint public key(s), as `audit pubkey` prints "
                   "them; may be given several times (keys from before and after a rotation); "
                   "without it the keys in the ledger are trusted")
      ->allow_extra_args(false);  // one file per --pubkey: `--pubkey k.pem FILE` keeps FILE apart
  verify->add_option("--since-checkpoint", a->since,
                     "A trusted checkpoint the ledger must extend: the high-water file "
                     "(audit.high_water_file), a checkpoint line of an export, or the MSG of an "
                     "audit.checkpoint syslog record");
  table.Add(verify, [&ctx, a] {
    // The unsigned tail the configured checkpoint policy allows (defaults without a config).
    const config::Config policy = config::LoadConfig(ctx.Sources()).config;
    return audit::RunAuditVerify(
        a->export_file.empty() ? ToolStore(ctx) : nullptr, a->export_file, a->pubkeys, std::cout,
        std::cerr, a->since,
        audit::TailPolicyFor(policy.audit_checkpoint_every, policy.audit_checkpoint_interval_ms));
  });

  CLI::App* exp =
      audit_cmd->add_subcommand("export", "Write the ledger with its checkpoints as JSON lines");
  exp->add_option("--out", a->out, "Output file (default: standard output)");
  table.Add(exp, [&ctx, a] {
    return audit::RunAuditExport(ToolStore(ctx), a->out.empty() ? "-" : a->out, std::cerr);
  });
  CLI::App* pubkey =
      audit_cmd->add_subcommand("pubkey", "Print the checkpoint signing public key(s) as PEM");
  table.Add(pubkey, [&ctx, a] {
    return audit::RunAuditPubkey(ToolStore(ctx), a->kid, std::cout, std::cerr);
  });

  CLI::App* receipt_cmd =
      app.add_subcommand("receipt", "Signed receipt tools (offline, read-only)");
  receipt_cmd->require_subcommand(1);
  CLI::App* receipt_verify =
      receipt_cmd->add_subcommand("verify",
                                  "Check a receipt (full or public projection) or a JSON-lines "
                                  "series and its chain; exit 1 if invalid");
  receipt_verify->add_option("file", a->receipt_file,
                             "The receipt, or JSON lines of one tenant's series");
  receipt_verify
      ->add_option("--pubkey", a->pubkeys,
                   "PEM file of the trusted receipt signing public key(s), as `receipt "
                   "pubkey` prints them; may be given several times")
      ->allow_extra_args(false);  // one file per --pubkey: `--pubkey k.pem FILE` keeps FILE apart
  table.Add(receipt_verify, [a] {
    return receipts::RunReceiptVerify(a->receipt_file, a->pubkeys, std::cout, std::cerr);
  });
  CLI::App* receipt_pubkey =
      receipt_cmd->add_subcommand("pubkey", "Print the receipt signing public key(s) as PEM");
  table.Add(receipt_pubkey, [&ctx, a] {
    return receipts::RunReceiptPubkey(ToolStore(ctx), a->kid, std::cout, std::cerr);
  });

  for (CLI::App* sub : {pubkey, receipt_pubkey}) {
    sub->add_option("--kid", a->kid, "Only the key with this kid (ed25519:...)");
  }
  for (CLI::App* sub : {exp, pubkey, receipt_pubkey}) {
    sub->add_option("--data", ctx.data, "Data directory (or the database file)");
    sub->add_option("--config", ctx.sources.file,
                    "TOML configuration file: read its store (storage.url)")
        ->check(CLI::ExistingFile);
  }
}

}  // namespace bulwark::cli
