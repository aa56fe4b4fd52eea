#pragma once
// What `serve` reads or derives for its services before it builds them: the operator token, the
// mailer, and the keyring's HMAC keys. Errors are returned, never thrown; nothing here prints a
// secret.
#include <memory>
#include <optional>
#include <string_view>

#include "config/config.h"
#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "identity/mailer.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace bulwark::app {

// The operator token from the configuration or its file; nullopt when none is configured.
// Errors: reading the file (ReadSecretFile's).
StatusOr<std::optional<crypto::SecretBytes>> OperatorToken(const config::Config& c);

// The mailer the configuration names: SMTP when mail.smtp_url is set, the dev outbox in dev
// mode without one, else null (no mail). `*outbox` and `*smtp_out` are set to the one made (the
// caller keeps them for the local overlay and for reloading the SMTP password), else null.
StatusOr<std::shared_ptr<identity::Mailer>> MailerFor(const config::Config& c,
                                                      identity::OutboxMailer** outbox,
                                                      identity::SmtpMailer** smtp_out);

// The keyring data key `key_id` for HMAC-SHA-256 (32 bytes of `purpose`), created on first use
// in its own transaction. Errors: the store's or the keyring's.
StatusOr<crypto::SecretBytes> HmacKey(store::Store& store, const keyring::Keyring& keys,
                                      std::string_view key_id, std::string_view purpose);

}  // namespace bulwark::app
