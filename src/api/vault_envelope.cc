#include "api/vault_envelope.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace bulwark::api {

Status CheckMount(const http::RequestContext& ctx) {
  if (ctx.param("mount") != kMount) {
    return Status::NotFound("unknown_mount",
                            "no secrets engine is mounted there; the KV v2 mount is \"secret\"");
  }
  return Status::Ok();
}

std::string VaultEnvelope(const http::RequestContext& ctx, std::string_view data) {
  boost::json::object head{{"request_id", ctx.request_id},
                           {"lease_id", ""},
                           {"renewable", false},
                           {"lease_duration", 0}};
  std::string body = boost::json::serialize(head);
  body.pop_back();
  body += ",\"data\":";
  body += data;
  body += ",\"wrap_info\":null,\"warnings\":null,\"auth\":null}";
  return body;
}

}  // namespace bulwark::api
