#pragma once
// Offline verification of signed receipts (format: receipts/receipt.h), for `bulwark receipt
// verify FILE --pubkey FILE`. Recomputed from the format alone and sharing no code with the
// issuer, so an issuer bug cannot vouch for itself.
//
// One document (a full receipt or a public projection) is valid when:
//   1. it is a JSON object with exactly "payload" (string), "signature" (base64 of 64 bytes) and
//      optionally "disclosures" (object), no duplicate names, valid UTF-8;
//   2. the signature verifies (Ed25519 over the payload's bytes) under the trusted key its
//      payload's key_id names (keys are told apart by crypto::Ed25519KeyId, so a set of keys
//      from before and after a rotation verifies each receipt with its own);
//   3. the payload is canonical JSON (RFC 8785) of an object with exactly the members type
//      ("bulwark.receipt.v1"), id (rcpt_ + 32 hex), tenant, kind (strings), issued_at (string),
//      seq (integer >= 1), prev (64 hex, or null exactly when seq is 1), key_id (naming the key
//      that verified the signature) and fields (object; a member that is an object with "_sd" is
//      exactly {"_sd":"<64 hex>"});
//   4. each disclosure {"salt": base64 of 16 bytes, "value": v} belongs to a redacted field and
//      SHA-256(salt || canonical(v)) is that field's commitment.
// A series (several documents) is valid when each is, all name one tenant, and each follows the
// previous: seq + 1 and prev = hex SHA-256 of the previous payload. A series may start inside a
// chain (seq > 1, anchored only by its prev).
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(auto keys, receipts::ReadTrustedKeys("receipt-pub.pem"));
//   SeriesReport r = receipts::VerifyReceiptText(file_text, keys);
//   if (!r.ok) std::cerr << r.failed_id << ": " << r.reason << ": " << r.detail;
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/sign.h"
#include "store/store.h"

namespace bulwark::receipts {

// Stable reasons a document or series fails (what the CLI prints and tests match on):
//   "malformed"            not a receipt document or payload (see 1 and 3 above)
//   "bad_signature"        no trusted key verifies the payload
//   "key_id_mismatch"      the payload names another key than the one that verified it
//   "disclosure_mismatch"  a disclosure does not open its field's commitment, or names a field
//                          that is not redacted
//   "chain_gap"            a series skips, repeats or reorders a seq
//   "chain_broken"         a receipt's prev is not the hash of the one before it
//   "tenant_mismatch"      a series mixes tenants
struct ReceiptReport {
  bool ok = false;
  std::string id;  // the receipt id, when the payload could be read
  std::string tenant;
  std::string kind;
  std::int64_t seq = 0;
  std::string hash;    // hex SHA-256 of the payload (what the next receipt's prev names)
  std::string prev;    // empty for null
  int redacted = 0;    // fields signed only as a commitment
  int disclosed = 0;   // of which a disclosure was given and checked
  std::string reason;  // when !ok
  std::string detail;
};

struct SeriesReport {
  bool ok = false;
  std::vector<ReceiptReport> receipts;  // up to and including the first failure
  std::string failed_id;  // the receipt that failed ("line N" if it had no readable id)
  std::string reason;
  std::string detail;
};

// Checks one document (rules 1-4).
ReceiptReport VerifyReceiptDocument(std::string_view document,
                                    const std::vector<crypto::Ed25519PublicKey>& trusted);

// `text` is one document (possibly pretty-printed), or JSON lines with one document per line
// (blank lines ignored): then the series is checked as a chain too.
SeriesReport VerifyReceiptText(std::string_view text,
                               const std::vector<crypto::Ed25519PublicKey>& trusted);

// Every PEM Ed25519 public key in the file. kUnavailable if it cannot be read; kInvalidArgument
// "invalid_key" if it holds no key or a block that is not an Ed25519 public key.
StatusOr<std::vector<crypto::Ed25519PublicKey>> ReadTrustedKeys(const std::string& pem_file);

// `bulwark receipt verify FILE --pubkey FILE`. Writes one line per valid receipt and a result line
// to `out`; the FAILED line and errors to `err`:
//   receipt verify: OK: rcpt_... tenant acme seq 3 kind apikey.create (1 redacted, 1 disclosed)
//   receipt verify: OK: chain of 5 receipts of tenant acme, seq 1..5
//   receipt verify: FAILED: rcpt_...: bad_signature: ...
// Returns 0 valid, 1 invalid, 2 usage or I/O error (no file, no or unreadable --pubkey).
int RunReceiptVerify(const std::string& file, const std::string& pubkey_file, std::ostream& out,
                     std::ostream& err);
// The same with the keys of several PEM files trusted together (e.g. the bundles from before and
// after a rotation). Each receipt is checked with the trusted key its key_id names.
int RunReceiptVerify(const std::string& file, const std::vector<std::string>& pubkey_files,
                     std::ostream& out, std::ostream& err);

// `bulwark receipt pubkey`: each receipt signing key as "# <key_id>" then its PEM. `database`
// opens the store holding them (app::OpenToolStore in the binary); only a read transaction is
// used. Returns 0, or 2 if it cannot be read.
int RunReceiptPubkey(const store::Opener& database, std::ostream& out, std::ostream& err);
// The same; `kid` non-empty prints only that key (returns 1 if there is none). A retired key is
// still printed (what it signed stays valid), its line saying so: "# <key_id> (retired <time>)".
int RunReceiptPubkey(const store::Opener& database, const std::string& kid, std::ostream& out,
                     std::ostream& err);

}  // namespace bulwark::receipts
