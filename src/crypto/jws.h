#pragma once
// Compact JWS (RFC 7515 section 7.1) taken apart strictly, before anything in it is trusted: the
// one splitter every JWT verifier in Bulwark uses (identity/jwt.cc for its own access tokens,
// sso/id_token.cc for an identity provider's ID and logout tokens).
//
// Strict, because a JWS verifier is attacked through what it tolerates:
//   - at most `max_bytes`, exactly three parts, each non-empty, each strict unpadded base64url
//     (crypto::Base64UrlDecode: no '=', whitespace, '+' or '/', no stray trailing bits);
//   - the protected header is a strict JSON object (core::ParseStrictJson: valid UTF-8, no
//     duplicate member names after unescaping, integers a double holds exactly);
//   - the payload is NOT decoded here: JwsPayloadObject reads it, and callers call it only after
//     the signature has verified, so nothing an attacker wrote is parsed as claims before then.
// Which header members are allowed, which algorithm and which key, is the caller's decision.
//
// Errors: kInvalidArgument with reason "malformed_jws"; the message never echoes the token.
// Thread-safety: plain functions over values.
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(CompactJws jws, crypto::ParseCompactJws(token, 16 * 1024));
//   ... choose the key from jws.header, verify jws.signature over jws.signing_input ...
//   BULWARK_ASSIGN_OR_RETURN(boost::json::object claims, crypto::JwsPayloadObject(jws));
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark::crypto {

struct CompactJws {
  boost::json::object header;           // the protected header, strictly parsed
  std::string_view signing_input;       // base64url(header) "." base64url(payload): a view
                                        // into the token, which must outlive this value
  std::string_view payload_b64;         // a view into the token, not yet decoded
  std::vector<std::uint8_t> signature;  // decoded; its size is the algorithm's business
};

StatusOr<CompactJws> ParseCompactJws(std::string_view token, std::size_t max_bytes);

// The payload of `jws` decoded and strictly parsed as a JSON object ("malformed_jws" otherwise).
StatusOr<boost::json::object> JwsPayloadObject(const CompactJws& jws);

}  // namespace bulwark::crypto
