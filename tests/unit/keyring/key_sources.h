#pragma once
// Master key sources for tests: a random raw key (base64), a base64 source, a password source.
#include <cstdint>
#include <string>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "keyring/master_key.h"

namespace bulwark::keyring::testing {

inline std::string RandomKeyBase64() {
  auto k = crypto::RandomSecret(32);
  return crypto::Base64Encode(k->reveal_span());
}

inline MasterKeySource Base64Source(const std::string& b64) {
  MasterKeySource s;
  s.kind = MasterKeySourceKind::kBase64;
  s.material = crypto::SecretBytes::FromString(std::string(b64));
  return s;
}

// At the iteration floor, which keeps tests fast.
inline MasterKeySource PasswordSource(const std::string& pw,
                                      std::uint32_t iterations = kMinPbkdf2Iterations) {
  MasterKeySource s;
  s.kind = MasterKeySourceKind::kPassword;
  s.material = crypto::SecretBytes::FromString(std::string(pw));
  s.pbkdf2_iterations = iterations;
  return s;
}

}  // namespace bulwark::keyring::testing
