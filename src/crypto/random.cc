#include "crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "crypto/encoding.h"

namespace bulwark::crypto {

Status RandomBytes(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t chunk = std::min<std::size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      return Status::Internal("the random number generator failed");
    }
    done += chunk;
  }
  return Status::Ok();
}

StatusOr<SecretBytes> RandomSecret(std::size_t n) {
  SecretBytes out(n);
  BULWARK_RETURN_IF_ERROR(RandomBytes(out.reveal_mutable_span()));
  return out;
}

StatusOr<std::string> RandomTokenBase64Url(std::size_t nbytes) {
  std::vector<std::uint8_t> raw(nbytes);
  BULWARK_RETURN_IF_ERROR(RandomBytes(raw));
  std::string out = Base64UrlEncode(raw);
  if (!raw.empty()) OPENSSL_cleanse(raw.data(), raw.size());
  return out;
}

StatusOr<std::string> RandomHex(std::size_t nbytes) {
  std::vector<std::uint8_t> raw(nbytes);
  BULWARK_RETURN_IF_ERROR(RandomBytes(raw));
  std::string out = HexEncode(raw);
  if (!raw.empty()) OPENSSL_cleanse(raw.data(), raw.size());
  return out;
}

}  // namespace bulwark::crypto
