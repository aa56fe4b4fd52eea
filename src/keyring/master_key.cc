#include "keyring/master_key.h"

#include "core/fd_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "crypto/encoding.h"
#include "crypto/random.h"

namespace bulwark::keyring {
namespace {

// Key files are tiny; anything larger is not one.
constexpr std::size_t kMaxKeyFileSize = 64 * 1024;

Status InvalidKey(std::string message) {
  return Status::InvalidArgument("invalid_master_key", std::move(message));
}


// Creates each missing directory of `dir` with mode 0700.
bool MakeDirs(const std::string& dir) {
  if (dir.empty()) return true;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  const std::size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !MakeDirs(dir.substr(0, slash))) return false;
  return ::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST;
}

StatusOr<crypto::SecretBytes> ReadSecretFile(const std::string& path) {
  return ReadWholeSecretFile(
      path, kMaxKeyFileSize,
      Status::FailedPrecondition("master_key_unreadable", "cannot read the master key file"));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

StatusOr<crypto::SecretBytes> ReadWholeSecretFile(const std::string& path, std::size_t max_size,
                                                  const Status& unreadable) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unreadable;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::size_t>(st.st_size) > max_size) {
    ::close(fd);
    return unreadable;
  }
  crypto::SecretBytes buf(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd, buf.reveal_mutable_span().data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != buf.size()) return unreadable;
  return buf;
}

std::string_view SourceKindName(MasterKeySourceKind kind) {
  switch (kind) {
    case MasterKeySourceKind::kBase64: return "base64";
    case MasterKeySourceKind::kFile: return "file";
    case MasterKeySourceKind::kPassword: return "password";
  }
  return "unknown";
}

StatusOr<crypto::SecretBytes> DecodeBase64Kek(std::string_view base64) {
  auto key = crypto::Base64DecodeSecret(base64);
  if (!key.ok()) return InvalidKey("the master key is not valid base64");
  if (key->size() != kKekSize) {
    return InvalidKey("the master key must be exactly 32 bytes (44 base64 characters), got " +
                      std::to_string(key->size()) + " bytes");
  }
  return std::move(key).value();
}

StatusOr<crypto::SecretBytes> ReadKeyFile(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes content, ReadSecretFile(path));
  std::string_view rest = content.reveal_string_view();
  std::string_view key_line;
  int key_lines = 0;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = Trim(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    key_line = line;
    ++key_lines;
  }
  if (key_lines != 1) return InvalidKey("the master key file must hold exactly one base64 key line");
  return DecodeBase64Kek(key_line);
}

bool IsDevGeneratedKeyFile(const std::string& path) {
  auto content = ReadSecretFile(path);
  if (!content.ok()) return false;
  const std::string_view text = content->reveal_string_view();
  const std::string_view first = Trim(text.substr(0, text.find('\n')));
  return first == kDevKeyFileMarker;
}

Status WriteDevKeyFile(const std::string& path) {
  const Status unwritable =
      Status::FailedPrecondition("key_file_unwritable", "cannot create the development master key file");
  const std::size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !MakeDirs(path.substr(0, slash))) return unwritable;
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key, crypto::RandomSecret(kKekSize));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Conflict("key_file_exists", "the master key file already exists");
    return unwritable;
  }
  std::string b64 = crypto::Base64Encode(key.reveal_span());
  std::string text = std::string(kDevKeyFileMarker) + "\n" + b64 + "\n";
  const crypto::SecretBytes wipe_b64 = crypto::SecretBytes::FromString(std::move(b64));
  const bool ok = ::fchmod(fd, 0600) == 0 && core::WriteAll(fd, text) && ::fsync(fd) == 0;
  const crypto::SecretBytes wipe_text = crypto::SecretBytes::FromString(std::move(text));
  const bool closed = ::close(fd) == 0;
  if (!ok || !closed) {
    ::unlink(path.c_str());
    return unwritable;
  }
  return Status::Ok();
}

}  // namespace bulwark::keyring
