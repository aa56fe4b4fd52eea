// The Vault surface's description of its one mount, for clients that discover it before they
// read or write (docs/vault-compatibility.md):
//   GET /v1/sys/internal/ui/mounts/{path}   what `vault kv get/put` probes first (and
//   GET /v1/sys/mounts-all/{path}            its newer name): the mount holding the path, with
//                                            options.version = "2", so it uses data/ paths
//   GET /v1/sys/mounts                       every mount (hvac list_mounted_secrets_engines,
//                                            node-vault mounts())
//   GET /v1/sys/mounts/{mount}/tune          the mount's tuning
//   GET|POST /v1/{mount}/config              KV v2's engine settings (hvac kv.v2.read_configuration
//                                            and configure)
// The mount is the same for every tenant and credential, so any credential of the tenant may read
// these. The engine settings are the server's (secrets.max_versions in the config file); a
// secret's own settings are at metadata/{path}.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "api/secret_routes.h"
#include "api/secret_ops.h"
#include "api/vault_envelope.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

json::object MountConfig() {
  return json::object{{"default_lease_ttl", 0},
                      {"force_no_cache", false},
                      {"max_lease_ttl", 0}};
}

json::object MountEntry() {
  return json::object{{"accessor", "kv_secret"},
                      {"config", MountConfig()},
                      {"description", "Bulwark's KV v2 secrets vault"},
                      {"external_entropy_access", false},
                      {"local", false},
                      {"options", json::object{{"version", "2"}}},
                      {"plugin_version", ""},
                      {"running_plugin_version", ""},
                      {"running_sha256", ""},
                      {"seal_wrap", false},
                      {"type", "kv"},
                      {"uuid", ""}};
}

// A reply whose members are both in "data" and at the top level, as Vault answers sys/mounts
// and tune (older clients read the top level).
Reply TopLevelAndData(const RequestContext& ctx, const json::object& data) {
  std::string body = VaultEnvelope(ctx, json::serialize(data));
  std::string top = json::serialize(data);
  if (!data.empty()) {
    body.pop_back();
    body += ',';
    body.append(top, 1, top.size() - 1);  // the members, without the braces' opening one
  }
  return Reply{.body = std::move(body)};
}

// The mount holding `path` ("secret", "secret/", "secret/app/db"), or 404: the Go client then
// falls back to KV v1 paths, as it does against a Vault without that mount.
StatusOr<Reply> MountOfPath(const SecretRouteDeps&, RequestContext& ctx) {
  const std::string_view path = ctx.param("path");
  if (path != kMount && !path.starts_with(std::string(kMount) + "/")) {
    return Status::NotFound("unknown_mount",
                            "no secrets engine is mounted there; the KV v2 mount is \"secret\"");
  }
  json::object data = MountEntry();
  data["path"] = std::string(kMount) + "/";
  return Reply{.body = VaultEnvelope(ctx, json::serialize(data))};
}

StatusOr<Reply> ListMounts(const SecretRouteDeps&, RequestContext& ctx) {
  return TopLevelAndData(ctx, json::object{{std::string(kMount) + "/", MountEntry()}});
}

StatusOr<Reply> ReadTune(const SecretRouteDeps&, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  json::object data = MountConfig();
  data["description"] = "Bulwark's KV v2 secrets vault";
  data["options"] = json::object{{"version", "2"}};
  return TopLevelAndData(ctx, data);
}

json::object EngineConfig(const SecretRouteDeps& d) {
  return json::object{{"cas_required", false},
                      {"delete_version_after", "0s"},
                      {"max_versions", d.vault ? d.vault->DefaultMaxVersions() : 10}};
}

StatusOr<Reply> ReadConfig(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  return Reply{.body = VaultEnvelope(ctx, json::serialize(EngineConfig(d)))};
}

// The engine settings are the deployment's, not the tenant's to change: a write that would keep
// them as they are (hvac's configure() with its defaults, as tools send at setup) succeeds and
// changes nothing; one that would change them is refused, naming where each is set.
StatusOr<Reply> WriteConfig(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(const json::object* o, secret_ops::BodyObject(ctx));
  const json::object now = EngineConfig(d);
  for (const auto& kv : *o) {
    const std::string_view k = kv.key();
    const json::value& v = kv.value();
    if (k == "max_versions") {
      if (!v.is_int64() || v.as_int64() < 0 || v.as_int64() > secrets::kMaxVersionsLimit)
        return Status::InvalidArgument("invalid_config", "max_versions is an integer, 0 to 1000");
      if (v.as_int64() != 0 && v != now.at("max_versions")) {
        return Status::InvalidArgument(
            "unsupported_setting",
            "the mount's max_versions is the server's (secrets.max_versions); set a secret's "
            "own at secret/metadata/<path>");
      }
    } else if (k == "cas_required") {
      if (!v.is_bool()) return Status::InvalidArgument("invalid_config", "cas_required is a boolean");
      if (v.as_bool()) {
        return Status::InvalidArgument(
            "unsupported_setting",
            "cas_required is set per secret here, at secret/metadata/<path>");
      }
    } else if (k == "delete_version_after") {
      if (!v.is_string()) {
        return Status::InvalidArgument("invalid_config", "delete_version_after is a duration");
      }
      const std::string_view s = v.as_string();
      if (s != "0s" && s != "0" && !s.empty()) {
        return Status::InvalidArgument(
            "unsupported_setting", "delete_version_after is not offered for the whole mount");
      }
    } else {
      return Status::InvalidArgument("invalid_body",
                                     "unknown member \"" + std::string(k) + "\"");
    }
  }
  return Reply{.status = 204};
}

}  // namespace

Status AddVaultMountRoutes(http::Router& router, const SecretRouteDeps& deps) {
  using secret_ops::Body;
  const secret_ops::RouteDef defs[] = {
      {Verb::get, "/v1/sys/internal/ui/mounts/{path*}", "", Body::kNone, "vault.mount.read",
       "Vault: the mount holding a path (what `vault kv` probes first): KV v2, options.version "
       "\"2\".",
       MountOfPath},
      {Verb::get, "/v1/sys/mounts-all/{path*}", "", Body::kNone, "vault.mount.read",
       "Vault: the mount holding a path (the newer name of sys/internal/ui/mounts).", MountOfPath},
      {Verb::get, "/v1/sys/mounts", "", Body::kNone, "vault.mount.read", "Vault: every mount (the one KV v2 mount).",
       ListMounts},
      {Verb::get, "/v1/sys/mounts/{mount}/tune", "", Body::kNone, "vault.mount.read",
       "Vault: a mount's tuning (options.version \"2\").", ReadTune},
      {Verb::get, "/v1/{mount}/config", "", Body::kNone, "secret.config.read",
       "Vault KV v2: the engine settings (max_versions, cas_required, delete_version_after).",
       ReadConfig},
      {Verb::post, "/v1/{mount}/config", "secrets.write", Body::kSmall, "secret.config.update",
       "Vault KV v2: engine settings; the server's own are accepted, a change is refused (400).",
       WriteConfig},
  };
  return secret_ops::AddRouteTable(router, deps, defs, http::Surface::kVault);
}

}  // namespace bulwark::api
