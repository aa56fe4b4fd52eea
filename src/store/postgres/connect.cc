#include "store/postgres/connect.h"

namespace bulwark::store {

PGconn* ConnectPostgres(const std::string& url) {
  // Later entries override earlier ones, and `dbname` expands the URL in place: so these are
  // defaults that the URL may override.
  const char* keys[] = {
      "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
      "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
  const char* values[] = {"5", "1", "10", "5", "3", "10000", url.c_str(), nullptr};
  return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
}

}  // namespace bulwark::store
