#include "store/postgres/roles.h"

#include <iterator>
#include <string>

#include "core/text_list.h"
#include "store/postgres/dialect.h"

namespace bulwark::store {

Status GrantAppRole(Store& store, std::string_view role) {
  if (store.backend() != Backend::kPostgresql) {
    return Status::InvalidArgument("not_postgresql",
                                   "an application role exists only on PostgreSQL");
  }
  if (!PlainIdentifier(role)) {
    return Status::InvalidArgument("invalid_role",
                                   "a role name is lower-case letters, digits and '_'");
  }
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(TxMode::kWrite));
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx->Query("SELECT rolsuper::int, (rolname = current_user)::int, current_schema() "
                           "FROM pg_roles WHERE rolname = ?",
                           {Value::Text(std::string(role))}));
  if (rows.empty()) {
    return Status::FailedPrecondition("unknown_role",
                                      "the application role does not exist; create it first");
  }
  if (rows[0][0].as_int() != 0 || rows[0][1].as_int() != 0) {
    return Status::FailedPrecondition(
        "role_too_strong", "the application role must be neither a superuser nor the owner");
  }
  const std::string schema = rows[0][2].as_text();
  if (!PlainIdentifier(schema)) {
    return Status::InvalidArgument("invalid_role",
                                   "the current schema's name is not a plain identifier");
  }
  // Identifiers cannot be parameters; both were checked to be plain above, and are quoted.
  // Appended, not `"\"" + std::string(...)`: GCC 12 at -O3 misreads that temporary (-Wrestrict).
  std::string r = "\"";
  r.append(role).append("\"");
  const std::string in = " IN SCHEMA \"" + schema + "\" TO " + r;
  const std::string worm =
      core::JoinList({std::begin(kAppendOnlyTables), std::end(kAppendOnlyTables)}, ',');
  for (const std::string& sql : {"GRANT USAGE ON SCHEMA \"" + schema + "\" TO " + r,
                                 "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES" + in,
                                 "GRANT USAGE, SELECT ON ALL SEQUENCES" + in,
                                 "REVOKE UPDATE, DELETE, TRUNCATE ON " + worm + " FROM " + r}) {
    BULWARK_RETURN_IF_ERROR(tx->Exec(sql).status());
  }
  return tx->Commit();
}

}  // namespace bulwark::store
