#pragma once
// Small helpers the SCIM service's units share (service.cc, groups.cc): ids, stored documents,
// the not-found answer. Internal to src/scim/. Pure functions: thread-safe.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::scim::internal {

// A new SCIM id: 128 random bits as a UUID-shaped string.
StatusOr<std::string> NewScimId();

// A stored document (JSON object text). kIntegrity when it is not one.
StatusOr<boost::json::object> ParseDoc(std::string_view text);

// 404 "scim_not_found" (another tenant's resource is not found either).
Status NotFound(std::string_view kind);

// The weak ETag of a version: W/"<version>".
std::string ETag(std::int64_t version);

// A resource's meta (RFC 7643 3.1).
boost::json::object Meta(std::string_view type, const std::string& created,
                         const std::string& modified, std::int64_t version, std::string location);

}  // namespace bulwark::scim::internal
