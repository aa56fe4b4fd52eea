#pragma once
// Domains a tenant claims for single sign-on, proved by a DNS TXT record.
//
// A tenant claims a domain (Claim): it gets a random token and the record to publish,
//   _bulwark-challenge.<domain>.  TXT  "bulwark-domain-verification=<token>"
// then asks for verification (ProveRecord, then MarkVerified), which looks the TXT records of that name up through a
// TxtResolver and marks the domain verified when one of them is exactly that text (compared in
// constant time). The record lives on the `_bulwark-challenge.` label, not on the domain itself,
// so it sits beside the domain's own TXT records (SPF and others) without touching them. A domain
// verified by one tenant cannot be verified by another (kConflict "domain_verified_elsewhere";
// the store holds it too, with a unique index on verified domains) until that tenant removes its
// claim or is deleted (a deleted tenant's claims are released when another verifies the domain). Only a verified domain that
// is also among a connection's allowed domains lets an email sign in (sso/accounts.h).
//
//   DomainService domains(resolver);
//   BULWARK_ASSIGN_OR_RETURN(Domain d, domains.Claim(tx, tenant, "example.com", now));
//   // publish d.TxtRecord() at d.RecordName(), then:
//   BULWARK_ASSIGN_OR_RETURN(Domain proven, domains.ProveRecord(store, tenant, "example.com"));
//   ... in a write transaction committed with its record:
//   BULWARK_ASSIGN_OR_RETURN(Domain v, domains.MarkVerified(tx, tenant, proven, now));
//
// Errors: kInvalidArgument "invalid_domain"; kNotFound "domain_not_found" (also another
// tenant's); kConflict "domain_exists" (claimed twice by the tenant), "too_many_domains",
// "domain_verified_elsewhere"; kUnprocessable "domain_record_missing" (no TXT record at the name)
// and "domain_token_mismatch" (records there, none the expected text); kUnavailable
// "dns_unavailable" (the resolver did not answer). Thread-safety: DomainService and
// DnsTxtResolver are safe to call from any number of threads.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::sso {

inline constexpr std::string_view kDomainRecordLabel = "_bulwark-challenge.";
inline constexpr std::string_view kDomainRecordPrefix = "bulwark-domain-verification=";
inline constexpr std::size_t kMaxDomainsPerTenant = 50;

// The canonical form of a domain name: lower case, no trailing dot; 2+ labels of [a-z0-9-]
// (not starting or ending with '-'), each 1-63 bytes, 253 in all. kInvalidArgument
// "invalid_domain" otherwise.
StatusOr<std::string> NormalizeDomain(std::string_view domain);

struct Domain {
  std::string domain;
  std::string token;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> verified_at;

  std::string RecordName() const { return std::string(kDomainRecordLabel) + domain; }
  std::string TxtRecord() const { return std::string(kDomainRecordPrefix) + token; }
};

// Looks up TXT records. Each element is one record's character-strings joined.
class TxtResolver {
 public:
  virtual ~TxtResolver() = default;
  // The TXT records of `name`; empty when the name has none or does not exist (NXDOMAIN).
  // kUnavailable "dns_unavailable" when no answer came.
  virtual StatusOr<std::vector<std::string>> LookupTxt(std::string_view name) const = 0;
};

// A TxtResolver over glibc's resolver (res_nquery). `server` "host:port" (an IPv4 address; port
// defaults to 53) queries that server only; empty: the system's resolvers (/etc/resolv.conf).
class DnsTxtResolver final : public TxtResolver {
 public:
  // kInvalidArgument "invalid_dns_resolver" for a server that is not an IPv4 address[:port].
  static StatusOr<std::unique_ptr<DnsTxtResolver>> Create(std::string_view server);
  StatusOr<std::vector<std::string>> LookupTxt(std::string_view name) const override;

 private:
  DnsTxtResolver() = default;
  bool custom_ = false;
  std::uint32_t addr_ = 0;  // network order
  std::uint16_t port_ = 53;
};

class DomainService {
 public:
  // `resolver` must outlive the service.
  explicit DomainService(const TxtResolver& resolver) : resolver_(resolver) {}

  StatusOr<Domain> Claim(store::Transaction& tx, std::string_view tenant_id,
                         std::string_view domain, std::int64_t now) const;
  StatusOr<std::vector<Domain>> List(store::Transaction& tx, std::string_view tenant_id) const;
  // Verification, in two steps. ProveRecord reads the tenant's claim (its own read transaction)
  // and looks its TXT record up (no transaction held while DNS answers): the claim when the
  // record holds the expected text, else the errors above. MarkVerified then marks it verified
  // in the caller's write transaction (committed with its record); kNotFound if the claim was
  // removed or claimed anew since, kConflict "domain_verified_elsewhere". Verifying a verified
  // domain again re-checks the record and keeps its first verified_at.
  StatusOr<Domain> ProveRecord(store::Store& store, std::string_view tenant_id,
                               std::string_view domain) const;
  StatusOr<Domain> MarkVerified(store::Transaction& tx, std::string_view tenant_id,
                                const Domain& proven, std::int64_t now) const;
  // Removes the claim (verified or not). kNotFound "domain_not_found".
  Status Remove(store::Transaction& tx, std::string_view tenant_id, std::string_view domain) const;

 private:
  const TxtResolver& resolver_;
};

// Whether `domain` (canonical) is verified by the tenant.
StatusOr<bool> DomainVerified(store::Transaction& tx, std::string_view tenant_id,
                              std::string_view domain);

}  // namespace bulwark::sso
