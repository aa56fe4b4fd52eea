#include "sso/domains.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <array>
#include <charconv>
#include <cstring>

#include "crypto/compare.h"
#include "crypto/random.h"
#include "sso/admin_store.h"

namespace bulwark::sso {
namespace {

Status NotFound() { return Status::NotFound("domain_not_found", "this tenant has not claimed that domain"); }

Domain DomainOf(const admin_store::DomainRow& r) {
  return Domain{.domain = r.domain, .token = r.token, .created_at = r.created_at,
                .verified_at = r.verified_at};
}

// The TXT strings of a DNS answer, each record's character-strings joined.
std::vector<std::string> TxtOfAnswer(const unsigned char* answer, int len) {
  std::vector<std::string> out;
  ns_msg msg;
  if (ns_initparse(answer, len, &msg) != 0) return out;
  const int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) continue;
    if (ns_rr_type(rr) != ns_t_txt) continue;
    const unsigned char* p = ns_rr_rdata(rr);
    const unsigned char* end = p + ns_rr_rdlen(rr);
    std::string text;
    while (p < end) {
      const std::size_t n = *p++;
      if (n > static_cast<std::size_t>(end - p)) break;  // a malformed record: keep what parsed
      text.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace

StatusOr<std::string> NormalizeDomain(std::string_view domain) {
  const auto bad = [] {
    return Status::InvalidArgument("invalid_domain", "not a domain name like example.com");
  };
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > 253) return bad();
  std::string out;
  out.reserve(domain.size());
  std::size_t label = 0;
  int labels = 1;
  for (std::size_t i = 0; i < domain.size(); ++i) {
    char c = domain[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '.') {
      if (label == 0 || out.back() == '-') return bad();
      label = 0;
      ++labels;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
      if (c == '-' && label == 0) return bad();
      if (++label > 63) return bad();
    } else {
      return bad();
    }
    out.push_back(c);
  }
  if (label == 0 || out.back() == '-' || labels < 2) return bad();
  return out;
}

StatusOr<std::unique_ptr<DnsTxtResolver>> DnsTxtResolver::Create(std::string_view server) {
  std::unique_ptr<DnsTxtResolver> r(new DnsTxtResolver());
  if (server.empty()) return r;
  const auto bad = [] {
    return Status::InvalidArgument("invalid_dns_resolver",
                                   "sso.dns_resolver is an IPv4 address, optionally :port");
  };
  std::string_view host = server;
  if (const auto colon = server.find(':'); colon != std::string_view::npos) {
    host = server.substr(0, colon);
    const std::string_view port = server.substr(colon + 1);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return bad();
    }
    r->port_ = static_cast<std::uint16_t>(value);
  }
  in_addr addr{};
  if (inet_pton(AF_INET, std::string(host).c_str(), &addr) != 1) return bad();
  r->addr_ = addr.s_addr;
  r->custom_ = true;
  return r;
}

StatusOr<std::vector<std::string>> DnsTxtResolver::LookupTxt(std::string_view name) const {
  struct __res_state state;
  std::memset(&state, 0, sizeof state);
  if (res_ninit(&state) != 0) {
    return Status::Unavailable("dns_unavailable", "the DNS resolver could not be set up");
  }
  if (custom_) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port_);
    sa.sin_addr.s_addr = addr_;
    state.nsaddr_list[0] = sa;
    state.nscount = 1;
  }
  state.retrans = 2;
  state.retry = 2;
  std::array<unsigned char, 8192> answer{};
  const std::string qname(name);
  const int len = res_nquery(&state, qname.c_str(), ns_c_in, ns_t_txt, answer.data(),
                             static_cast<int>(answer.size()));
  const int herr = state.res_h_errno;
  res_nclose(&state);
  if (len < 0) {
    if (herr == HOST_NOT_FOUND || herr == NO_DATA) return std::vector<std::string>();
    return Status::Unavailable("dns_unavailable", "the DNS resolver gave no answer");
  }
  return TxtOfAnswer(answer.data(), std::min(len, static_cast<int>(answer.size())));
}

