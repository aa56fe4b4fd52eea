#pragma once
// The server's TLS configuration, kept here because it is OpenSSL configuration.
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "core/status.h"

namespace bulwark::crypto {

// TLS 1.2 minimum (1.3 preferred by negotiation), forward-secret AEAD suites only, no
// compression, no renegotiation, no session tickets. Fails (kFailedPrecondition "tls_config")
// if the certificate or key cannot be loaded or do not match; the message names the file, never
// key material.
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const std::string& cert_file, const std::string& key_file);

}  // namespace bulwark::crypto
