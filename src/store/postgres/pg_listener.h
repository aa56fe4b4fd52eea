#pragma once
// Change notifications from PostgreSQL (LISTEN/NOTIFY) on one dedicated connection, for keeping
// the caches of several nodes on one database in step.
//
// A background thread connects, runs LISTEN on `channel` and hands every notification's payload
// to `on_message`. It reports the channel's state through `on_state`: true once LISTEN is in
// force, false when it may have missed a notification. The heartbeat proves the notification
// path itself, not just the connection: every `heartbeat` the listener NOTIFYs a private channel
// it also listens on, and the echo must come back within `dead_after` (behind a pooler that
// moved the session, or a silent partition, it does not). A late echo reports true again (every
// notification sent before it has arrived by then: one connection delivers in order); no echo
// within `reconnect_after`, or a lost connection, starts a new connection, which reports true
// once its LISTEN is in force. Between a false and the next true, the caller must not trust
// anything it learned before (app/cluster_sync closes the cache gate).
//
//   auto listener = PgListener::Start({.url = url, .channel = "bulwark_invalidate"},
//                                     [](std::string_view payload) { ... },
//                                     [](bool up) { ... });
//
// Callbacks run on the listener's thread, one at a time. The destructor stops the thread.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::store {

struct PgListenerOptions {
  std::string url;
  std::string channel;  // [a-z_]+
  std::chrono::milliseconds heartbeat{200};
  std::chrono::milliseconds dead_after{600};
  std::chrono::milliseconds reconnect_after{5000};
  std::chrono::milliseconds retry{200};
};

class PgListener {
 public:
  using OnMessage = std::function<void(std::string_view payload)>;
  using OnState = std::function<void(bool up)>;

  // kInvalidArgument "invalid_store_option" for an empty URL or a bad channel name. It does not
  // wait for the first connection: the state callback reports it.
  static StatusOr<std::unique_ptr<PgListener>> Start(PgListenerOptions options,
                                                     OnMessage on_message, OnState on_state);
  virtual ~PgListener() = default;

 protected:
  PgListener() = default;
};

}  // namespace bulwark::store