StatusOr<Domain> DomainService::Claim(store::Transaction& tx, std::string_view tenant_id,
                                      std::string_view domain, std::int64_t now) const {
  BULWARK_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(domain));
  BULWARK_ASSIGN_OR_RETURN(auto existing, admin_store::SelectDomain(tx, tenant_id, name));
  if (existing) return Status::Conflict("domain_exists", "this tenant has claimed that domain");
  BULWARK_ASSIGN_OR_RETURN(std::int64_t count, admin_store::CountDomains(tx, tenant_id));
  if (count >= static_cast<std::int64_t>(kMaxDomainsPerTenant)) {
    return Status::Conflict("too_many_domains", "a tenant claims at most 50 domains");
  }
  BULWARK_ASSIGN_OR_RETURN(std::string token, crypto::RandomHex(16));
  admin_store::DomainRow row{.tenant_id = std::string(tenant_id), .domain = name,
                             .token = token, .created_at = now};
  BULWARK_RETURN_IF_ERROR(admin_store::InsertDomain(tx, row));
  return DomainOf(row);
}

StatusOr<std::vector<Domain>> DomainService::List(store::Transaction& tx,
                                                  std::string_view tenant_id) const {
  BULWARK_ASSIGN_OR_RETURN(auto rows, admin_store::SelectDomains(tx, tenant_id));
  std::vector<Domain> out;
  for (const auto& r : rows) out.push_back(DomainOf(r));
  return out;
}

StatusOr<Domain> DomainService::ProveRecord(store::Store& store, std::string_view tenant_id,
                                            std::string_view domain) const {
  BULWARK_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(domain));
  Domain claimed;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(auto row, admin_store::SelectDomain(*tx, tenant_id, name));
    if (!row) return NotFound();
    claimed = DomainOf(*row);
  }
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> records,
                           resolver_.LookupTxt(claimed.RecordName()));
  if (records.empty()) {
    return Status::Unprocessable("domain_record_missing",
                                 "no TXT record at " + claimed.RecordName());
  }
  const std::string expected = claimed.TxtRecord();
  bool found = false;
  for (const std::string& r : records) found = crypto::ConstantTimeEquals(r, expected) || found;
  if (!found) {
    return Status::Unprocessable("domain_token_mismatch",
                                 "the TXT records at " + claimed.RecordName() +
                                     " do not hold this tenant's verification text");
  }
  return claimed;
}

StatusOr<Domain> DomainService::MarkVerified(store::Transaction& tx, std::string_view tenant_id,
                                             const Domain& proven, std::int64_t now) const {
  const std::string& name = proven.domain;
  BULWARK_ASSIGN_OR_RETURN(auto row, admin_store::SelectDomain(tx, tenant_id, name));
  if (!row || row->token != proven.token) return NotFound();  // removed or re-claimed meanwhile
  BULWARK_RETURN_IF_ERROR(admin_store::ReleaseDeletedTenantsClaims(tx, name).status());
  BULWARK_ASSIGN_OR_RETURN(bool elsewhere, admin_store::VerifiedElsewhere(tx, tenant_id, name));
  if (elsewhere) {
    return Status::Conflict("domain_verified_elsewhere",
                            "another tenant has verified this domain");
  }
  if (!row->verified_at) {
    const Status marked = admin_store::MarkDomainVerified(tx, tenant_id, name, now);
    if (marked.code() == ErrorCode::kConflict) {
      return Status::Conflict("domain_verified_elsewhere",
                              "another tenant has verified this domain");
    }
    BULWARK_RETURN_IF_ERROR(marked);
    row->verified_at = now;
  }
  return DomainOf(*row);
}

Status DomainService::Remove(store::Transaction& tx, std::string_view tenant_id,
                             std::string_view domain) const {
  BULWARK_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(domain));
  BULWARK_ASSIGN_OR_RETURN(bool deleted, admin_store::DeleteDomain(tx, tenant_id, name));
  if (!deleted) return NotFound();
  return Status::Ok();
}

StatusOr<bool> DomainVerified(store::Transaction& tx, std::string_view tenant_id,
                              std::string_view domain) {
  BULWARK_ASSIGN_OR_RETURN(auto row, admin_store::SelectDomain(tx, tenant_id, domain));
  return row.has_value() && row->verified_at.has_value();
}

}  // namespace bulwark::sso
