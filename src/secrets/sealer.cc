#include "secrets/sealer.h"

#include "crypto/aead.h"
#include "crypto/hash.h"

namespace bulwark::secrets {

std::string SecretAad(std::string_view tenant, std::string_view path, std::int64_t version,
                      std::string_view key_id) {
  const std::string version_text = std::to_string(version);  // outlives the loop below
  std::string aad(kSecretAadLabel);
  for (std::string_view part : {tenant, path, std::string_view(version_text), key_id}) {
    aad.push_back('\0');
    aad.append(part);
  }
  return aad;
}

StatusOr<std::vector<std::uint8_t>> SealVersion(const crypto::SecretBytes& key,
                                                const SealedPlace& place,
                                                std::span<const std::uint8_t> plaintext) {
  const std::string aad = SecretAad(place);
  return crypto::SealRandomNonce(key, plaintext, crypto::AsBytes(aad));
}

StatusOr<crypto::SecretBytes> OpenVersion(const crypto::SecretBytes& key, const SealedPlace& place,
                                          std::span<const std::uint8_t> sealed) {
  const std::string aad = SecretAad(place);
  auto plain = crypto::OpenRandomNonce(key, sealed, crypto::AsBytes(aad));
  // Too short, a wrong key or AAD, a changed byte: all the same to a reader, the row is damaged.
  if (!plain.ok()) return Status::Integrity("a secret version failed its integrity check");
  return std::move(*plain);
}

StatusOr<std::vector<std::uint8_t>> ResealVersion(const crypto::SecretBytes& from_key,
                                                  const SealedPlace& from,
                                                  const crypto::SecretBytes& to_key,
                                                  std::string_view to_key_id,
                                                  std::span<const std::uint8_t> sealed) {
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes plain, OpenVersion(from_key, from, sealed));
  SealedPlace to = from;
  to.key_id = to_key_id;
  return SealVersion(to_key, to, plain.reveal_span());
}

std::string DataKeyId(std::string_view tenant, std::int64_t number) {
  return "tenant-data:" + std::string(tenant) + ":" + std::to_string(number);
}

DataKeyChoice ChooseSealingKey(std::string_view tenant, const std::optional<DataKeyRecord>& newest,
                               std::int64_t max_seals) {
  if (newest && newest->seals < max_seals) {
    return DataKeyChoice{.number = newest->number, .key_id = newest->key_id, .create = false};
  }
  const std::int64_t number = newest ? newest->number + 1 : 1;  // the old key has sealed enough
  return DataKeyChoice{.number = number, .key_id = DataKeyId(tenant, number), .create = true};
}

}  // namespace bulwark::secrets
