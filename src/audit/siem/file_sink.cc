#include "audit/siem/file_sink.h"

#include "audit/export.h"
#include "core/fd_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace bulwark::audit::siem {
namespace {


Status Unwritable() { return Status::Unavailable("audit_file_unwritable", "the audit file cannot be written"); }

}  // namespace

Status FileSink::Connect() {
  Close();
  last_synced_ = 0;
  const int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Unwritable();
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Unwritable();
  }
  if (st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) != 1 || (last != '\n' && !core::WriteAll(fd, "\n"))) {
      ::close(fd);
      return Unwritable();
    }
  }
  fd_ = fd;
  return Status::Ok();
}

void FileSink::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status FileSink::Send(std::span<const ExportRecord> records) {
  if (fd_ < 0) return Unwritable();
  if (records.empty()) return Status::Ok();
  std::string lines;
  for (const ExportRecord& r : records) {
    if (r.checkpoint) {
      lines += CheckpointLine(*r.checkpoint);  // ends with its newline
      continue;
    }
    lines += r.entry;
    lines += '\n';
  }
  if (!core::WriteAll(fd_, lines) || ::fsync(fd_) != 0) return Unwritable();
  last_synced_ = records.back().seq;
  return Status::Ok();
}

}  // namespace bulwark::audit::siem
