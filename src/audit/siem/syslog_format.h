#pragma once
// RFC 5424 syslog messages for audit ledger entries, framed by octet counting (RFC 6587 §3.4.1).
//
// One ledger entry becomes one message:
//
//   <PRI>1 TIMESTAMP HOSTNAME bulwark PROCID MSGID [bulwark@32473 seq="N" ledger="ID"] BOM{...}
//
//   PRI        facility * 8 + severity; severity from the entry's "result": success -> info (6),
//              denied -> notice (5), error (or anything unknown) -> err (3).
//   TIMESTAMP  the entry's own "time" (when it was recorded, not when it was shipped), or "-"
//              when it is not an RFC 5424 timestamp.
//   MSGID      the entry's "action" ("http.denied"), reduced to PRINTUSASCII, at most 32 chars.
//   SD         seq and ledger id, so a receiver can detect gaps and duplicates (after a receiver
//              outage the exporter may resend entries: at-least-once). 32473 is the example
//              enterprise number of RFC 5612, as RFC 5424's own examples use it.
//   MSG        a UTF-8 BOM, then the exact canonical entry bytes the ledger hashed; RFC 5424 §6.4
//              requires the BOM for a UTF-8 MSG. A receiver can recompute the chain from MSG.
//
// One signed checkpoint becomes one message of its own MSGID and SD-ID, right after the entry of
// its size:
//
//   <PRI>1 TIMESTAMP HOSTNAME bulwark PROCID audit.checkpoint
//     [checkpoint@32473 ledger="ID" size="N" head_hash="HEX" key_id="ed25519:..." signature="B64"
//     id="ROW"] BOM{"type":"checkpoint","id":ROW,"body":"...","key_id":"...","signature":"..."}
//
//   PRI        facility * 8 + notice (5).
//   TIMESTAMP  the checkpoint body's "time".
//   SD         what a SIEM rule compares: the size (the entry count it signs), the head hash, the
//              signing key and the Ed25519 signature (base64) over the canonical body. No "seq"
//              parameter, so a rule counting entries by seq never counts a checkpoint.
//   MSG        the checkpoint exactly as `bulwark audit export` writes its line (audit/export.h),
//              without the newline: `bulwark audit verify --since-checkpoint` reads it as it is,
//              and its "body" is the byte string the signature covers.
//
// Example:
//   SyslogIdentity id{.facility = 13, .hostname = LocalHostname(), .procid = "42", .ledger_id = "L"};
//   std::string frame = FrameOctetCounting(FormatSyslogRecord(id, 7, entry_bytes));
//   // "183 <109>1 2026-11-22T23:30:00.123456Z host bulwark 42 http.denied [bulwark@32473 ...
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/verify.h"

namespace bulwark::audit::siem {

inline constexpr std::string_view kSyslogSdId = "bulwark@32473";
inline constexpr int kDefaultSyslogFacility = 13;  // "log audit" (RFC 5424 table 1)

// facility * 8 + severity for an entry whose "result" is `result`. `facility` must be 0..23.
int SyslogPriority(int facility, std::string_view result);

// Printable US-ASCII (33..126) only, at most `max` characters; "-" (the NILVALUE) if nothing is
// left.
std::string PrintUsAscii(std::string_view in, std::size_t max);

// An SD-PARAM value with '"', '\' and ']' escaped by a backslash (RFC 5424 §6.3.3).
std::string EscapeSdParamValue(std::string_view value);

// True for an RFC 5424 TIMESTAMP (full date, 'T', time with at most 6 fraction digits, 'Z' or
// a numeric offset).
bool IsRfc5424Timestamp(std::string_view t);

struct SyslogIdentity {
  int facility = kDefaultSyslogFacility;
  std::string hostname;  // already PRINTUSASCII; "-" if unknown
  std::string procid;    // "-" if unknown
  std::string ledger_id;
};

// The RFC 5424 message for ledger entry `seq` whose stored bytes are `entry`. Never fails: an
// entry that is not the expected JSON (only a damaged ledger holds one) is still shipped whole,
// with "-" for the timestamp and MSGID and severity err.
std::string FormatSyslogRecord(const SyslogIdentity& id, std::int64_t seq, std::string_view entry);

inline constexpr std::string_view kSyslogCheckpointSdId = "checkpoint@32473";
inline constexpr std::string_view kSyslogCheckpointMsgId = "audit.checkpoint";

// The RFC 5424 message for a signed checkpoint (above). Never fails: a body that is not the
// expected JSON is still shipped whole, with "-" for the timestamp.
std::string FormatSyslogCheckpoint(const SyslogIdentity& id, const LedgerCheckpoint& cp);

// "LEN SP MSG" with LEN the decimal octet count of `msg`.
std::string FrameOctetCounting(std::string_view msg);

// This host's name as a HOSTNAME field ("-" if it cannot be read).
std::string LocalHostname();

}  // namespace bulwark::audit::siem
