#pragma once
// What `serve` asks of the process before it holds keys and accepts connections. Both only log
// or warn when the kernel refuses; neither fails the start.
namespace bulwark::app {

// A production server holds the master key and the tenants' data keys in memory: no core dump may
// carry them to disk. Sets the core size to 0 and the process not dumpable (which also keeps other
// processes of the same user from reading its memory through /proc or ptrace). Warns on stderr
// if either is refused.
void KeepKeysOutOfCoreDumps();

// Raises the soft limit on open files to the hard one, so that server.max_connections is not cut
// short by the usual soft limit of 1024. Logs what it did.
void RaiseDescriptorLimit();

}  // namespace bulwark::app
