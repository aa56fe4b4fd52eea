#pragma once
// `bulwark key ...`: master key (KEK) rotation, retirement and status; and `bulwark db migrate`,
// the other maintenance command that opens the store as `serve` would. The current master key
// comes from the configuration as for `serve`; each command prints one JSON document on `out`
// and, on a refusal, one line "bulwark: key <cmd>: <message>" on stderr.
//
// Exit codes: 0 done; 1 refused (nothing was written); 2 a usage error (an unknown --kind); 78
// the configuration, store or keyring cannot be opened (nothing was written).
//
//   bulwark key rotate --new-source file:/etc/bulwark/master-2026.key --config bulwark.toml
//   {"kek_version":2,"rewrapped":7,"receipt_id":"rcpt_..."}
//   # point keyring.master_key_file at the new key, then: kill -HUP <pid>
//   bulwark key retire --version 1 --config bulwark.toml
//   {"retired_version":1,"receipt_id":"rcpt_..."}
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/status.h"
#include "keyring/master_key.h"

namespace bulwark::app {

// Receipts of keyring operations belong to no tenant: they are issued in this chain.
inline constexpr std::string_view kKeyringReceiptTenant = "system";

// Parses --new-source: "file:/path" (a key file as for keyring.master_key_file), "env:NAME" (the
// base64 key in environment variable NAME, looked up in `environ`) or "password-file:/path" (a
// password on one line; PBKDF2 with `pbkdf2_iterations`, which must be >= 100000). Reads the
// password file and the variable; a key file is read later (keyring::ReadKeyFile). Errors:
// kInvalidArgument "invalid_new_source" (never including the secret), "weak_kdf_iterations".
StatusOr<keyring::MasterKeySource> ParseNewMasterKeySource(std::string_view spec, char** environ,
                                                           std::int64_t pbkdf2_iterations);

// `bulwark key rotate --new-source S`: in one transaction adds the new master key version (or,
// on a re-run with the same key, reuses it), re-wraps every data key under it, records
// key.rotate in the audit ledger and issues a key.rotate receipt. Prints
// {"kek_version":N,"rewrapped":M,"receipt_id":"..."}.
int KeyRotate(const config::ConfigSources& sources, const std::string& new_source, std::ostream& out);

// `bulwark key retire --version N`: refuses while any data key is sealed under N, or if N is the
// active version; otherwise marks it retired, records key.retire with a key.retire receipt.
// Prints {"retired_version":N,"receipt_id":"..."}.
int KeyRetire(const config::ConfigSources& sources, std::uint32_t version, std::ostream& out);

// `bulwark key rotate-data --tenant T`: reseals every secret version of tenant T (id or name)
// under a new data key, `batch_size` versions per transaction with `pause_ms` between batches,
// beside a running server (new writes are sealed with the new key from the start). Re-running
// after a crash resumes the unfinished job. Records key.rotate_data.start, and at the end
// key.rotate_data with a key.rotate_data receipt in the tenant's chain. Prints
// {"tenant_id":"...","data_key_id":"...","resealed":N,"receipt_id":"..."}.
int KeyRotateData(const config::ConfigSources& sources, const std::string& tenant,
                  std::int64_t batch_size, std::int64_t pause_ms, std::ostream& out);

// `bulwark key rotate-signing --kind jwt|ledger|receipt`: makes the next generation of that kind's
// signing key (keyring/signing_keys.h), in one transaction with a key.rotate_signing ledger
// record and receipt. Running servers sign with it once they reload (SIGHUP, POST
// /api/v1/ops/keyring/reload; other PostgreSQL nodes on their own); the previous keys keep
// verifying. Prints {"kind":"jwt","kid":"ed25519:...","previous_kid":"ed25519:...",
// "generation":2,"receipt_id":"rcpt_..."}. An unknown --kind: exit 2, nothing opened.
int KeyRotateSigning(const config::ConfigSources& sources, const std::string& kind,
                     std::ostream& out);

// `bulwark key retire-signing --kind K --kid KID`: retires one signing key that is not the active
// one and destroys its private half, with a key.retire_signing record and receipt. A retired JWT
// key leaves the JWKS (its tokens are refused once servers reload); a retired ledger or receipt
// key signs nothing more, and what it signed still verifies. Prints
// {"kind":"jwt","retired_kid":"...","receipt_id":"rcpt_..."}. Exit 1 for the active key, an
// unknown kid or one already retired (nothing changed); 2 for an unknown --kind.
int KeyRetireSigning(const config::ConfigSources& sources, const std::string& kind,
                     const std::string& kid, std::ostream& out);

// `bulwark key signing-status [--kind K]`: every signing key of each kind (reads the store only):
// {"jwt":[{"kid":"ed25519:...","generation":1,"created_at":"...","retired_at":null,
//  "active":true}], "ledger":[...], "receipt":[...]}
int KeySigningStatus(const config::ConfigSources& sources, const std::string& kind,
                     std::ostream& out);

// `bulwark key status`: every master key version (needs no key; reads the store only):
// {"active_version":2,"versions":[{"version":1,"source_kind":"file","created_at":"...",
//  "retired_at":null,"wrapped_keys":0,"active":false}, ...]}
int KeyStatus(const config::ConfigSources& sources, std::ostream& out);

// `bulwark db migrate [--grant-app-role R]`: brings the configured database to this binary's
// schema, and on PostgreSQL grants application role R its privileges (store/postgres/roles.h).
// Run it with the configuration of the schema's owner; the nodes then connect as R, which may
// not create tables (serve migrates only what is behind, and reads otherwise). Prints
// {"schema_version":N,"app_role":"R"|null}.
int DbMigrate(const config::ConfigSources& sources, const std::string& app_role, std::ostream& out);

}  // namespace bulwark::app
