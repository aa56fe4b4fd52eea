#include "app/quickstart.h"

#include <boost/json/object.hpp>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/core_open.h"
#include "app/preflight.h"
#include "app/undo_created.h"
#include "audit/writer.h"
#include "core/clock.h"
#include "identity/api_keys.h"
#include "identity/directory.h"
#include "identity/tokens.h"
#include "policy/path_policy_store.h"
#include "policy/roles.h"
#include "receipts/receipt.h"
#include "receipts/service.h"

namespace bulwark::app {
namespace {

namespace json = boost::json;
constexpr std::string_view kCmd = "dev quickstart";
constexpr int kExitRefused = 1;

// `what`: what the refusal left as it was.
int Refused(std::ostream& err, const Status& s, std::string_view what) {
  err << "bulwark: " << kCmd << ": " << s.message() << " (" << s.reason() << "); " << what << "\n";
  return kExitRefused;
}

// What the run did, for the notes on stderr.
struct Outcome {
  std::string tenant_id;
  std::string owner_user_id;
  bool tenant_created = false;
  bool policy_created = false;
  bool owner_attached = false;  // newly
  identity::CreatedApiKey key;
  std::string receipt_id;
};

}  // namespace

std::string ClientAddress(const config::Config& c, std::string_view bound) {
  std::string listen(bound);
  std::string base = c.public_url;
  if (base.empty()) {
    if (listen.starts_with("0.0.0.0:")) listen = "127.0.0.1:" + listen.substr(8);
    if (listen.starts_with("[::]:")) listen = "[::1]:" + listen.substr(5);
    base = (c.tls_cert_file.empty() ? "http://" : "https://") + listen;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string ClientAddress(const config::Config& c) { return ClientAddress(c, c.listen); }

void PrintDevWelcome(std::ostream& err, const config::Config& c, const config::ConfigSources& sources,
                     std::string_view bound_address) {
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec || self.empty()) self = "bulwark";
  std::string where;
  // Absolute paths: the other shell may be elsewhere. The data directory is also where the dev
  // key is; the address goes into VAULT_ADDR.
  const auto absolute = [&ec](const std::string& p) {
    return std::filesystem::absolute(p, ec).lexically_normal().string();
  };
  if (!sources.file.empty()) where += " --config " + absolute(sources.file);
  where += " --data " + absolute(c.data_dir);
  if (c.public_url.empty() && bound_address != config::Config{}.listen) {
    where += " --listen " + std::string(bound_address);
  }
  err << "\nBulwark dev server listening (dev mode: a generated master key, plain HTTP; never for "
         "production).\n"
      << "  export VAULT_ADDR=" << ClientAddress(c, bound_address) << "\n"
      << "Next, in another shell: a tenant, its owner, a dev/* policy and an API key, as shell "
         "exports:\n"
      << "  eval \"$(" << self << " dev quickstart --dev" << where << ")\"\n"
      << "Then README.md, \"Using it\"; the sign-in link mailed in dev is in "
      << ClientAddress(c, bound_address) << "/api/v1/local/outbox.\n\n";
}

namespace {

// The quickstart rule: every capability on dev/*.
StatusOr<policy::PathRule> QuickstartRule() {
  return policy::ParsePathRule(kQuickstartPattern, {"create", "read", "update", "delete", "list"});
}

bool SameRules(const std::vector<policy::PathRule>& a, const policy::PathRule& rule) {
  return a.size() == 1 && a[0].pattern == rule.pattern && a[0].capabilities == rule.capabilities;
}

// The tenant and owner to use: the existing ones when `name` exists and `owner` owns it, new ones
// when it does not exist.
Status EnsureTenant(store::Transaction& tx, const QuickstartOptions& o, std::int64_t now,
                    Outcome& out) {
  BULWARK_ASSIGN_OR_RETURN(auto tenant, identity::directory::ResolveTenant(tx, o.tenant));
  if (!tenant) {
    BULWARK_ASSIGN_OR_RETURN(auto created,
                             identity::directory::CreateTenant(tx, o.tenant, o.owner, now));
    out.tenant_id = created.tenant_id;
    out.owner_user_id = created.owner_user_id;
    out.tenant_created = true;
    return Status::Ok();
  }
  out.tenant_id = *tenant;
  const auto not_owner = Status::Conflict(
      "owner_mismatch", "tenant " + o.tenant + " exists and " + o.owner +
                            " is not one of its owners: give its owner with --owner, or another "
                            "--tenant name");
  BULWARK_ASSIGN_OR_RETURN(std::string email, identity::NormalizeEmail(o.owner));
  BULWARK_ASSIGN_OR_RETURN(auto user, identity::directory::FindActiveUser(tx, email));
  if (!user) return not_owner;
  BULWARK_ASSIGN_OR_RETURN(auto member, identity::directory::GetMember(tx, *tenant, *user));
  if (!member || member->role != policy::Role::kOwner) return not_owner;
  out.owner_user_id = *user;
  return Status::Ok();
}

// The dev/* policy, created when absent and reused when it holds exactly the quickstart rule;
// attached to the owner and to `key_id`.
Status EnsurePolicy(store::Transaction& tx, const std::string& tenant, std::int64_t now,
                    const std::string& key_id, Outcome& out) {
  BULWARK_ASSIGN_OR_RETURN(policy::PathRule rule, QuickstartRule());
  auto existing = policy::path_policies::Get(tx, tenant, kQuickstartPolicy);
  if (existing.ok()) {
    if (!SameRules(existing->rules, rule)) {
      return Status::Conflict(
          "policy_changed",
          "the tenant's policy " + std::string(kQuickstartPolicy) +
              " no longer holds only the rule dev/* = create,read,update,delete,list; it is left "
              "as it is: restore it, or use another --tenant");
    }
  } else if (existing.status().code() == ErrorCode::kNotFound) {
    BULWARK_ASSIGN_OR_RETURN(
        out.policy_created,
        policy::path_policies::Put(tx, tenant, kQuickstartPolicy, {rule}, out.owner_user_id, now));
  } else {
    return existing.status();
  }
  BULWARK_ASSIGN_OR_RETURN(out.owner_attached, policy::path_policies::Attach(
                                                   tx, tenant, kQuickstartPolicy,
                                                   {policy::SubjectKind::kUser, out.owner_user_id},
                                                   out.owner_user_id, now));
  return policy::path_policies::Attach(tx, tenant, kQuickstartPolicy,
                                       {policy::SubjectKind::kApiKey, key_id}, out.owner_user_id,
                                       now)
      .status();
}

// A POSIX shell single-quoted word: the output is meant for `eval`, and an owner address may hold
// any of ' $ ` ( that an address allows, so a ' inside is closed, escaped and reopened.
std::string Quoted(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

void PrintResult(std::ostream& out, const config::Config& c, const QuickstartOptions& o,
                 const Outcome& r) {
  out << "export VAULT_ADDR=" << Quoted(ClientAddress(c)) << "\n"
      << "export VAULT_TOKEN=" << Quoted(r.key.key) << "\n"
      << "export VAULT_NAMESPACE=" << Quoted(o.tenant) << "\n"
      << "export BULWARK_OWNER=" << Quoted(o.owner) << "\n";
}

void PrintNotes(std::ostream& err, const QuickstartOptions& o, const Outcome& r) {
  err << "bulwark: " << kCmd << ": tenant " << o.tenant << " (" << r.tenant_id << ") "
      << (r.tenant_created ? "created" : "reused") << ", owner " << o.owner << " ("
      << r.owner_user_id << ")\n"
      << "  policy " << kQuickstartPolicy << " (" << kQuickstartPattern
      << ": create, read, update, delete, list) " << (r.policy_created ? "created" : "reused")
      << ", attached to the owner and to the new API key " << r.key.info.id
      << " (secrets.read, secrets.write, secrets.list; receipt " << r.receipt_id << ")\n";
  if (!r.tenant_created) {
    err << "  earlier quickstart keys stay valid until revoked (DELETE /api/v1/apikeys/{id})\n";
    if (r.owner_attached) {
      err << "  a dev server on SQLite that already refused the owner a dev/ path sees the new "
             "attachment after a restart\n";
    }
  }
  err << "\nThe lines on stdout are shell exports (the key is shown this once); load them with\n"
         "  eval \"$(bulwark dev quickstart --dev)\"\n"
         "API keys write secrets without an MFA step-up (only destroying versions needs one,\n"
         "from a session). Next:\n"
         "  curl -s -XPOST \"$VAULT_ADDR/v1/secret/data/dev/hello\" -H \"X-Vault-Token: "
         "$VAULT_TOKEN\" \\\n"
         "       -H 'content-type: application/json' -d '{\"data\":{\"greeting\":\"hello\"}}'\n"
         "  curl -s \"$VAULT_ADDR/v1/secret/data/dev/hello\" -H \"X-Vault-Token: $VAULT_TOKEN\"\n"
         "  python3 -c 'import hvac; "
         "print(hvac.Client().secrets.kv.v2.read_secret_version(path=\"dev/hello\")[\"data\"]"
         "[\"data\"])'\n"
         "As the owner, in a browser or with curl: POST /api/v1/auth/request "
         "{\"email\":\"$BULWARK_OWNER\"},\n"
         "then open the link in the dev outbox ($VAULT_ADDR/api/v1/local/outbox) or post its "
         "token\n"
         "to /api/v1/auth/verify; its access_token is ACCESS_TOKEN (README.md, \"Using it\").\n";
}

}  // namespace

int DevQuickstart(const config::ConfigSources& sources, const QuickstartOptions& options,
                  std::ostream& out, std::ostream& err) {
  config::ConfigLoad loaded = config::LoadConfig(sources);
  config::Config& config = loaded.config;
  if (!config.dev) {
    // Decided before anything is opened: production gets no shortcut, and no file is made.
    return Refused(
        err,
        Status::FailedPrecondition(
            "dev_only",
            "works in dev mode only, chosen with --dev as for every command (production: "
            "`bulwark tenant create`, then policies and API keys through the API with an "
            "MFA step-up)"),
        "nothing was written");
  }
  if (loaded.has_errors()) {
    err << "bulwark: " << kCmd << ": the configuration has errors:\n";
    for (const auto& p : loaded.problems) err << "  " << p.Format() << "\n";
    return kExitConfigRefused;
  }
  // A refused quickstart leaves nothing behind on a fresh data directory (as tenant create).
  if (Status bad = identity::directory::CheckNewTenant(options.tenant, options.owner); !bad.ok())
    return Refused(err, bad, "nothing was opened");
  UndoCreated undo(config);
  std::string step;
  auto core_or = OpenCore(config, step);
  if (!core_or.ok()) {
    err << "bulwark: " << kCmd << ": " << step << ": " << core_or.status().message() << " ("
        << core_or.status().reason() << ")\n";
    return kExitConfigRefused;
  }
  Core& core = *core_or;
  auto receipts_or = receipts::ReceiptService::Open(*core.store, *core.keys);
  if (!receipts_or.ok()) {
    err << "bulwark: " << kCmd << ": receipts: " << receipts_or.status().message() << "\n";
    return kExitConfigRefused;
  }
  identity::ApiKeyService api_keys(*core.store);
  Outcome result;
  Status s;
  {
    audit::AuditWriter writer(*core.store, *core.ledger, core.writer_options);
    audit::Event e;
    e.actor = {audit::ActorKind::kOperator, "cli"};
    e.action = "dev.quickstart";
    e.auth_method = "cli";
    e.resource = "tenant:" + options.tenant;
    s = writer.CommitAmending(
        [&](store::Transaction& tx, audit::Event& ev) -> Status {
          const std::int64_t now = core::NowUnixSeconds();
          BULWARK_RETURN_IF_ERROR(EnsureTenant(tx, options, now, result));
          ev.tenant = result.tenant_id;
          BULWARK_ASSIGN_OR_RETURN(
              result.key,
              api_keys.Create(tx,
                              {.tenant_id = result.tenant_id,
                               .name = std::string(kQuickstartKeyName),
                               .scopes = {"secrets.read", "secrets.write", "secrets.list"},
                               .creator_role = policy::Role::kOwner,
                               .created_by = result.owner_user_id},
                              now));
          BULWARK_RETURN_IF_ERROR(
              EnsurePolicy(tx, result.tenant_id, now, result.key.info.id, result));
          json::array scopes;
          for (const auto& sc : result.key.info.scopes) scopes.emplace_back(sc);
          BULWARK_ASSIGN_OR_RETURN(
              receipts::Receipt r,
              (*receipts_or)
                  ->Issue(tx, result.tenant_id, receipts::kind::kApiKeyCreate,
                          json::object{{"api_key_id", result.key.info.id},
                                       {"name", result.key.info.name},
                                       {"scopes", std::move(scopes)},
                                       {"created_by", result.key.info.created_by},
                                       {"expires_at", nullptr}},
                          {"api_key_id", "created_by"}));
          result.receipt_id = r.id;
          ev.details.emplace_back("owner", result.owner_user_id);
          ev.details.emplace_back("tenant_created", result.tenant_created);
          ev.details.emplace_back("policy", std::string(kQuickstartPolicy));
          ev.details.emplace_back("api_key_id", result.key.info.id);
          ev.details.emplace_back("receipt_id", r.id);
          return Status::Ok();
        },
        std::move(e));
    writer.Stop();
  }
  api_keys.Stop();
  if (!s.ok()) return Refused(err, s, "the store is unchanged");
  undo.Keep();
  PrintResult(out, config, options, result);
  out.flush();
  PrintNotes(err, options, result);
  return 0;
}

}  // namespace bulwark::app
