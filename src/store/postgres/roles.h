#pragma once
// The PostgreSQL role split (docs/operations.md): an owner role creates and migrates the schema
// (`bulwark db migrate`); the nodes connect as an application role that owns nothing. The
// application role gets SELECT, INSERT, UPDATE and DELETE on the tables, except the
// append-only ones (the audit ledger and its index, checkpoints, signing keys and identity, the
// receipts and their signing keys), where it gets only SELECT and INSERT. Not owning them, it
// can neither grant itself more nor disable their triggers: a compromised node can append to the
// ledger, never rewrite it.
//
//   BULWARK_RETURN_IF_ERROR(Migrate(*owner_store));
//   BULWARK_RETURN_IF_ERROR(GrantAppRole(*owner_store, "bulwark_app"));
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::store {

// The append-only tables (WORM: triggers refuse UPDATE, DELETE and TRUNCATE).
inline constexpr std::string_view kAppendOnlyTables[] = {
    "audit_ledger",      "audit_index", "audit_checkpoints",   "audit_signing_keys",
    "audit_ledger_meta", "receipts",    "receipt_signing_keys"};

// Grants (idempotently) the privileges above to `role` on the current schema, run as the
// schema's owner after Migrate(). Errors: kInvalidArgument "invalid_role" (not a plain lower-case
// identifier) or "not_postgresql"; kFailedPrecondition "unknown_role", or "role_too_strong"
// when `role` is a superuser or the role running this (it would own the tables).
Status GrantAppRole(Store& store, std::string_view role);

}  // namespace bulwark::store
