#pragma once
// What the configuration implies for a running server, computed in one place for preflight,
// opening the core and `serve`: how many io threads, how many open files beside connections,
// whether reads are local page lookups. Pure functions of the configuration (and, for
// IoThreads, the number of cores); thread-safe.
#include <cstdint>

#include "config/config.h"

namespace bulwark::app {

// server.io_threads, or one per core when unset.
int IoThreads(const config::Config& c);

// Open files a server needs beside its client connections: the store's (SQLite: the database, its
// WAL and shared memory for each connection; PostgreSQL: a socket each), each io thread's epoll
// and eventfd, the listener, the log and its SIEM sink, outgoing mail, the data directory's lock.
// Generous on purpose: when they run out, the store and the sinks fail too, not only accept().
std::uint64_t DescriptorsBesideConnections(const config::Config& c);

// SQLite's journal mode is WAL (settings are case-insensitive).
bool JournalIsWal(const config::Config& c);

// SQLite's synchronous setting is FULL or EXTRA (case-insensitive): a commit is durable.
bool SynchronousIsFull(const config::Config& c);

// Whether a read transaction is a local, non-blocking page lookup, so that routes that only read
// may run on the io threads: SQLite in WAL mode, where readers never wait for the writer. (In a
// rollback journal, a reader waits out every commit in SQLite's busy handler.) The store is
// SQLite when no storage.url names a PostgreSQL one.
bool LocalReads(const config::Config& c);

}  // namespace bulwark::app
