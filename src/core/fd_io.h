#pragma once
// Small POSIX file-descriptor helpers shared by every writer of files (key files, sinks, logs).
#include <string_view>

namespace bulwark::core {

// Writes all of `data` to `fd`, retrying short writes and EINTR. False on any other error
// (errno says which).
bool WriteAll(int fd, std::string_view data);

}  // namespace bulwark::core
