// ConnectionService::ParseInput: a create or replace body checked field by field into a
// ConnectionInput (the rules and reasons are in connections.h).
#include <algorithm>

#include "sso/connections.h"
#include "sso/domains.h"

namespace bulwark::sso {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMinSessionS = 300;
constexpr std::size_t kMaxListItems = 50;
constexpr std::size_t kMaxScopes = 20;

Status Bad(std::string reason, std::string message) {
  return Status::InvalidArgument(std::move(reason), std::move(message));
}

// Printable ASCII without spaces, 1..max bytes.
bool IsToken(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool IsLoopbackHttp(std::string_view issuer) {
  for (std::string_view prefix : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    if (issuer.starts_with(prefix)) {
      const std::string_view rest = issuer.substr(prefix.size());
      if (rest.empty() || rest.front() == ':' || rest.front() == '/') return true;
    }
  }
  return false;
}

Status CheckIssuer(std::string_view issuer, Preset preset) {
  const auto bad = [] {
    return Bad("invalid_issuer", "the issuer is an https URL without query or fragment");
  };
  if (!IsToken(issuer, 512) || issuer.find_first_of("?#\"\\") != std::string_view::npos) {
    return bad();
  }
  if (!issuer.starts_with("https://") && !IsLoopbackHttp(issuer)) return bad();
  const std::string_view scheme_end = issuer.starts_with("https://") ? "https://" : "http://";
  if (issuer.size() == scheme_end.size() || issuer[scheme_end.size()] == '/') return bad();
  const bool templated = issuer.find(kTenantIdPlaceholder) != std::string_view::npos;
  switch (preset) {
    case Preset::kGoogle:
      if (issuer != kGoogleIssuer) {
        return Bad("invalid_issuer", "a google connection's issuer is https://accounts.google.com");
      }
      break;
    case Preset::kEntra:
      if (!issuer.starts_with("https://login.microsoftonline.com/")) {
        return Bad("invalid_issuer",
                   "an entra connection's issuer is https://login.microsoftonline.com/...");
      }
      break;
    case Preset::kOkta:
    case Preset::kGeneric:
      if (templated) return Bad("invalid_issuer", "only an entra issuer may hold {tenantid}");
      break;
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> StringList(const json::value& v, std::string_view reason,
                                              std::size_t max_items) {
  const json::array* a = v.if_array();
  if (a == nullptr || a->size() > max_items) {
    return Bad(std::string(reason), "expected an array of at most " + std::to_string(max_items) +
                                        " strings");
  }
  std::vector<std::string> out;
  for (const json::value& item : *a) {
    if (!item.is_string()) return Bad(std::string(reason), "expected an array of strings");
    out.emplace_back(item.get_string());
  }
  return out;
}

bool IsGuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

StatusOr<std::vector<std::string>> Domains(const json::value& v, std::string_view reason) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> raw, StringList(v, reason, kMaxListItems));
  std::vector<std::string> out;
  for (const std::string& d : raw) {
    StatusOr<std::string> n = NormalizeDomain(d);
    if (!n.ok()) return Bad(std::string(reason), "not a domain name: each is like example.com");
    out.push_back(std::move(*n));
  }
  SortUnique(out);
  return out;
}

}  // namespace

StatusOr<ConnectionInput> ConnectionService::ParseInput(const json::value& body,
                                                        bool creating) const {
  const json::object* o = body.if_object();
  if (o == nullptr) return Bad("invalid_body", "the body is a JSON object");
  static constexpr std::string_view kKeys[] = {
      "preset",        "issuer",        "client_id",    "client_secret",      "scopes",
      "role_mapping",  "allowed_domains", "hd_values",  "entra_tenants",      "groups_claim",
      "backchannel_logout", "max_session_s", "enabled"};
  for (const auto& [key, v] : *o) {
    if (std::find(std::begin(kKeys), std::end(kKeys), std::string_view(key)) == std::end(kKeys)) {
      return Bad("invalid_body", "unknown field " + std::string(key.substr(0, 64)));
    }
  }
  const auto str = [&](std::string_view key) -> const json::string* {
    const json::value* v = o->if_contains(key);
    return v == nullptr ? nullptr : v->if_string();
  };
  ConnectionInput in;
  Connection& c = in.fields;

  const json::string* preset = str("preset");
  const std::optional<Preset> p = preset ? ParsePreset(*preset) : std::nullopt;
  if (!p) return Bad("invalid_preset", "preset is one of google, entra, okta, generic");
  c.preset = *p;

  if (o->contains("issuer")) {
    const json::string* issuer = str("issuer");
    if (issuer == nullptr) return Bad("invalid_issuer", "issuer is a string");
    c.issuer = std::string(*issuer);
  } else if (c.preset == Preset::kGoogle) {
    c.issuer = std::string(kGoogleIssuer);
  } else if (c.preset == Preset::kEntra) {
    c.issuer = std::string(kEntraIssuerTemplate);
  } else {
    return Bad("invalid_issuer", "an okta or generic connection needs its issuer");
  }
  BULWARK_RETURN_IF_ERROR(CheckIssuer(c.issuer, c.preset));

  const json::string* client_id = str("client_id");
  if (client_id == nullptr || !IsToken(*client_id, 256)) {
    return Bad("invalid_client_id", "client_id is 1-256 printable characters");
  }
  c.client_id = std::string(*client_id);

  if (const json::value* secret = o->if_contains("client_secret")) {
    const json::string* s = secret->if_string();
    if (s == nullptr || !IsToken(*s, 1024)) {
      return Bad("invalid_client_secret", "client_secret is 1-1024 printable characters");
    }
    in.client_secret = crypto::SecretBytes::FromString(std::string(*s));
  } else if (creating) {
    return Bad("invalid_client_secret", "client_secret is required");
  }

  c.scopes = {"openid", "email", "profile"};
  if (const json::value* v = o->if_contains("scopes")) {
    BULWARK_ASSIGN_OR_RETURN(c.scopes, StringList(*v, "invalid_scopes", kMaxScopes));
    for (const std::string& s : c.scopes) {
      if (!IsToken(s, 64) || s.find_first_of("\"\\") != std::string::npos) {
        return Bad("invalid_scopes", "a scope is 1-64 printable characters");
      }
    }
    if (std::find(c.scopes.begin(), c.scopes.end(), "openid") == c.scopes.end()) {
      return Bad("invalid_scopes", "scopes must include openid");
    }
  }

  if (const json::value* v = o->if_contains("role_mapping")) {
    BULWARK_ASSIGN_OR_RETURN(c.role_map, ParseGroupRoleMap(*v));
  }

  const json::value* domains = o->if_contains("allowed_domains");
  if (domains == nullptr) return Bad("invalid_domain", "allowed_domains is required");
  BULWARK_ASSIGN_OR_RETURN(c.allowed_domains, Domains(*domains, "invalid_domain"));
  if (c.allowed_domains.empty()) return Bad("invalid_domain", "allowed_domains is empty");

  if (const json::value* v = o->if_contains("hd_values")) {
    if (c.preset != Preset::kGoogle) return Bad("invalid_body", "hd_values is for google only");
    BULWARK_ASSIGN_OR_RETURN(c.hd_values, Domains(*v, "invalid_domain"));
  }
  if (c.preset == Preset::kGoogle && c.hd_values.empty()) {
    return Bad("hd_required", "a google connection names its Workspace domains in hd_values");
  }

  if (const json::value* v = o->if_contains("entra_tenants")) {
    if (c.preset != Preset::kEntra) return Bad("invalid_body", "entra_tenants is for entra only");
    BULWARK_ASSIGN_OR_RETURN(c.entra_tenants,
                             StringList(*v, "invalid_entra_tenant", kMaxListItems));
    for (std::string& t : c.entra_tenants) {
      std::transform(t.begin(), t.end(), t.begin(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
      });
      if (!IsGuid(t)) return Bad("invalid_entra_tenant", "an Entra tenant id is a GUID");
    }
    SortUnique(c.entra_tenants);
  }
  if (c.preset == Preset::kEntra && c.entra_tenants.empty()) {
    return Bad("entra_tenants_required", "an entra connection lists the Entra tenants it accepts");
  }

  if (const json::value* v = o->if_contains("groups_claim")) {
    const json::string* g = v->if_string();
    if (g == nullptr || !IsToken(*g, 128)) {
      return Bad("invalid_groups_claim", "groups_claim is 1-128 printable characters");
    }
    c.groups_claim = std::string(*g);
  }

  if (const json::value* v = o->if_contains("backchannel_logout")) {
    if (!v->is_bool()) return Bad("invalid_body", "backchannel_logout is a boolean");
    c.backchannel_logout = v->get_bool();
  }
  const std::int64_t cap = c.backchannel_logout ? limits_.max_session_s
                                                : limits_.max_session_without_backchannel_s;
  c.max_session_s = cap;
  if (const json::value* v = o->if_contains("max_session_s")) {
    if (!v->is_int64() || v->get_int64() < kMinSessionS || v->get_int64() > cap) {
      return Bad("invalid_max_session",
                 "max_session_s is " + std::to_string(kMinSessionS) + " to " +
                     std::to_string(cap) + " seconds" +
                     (c.backchannel_logout ? "" : " without back-channel logout"));
    }
    c.max_session_s = v->get_int64();
  }
  if (const json::value* v = o->if_contains("enabled")) {
    if (!v->is_bool()) return Bad("invalid_body", "enabled is a boolean");
    c.enabled = v->get_bool();
  }
  return in;
}

}  // namespace bulwark::sso
