// The issuer made from server.public_url, and the discovery document.
#include "identity/discovery.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace bulwark::identity {
namespace {

TEST(DiscoveryTest, IssuerIsThePublicUrlNormalised) {
  EXPECT_EQ(*NormalizeIssuer("https://bulwark.example"), "https://bulwark.example");
  EXPECT_EQ(*NormalizeIssuer("https://bulwark.example/"), "https://bulwark.example");
  EXPECT_EQ(*NormalizeIssuer("https://bulwark.example///"), "https://bulwark.example");
  EXPECT_EQ(*NormalizeIssuer("HTTPS://Bulwark.Example:8443/"), "https://bulwark.example:8443");
  // The path keeps its case (it is not the host's).
  EXPECT_EQ(*NormalizeIssuer("https://Example.com/Auth/"), "https://example.com/Auth");
  EXPECT_EQ(*NormalizeIssuer("http://127.0.0.1:8420"), "http://127.0.0.1:8420");
  EXPECT_EQ(*NormalizeIssuer("https://[::1]:8443/"), "https://[::1]:8443");
}

TEST(DiscoveryTest, WhatCannotBeAnIssuerIsRefused) {
  for (const char* bad :
       {"", "bulwark.example", "ftp://bulwark.example", "https://", "https:///path",
        "https://bulwark.example/?x=1", "https://bulwark.example/#top",
        "https://user@bulwark.example", "https://bulwark example", "https://:8443",
        "https://bulwark.example/\xc3\xa9"}) {
    StatusOr<std::string> r = NormalizeIssuer(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().reason(), "invalid_public_url") << bad;
    }
  }
}

TEST(DiscoveryTest, DevIssuerIsTheBoundAddress) {
  EXPECT_EQ(DevIssuer("127.0.0.1:8420"), "http://127.0.0.1:8420");
  EXPECT_EQ(DevIssuer("[::1]:34567"), "http://[::1]:34567");
}

TEST(DiscoveryTest, DocumentNamesIssuerJwksAndAlgorithm) {
  const boost::json::value doc = boost::json::parse(DiscoveryDocumentJson("https://b.example"));
  const boost::json::object& o = doc.as_object();
  EXPECT_EQ(o.at("issuer").as_string(), "https://b.example");
  EXPECT_EQ(o.at("jwks_uri").as_string(), "https://b.example/.well-known/jwks.json");
  EXPECT_EQ(o.at("id_token_signing_alg_values_supported"), boost::json::array{"EdDSA"});
  EXPECT_EQ(o.at("access_token_signing_alg_values_supported"), boost::json::array{"EdDSA"});
  EXPECT_EQ(o.at("subject_types_supported"), boost::json::array{"public"});
  // Nothing Bulwark does not have: no endpoints for third-party OAuth clients.
  for (const char* absent : {"authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                             "response_types_supported", "grant_types_supported"}) {
    EXPECT_FALSE(o.contains(absent)) << absent;
  }
}

}  // namespace
}  // namespace bulwark::identity
