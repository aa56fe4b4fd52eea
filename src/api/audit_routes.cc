#include "api/audit_routes.h"

#include <charconv>

#include "audit/query.h"
#include "core/json_text.h"
#include "http/query.h"

namespace bulwark::api {

using http::AuthDecision;
using http::Reply;
using http::RequestContext;
using http::Verb;

Status AddAuditRoutes(http::Router& router, store::Store* store) {
  return router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/audit/events",
      .auth = AuthDecision::kEither,
      .permission = "audit.read",
      .tenant_scoped = true,
      .audit_action = "audit.read",
      .summary =
          "The tenant's audit events, newest first; filters actor, action (exact or prefix.*), "
          "result, since, until; cursor pagination.",
      .handler = [store](RequestContext& ctx) -> StatusOr<Reply> {
        BULWARK_ASSIGN_OR_RETURN(http::QueryParams params,
                                 http::ParseQuery(ctx.query, {"actor", "action", "result", "since",
                                                              "until", "cursor", "limit"}));
        audit::EventQuery q;
        q.tenant = ctx.principal.tenant_id;  // from the credential, never from the request
        q.actor_id = std::string(http::QueryValue(params, "actor"));
        q.action = std::string(http::QueryValue(params, "action"));
        q.result = std::string(http::QueryValue(params, "result"));
        q.since = std::string(http::QueryValue(params, "since"));
        q.until = std::string(http::QueryValue(params, "until"));
        q.cursor = std::string(http::QueryValue(params, "cursor"));
        if (auto limit = http::QueryValue(params, "limit"); !limit.empty()) {
          auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), q.limit);
          if (ec != std::errc() || end != limit.data() + limit.size()) {
            return Status::InvalidArgument("invalid_limit", "limit must be an integer");
          }
        }
        BULWARK_ASSIGN_OR_RETURN(audit::EventPage page, audit::QueryEvents(*store, q));
        // Entries are stored canonical JSON: embedded as they are, byte for byte.
        std::string body = "{\"events\":[";
        for (std::size_t i = 0; i < page.entries.size(); ++i) {
          if (i > 0) body.push_back(',');
          body += page.entries[i];
        }
        body += "],\"next_cursor\":";
        if (page.next_cursor.empty()) {
          body += "null";
        } else {
          core::AppendJsonString(body, page.next_cursor);
        }
        body += "}";
        return Reply{.body = std::move(body)};
      },
  });
}

}  // namespace bulwark::api
