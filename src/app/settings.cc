#include "app/settings.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <thread>

namespace bulwark::app {
namespace {

std::string Upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

int IoThreads(const config::Config& c) {
  return c.io_threads > 0 ? static_cast<int>(c.io_threads)
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::uint64_t DescriptorsBesideConnections(const config::Config& c) {
  return 128 + 4 * static_cast<std::uint64_t>(c.pool_size) + 2 * static_cast<std::uint64_t>(IoThreads(c));
}

bool JournalIsWal(const config::Config& c) { return Upper(c.journal_mode) == "WAL"; }

bool SynchronousIsFull(const config::Config& c) {
  const std::string s = Upper(c.synchronous);
  return s == "FULL" || s == "EXTRA";
}

bool LocalReads(const config::Config& c) { return c.storage_url.empty() && JournalIsWal(c); }

}  // namespace bulwark::app
