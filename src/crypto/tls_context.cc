#include "crypto/tls_context.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

namespace bulwark::crypto {

StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const std::string& cert_file, const std::string& key_file) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                       ssl::context::no_compression,
                   ec);
  SSL_CTX* native = ctx->native_handle();
  if (ec || SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return Status::FailedPrecondition("tls_config", "cannot restrict TLS versions");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  constexpr const char* kTls12Suites =
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
  constexpr const char* kTls13Suites =
      "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
  if (SSL_CTX_set_cipher_list(native, kTls12Suites) != 1 ||
      SSL_CTX_set_ciphersuites(native, kTls13Suites) != 1) {
    return Status::FailedPrecondition("tls_config", "cannot set TLS cipher suites");
  }
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) return Status::FailedPrecondition("tls_config", "cannot load TLS certificate " + cert_file);
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return Status::FailedPrecondition(
        "tls_config", "cannot load TLS private key " + key_file + " (unreadable, not PEM, or it does not match the certificate)");
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Status::FailedPrecondition("tls_config", "TLS private key does not match the certificate");
  }
  return ctx;
}

StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeClientTlsContext(const std::string& ca_file,
                                                                          const std::string& reason) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression,
                   ec);
  if (ec || SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
    return Status::FailedPrecondition(reason, "cannot restrict TLS versions");
  }
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return Status::FailedPrecondition(reason, "cannot require certificate verification");
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) return Status::FailedPrecondition(reason, "cannot load the system trust store");
  } else {
    ctx->load_verify_file(ca_file, ec);
    if (ec) return Status::FailedPrecondition(reason, "cannot load CA certificates from " + ca_file);
  }
  return ctx;
}

Status SetTlsPeerName(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream, const std::string& name) {
  SSL* native = stream.native_handle();
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  int ok = 0;
  if (!ec) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), name.c_str());
  } else {
    // SSL_set_tlsext_host_name is a macro with a C cast; the call it expands to, spelled out:
    ok = SSL_set1_host(native, name.c_str()) == 1 &&
         SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(name.c_str())) == 1;
  }
  if (ok != 1) return Status::InvalidArgument("tls_peer_name", "cannot set the TLS peer name");
  return Status::Ok();
}

}  // namespace bulwark::crypto
