#include "app/service_inputs.h"

#include <utility>

#include "app/core_open.h"

namespace bulwark::app {

StatusOr<std::optional<crypto::SecretBytes>> OperatorToken(const config::Config& c) {
  if (c.operator_token) return std::optional<crypto::SecretBytes>(c.operator_token->Clone());
  if (c.operator_token_file.empty()) return std::optional<crypto::SecretBytes>();
  BULWARK_ASSIGN_OR_RETURN(auto t, ReadSecretFile(c.operator_token_file));
  return std::optional<crypto::SecretBytes>(std::move(t));
}

StatusOr<std::shared_ptr<identity::Mailer>> MailerFor(const config::Config& c,
                                                      identity::OutboxMailer** outbox,
                                                      identity::SmtpMailer** smtp_out) {
  *outbox = nullptr;
  *smtp_out = nullptr;
  if (c.smtp_url.empty()) {
    if (!c.dev) return std::shared_ptr<identity::Mailer>();
    auto box = std::make_shared<identity::OutboxMailer>();
    *outbox = box.get();
    return std::shared_ptr<identity::Mailer>(box);
  }
  identity::SmtpOptions o;
  o.url = c.smtp_url;
  o.username = c.smtp_username;
  if (c.smtp_password) {
    o.password = c.smtp_password->Clone();
  } else if (!c.smtp_password_file.empty()) {
    BULWARK_ASSIGN_OR_RETURN(o.password, ReadSecretFile(c.smtp_password_file));
  }
  o.from = c.mail_from;
  o.ca_file = c.smtp_ca_file;
  BULWARK_RETURN_IF_ERROR(identity::InitMailTransport());
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<identity::SmtpMailer> smtp,
                           identity::SmtpMailer::Create(std::move(o)));
  *smtp_out = smtp.get();
  return std::shared_ptr<identity::Mailer>(std::move(smtp));
}

StatusOr<crypto::SecretBytes> HmacKey(store::Store& store, const keyring::Keyring& keys,
                                      std::string_view key_id, std::string_view purpose) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kWrite));
  BULWARK_ASSIGN_OR_RETURN(auto key, keys.GetOrCreateKey(*tx, key_id, purpose, 32));
  BULWARK_RETURN_IF_ERROR(tx->Commit());
  return key;
}

}  // namespace bulwark::app
