#pragma once
// Opening a libpq connection the way every PostgreSQL user in Bulwark does: the configured URL
// (or key=value string), with bounded waits unless the URL sets its own: a connection attempt
// gives up after 5 s, and TCP keepalives plus a 10 s user timeout end a connection whose peer
// vanished silently (a crashed host, a partition), instead of a thread blocked for the kernel's
// default of many minutes.
#include <libpq-fe.h>

#include <string>

namespace bulwark::store {

// Never null (libpq's own contract); check PQstatus. The caller PQfinish()es it.
PGconn* ConnectPostgres(const std::string& url);

}  // namespace bulwark::store
