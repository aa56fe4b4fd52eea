#pragma once
// Names the calling thread (at most 15 bytes shown), so top -H, ps -L and perf tell Bulwark's
// threads apart: bw-io, bw-audit-writer, and so on.
#include <pthread.h>

namespace bulwark::core {

inline void NameThisThread(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace bulwark::core
