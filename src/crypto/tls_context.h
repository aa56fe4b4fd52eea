#pragma once
// The server's TLS configuration, kept here because it is OpenSSL configuration.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
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

// A client context that verifies its peer: TLS 1.2 minimum, peer certificate required and
// checked against `ca_file` (empty: the system trust store). Fails (kFailedPrecondition with
// `reason`) naming the CA file, never key material.
StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeClientTlsContext(const std::string& ca_file,
                                                                          const std::string& reason);

// Before the handshake: the name the peer's certificate must carry (a DNS name, also sent as
// SNI, or an IP address checked against the certificate's IP SANs).
Status SetTlsPeerName(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream, const std::string& name);

}  // namespace bulwark::crypto
