#include "audit/high_water.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "audit/export.h"
#include "core/fd_io.h"
#include "crypto/encoding.h"

namespace bulwark::audit {
namespace {

Status Unwritable(const std::string& path) {
  return Status::Unavailable("high_water_unwritable", "cannot write the ledger high-water mark " + path);
}

}  // namespace

StatusOr<std::optional<LedgerCheckpoint>> HighWaterMark::Read() const {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec) && !ec) return std::optional<LedgerCheckpoint>();
  BULWARK_ASSIGN_OR_RETURN(LedgerCheckpoint cp, ReadCheckpointFile(path_));
  return std::optional<LedgerCheckpoint>(std::move(cp));
}

Status HighWaterMark::Raise(const LedgerCheckpoint& cp) {
  std::lock_guard<std::mutex> lock(mu_);
  // Read each time: a CLI command beside the server raises the same file.
  auto held = Read();
  if (held.ok() && *held) {
    auto claim = ReadCheckpointBody((*held)->body);
    if (claim.ok() && claim->size >= cp.size) return Status::Ok();
  }
  const std::string line = CheckpointLine(cp);
  // A name of this process's own: a CLI command beside the server may raise the mark too.
  const std::string partial = path_ + ".partial." + std::to_string(::getpid());
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Unwritable(path_);
  const bool ok = core::WriteAll(fd, line) && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !ok || std::rename(partial.c_str(), path_.c_str()) != 0) {
    ::unlink(partial.c_str());
    return Unwritable(path_);
  }
  // The rename itself must survive a crash: sync the directory that holds the file.
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Status CheckAgainstHighWater(store::Store& store, const Ledger& ledger,
                             const LedgerCheckpoint& mark, const std::string& mark_path) {
  auto claim = OpenTrustedCheckpoint(mark, {ledger.public_key()});
  if (!claim.ok() || claim->ledger_id != ledger.ledger_id()) {
    return Status::FailedPrecondition(
        "high_water_invalid",
        "the ledger high-water mark " + mark_path + " is not a checkpoint of ledger " +
            ledger.ledger_id() + " signed by its key (" +
            (claim.ok() ? "it names ledger " + claim->ledger_id : claim.status().message()) +
            "); if the database was replaced by another server's, so must the mark be");
  }
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(LedgerHead head, ledger.ReadHead(*tx));
  const std::string what = "the last checkpoint signed (" + mark_path + ") covers " +
                           std::to_string(claim->size) + " entries with head " +
                           crypto::HexEncode(claim->head_hash);
  if (head.size < claim->size) {
    return Status::FailedPrecondition(
        "ledger_rolled_back",
        "the store's audit ledger ends at seq " + std::to_string(head.size) + ", but " + what +
            ": the database was rolled back to an older copy or truncated (what was revoked since "
            "may be valid again). Restore the newest copy; to accept the loss knowingly, keep "
            "the mark as evidence and move it away (docs/operations.md)");
  }
  crypto::Digest256 at{};
  if (claim->size == 0) {
    at = ledger.genesis();
  } else {
    BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT hash FROM audit_ledger WHERE seq = ?",
                                                  {store::Value::Int(claim->size)}));
    if (rows.empty() || !rows[0][0].is_bytes() || rows[0][0].as_bytes().size() != at.size()) {
      return Status::FailedPrecondition("ledger_rewritten",
                                        "the store's audit ledger has no entry " +
                                            std::to_string(claim->size) + ", but " + what);
    }
    std::copy(rows[0][0].as_bytes().begin(), rows[0][0].as_bytes().end(), at.begin());
  }
  if (!std::equal(at.begin(), at.end(), claim->head_hash.begin(), claim->head_hash.end())) {
    return Status::FailedPrecondition(
        "ledger_rewritten", "the store's audit ledger has hash " + crypto::HexEncode(at) +
                                " at seq " + std::to_string(claim->size) + ", but " + what +
                                ": its history was rewritten or replaced");
  }
  return Status::Ok();
}

}  // namespace bulwark::audit
