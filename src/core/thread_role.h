#pragma once
// What the calling thread is for, where another layer must treat it differently without knowing
// who started it. The HTTP server marks its io threads and the audit writer its thread: every
// request waits on them, so the SQLite store keeps connections that only threads with a role
// may take (an io thread serves many clients at once, and the ledger writer commits every
// request's record; neither may wait for a connection behind a worker's slower work).
//
//   core::ScopedThreadRole io(core::ThreadRole::kIo);   // for as long as this thread serves io
//   ... if (core::ThisThreadRole() == core::ThreadRole::kIo) ...
namespace bulwark::core {

enum class ThreadRole { kOther, kIo, kLedgerWriter };

namespace detail {
inline thread_local ThreadRole this_thread_role = ThreadRole::kOther;
}  // namespace detail

inline ThreadRole ThisThreadRole() { return detail::this_thread_role; }

// Sets the calling thread's role until the end of the scope, then restores the one before.
class ScopedThreadRole {
 public:
  explicit ScopedThreadRole(ThreadRole role) : previous_(detail::this_thread_role) {
    detail::this_thread_role = role;
  }
  ~ScopedThreadRole() { detail::this_thread_role = previous_; }
  ScopedThreadRole(const ScopedThreadRole&) = delete;
  ScopedThreadRole& operator=(const ScopedThreadRole&) = delete;

 private:
  ThreadRole previous_;
};

}  // namespace bulwark::core
