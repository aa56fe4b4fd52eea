#include "app/route_commands.h"

#include <boost/json/serialize.hpp>
#include <iostream>

#include "app/routes.h"

namespace bulwark::app {

int PrintRoutes(bool dev, std::ostream& out) {
  http::Router router;
  if (Status s = RegisterRoutes(router, RouteDeps{}, dev); !s.ok()) {
    std::cerr << "bulwark: " << s.ToString() << "\n";
    return 1;
  }
  for (const http::Route& r : router.routes()) {
    boost::json::object o{{"method", std::string(http::bhttp::to_string(r.method))},
                          {"path", r.pattern},
                          {"auth", std::string(http::AuthDecisionName(r.auth))},
                          {"permission", r.permission},
                          {"tenant_scoped", r.tenant_scoped},
                          {"mfa_step_up", r.mfa_step_up},
                          {"summary", r.summary}};
    out << boost::json::serialize(o) << "\n";
  }
  return 0;
}

}  // namespace bulwark::app
