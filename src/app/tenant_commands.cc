#include "app/tenant_commands.h"

#include <boost/json/serialize.hpp>
#include <iostream>

#include "app/core_open.h"
#include "app/preflight.h"
#include "app/undo_created.h"
#include "audit/writer.h"
#include "core/clock.h"
#include "identity/directory.h"

namespace bulwark::app {

using config::Config;

int TenantCreate(const config::ConfigSources& sources, const std::string& name,
                 const std::string& owner, std::ostream& out) {
  config::ConfigLoad loaded = config::LoadConfig(sources);
  Config& config = loaded.config;
  if (loaded.has_errors()) {
    std::cerr << "bulwark: the configuration has errors:\n";
    PrintProblems(loaded.problems, std::cerr);
    return kExitConfigRefused;
  }
  // A bad name or address is refused before anything is opened; any later refusal leaves
  // nothing behind: not the data directory, database or dev master key OpenCore makes on first
  // use (declared first: it cleans up after the store is closed).
  if (Status bad = identity::directory::CheckNewTenant(name, owner); !bad.ok()) {
    std::cerr << "bulwark: tenant create: " << bad.reason() << ": " << bad.message() << "\n";
    return 1;
  }
  UndoCreated undo(config);
  std::string step;
  auto core_or = OpenCore(config, step);
  if (!core_or.ok()) return Refuse(step, core_or.status());
  identity::directory::CreatedTenant created;
  Status s;
  {
    audit::AuditWriter writer(*core_or->store, *core_or->ledger, core_or->writer_options);
    audit::Event e;
    e.actor = {audit::ActorKind::kOperator, "cli"};
    e.action = "tenant.create";
    e.auth_method = "cli";
    e.resource = "tenant:" + name;
    s = writer.CommitAmending(
        [&](store::Transaction& tx, audit::Event& ev) -> Status {
          BULWARK_ASSIGN_OR_RETURN(
              created, identity::directory::CreateTenant(tx, name, owner, core::NowUnixSeconds()));
          ev.tenant = created.tenant_id;
          ev.details.emplace_back("owner", created.owner_user_id);
          return Status::Ok();
        },
        std::move(e));
    writer.Stop();
  }
  if (!s.ok()) {
    std::cerr << "bulwark: tenant create: " << s.reason() << ": " << s.message() << "\n";
    return 1;
  }
  undo.Keep();
  boost::json::object o{
      {"tenant_id", created.tenant_id}, {"name", name}, {"owner_user_id", created.owner_user_id}};
  out << boost::json::serialize(o) << "\n";
  return 0;
}

}  // namespace bulwark::app
