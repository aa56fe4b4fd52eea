#include "store/migrations.h"

namespace bulwark::store {
namespace {

// Migration 1: the keyring. A KEK (key-encryption key) row records how the master key is derived
// and a check value to recognise it, never the key; wrapped_keys holds data keys sealed by a KEK.
constexpr std::string_view kFoundation = R"sql(
CREATE TABLE keyring_kek (
  version INTEGER PRIMARY KEY,
  source_kind TEXT NOT NULL,
  salt BLOB,
  iterations INTEGER,
  check_value BLOB NOT NULL,
  created_at TEXT NOT NULL,
  retired_at TEXT
);
CREATE TABLE wrapped_keys (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  kek_version INTEGER NOT NULL REFERENCES keyring_kek(version),
  wrapped BLOB NOT NULL,
  created_at TEXT NOT NULL
);
)sql";

// Migration 2: the audit ledger. audit_index holds the queryable columns of each entry (the
// ledger itself is only the hashed bytes); it is written in the same transaction. Each entry is the
// canonical JSON (RFC 8785) of one event, stored as the exact bytes hashed: hash =
// SHA-256(prev_hash || entry). Checkpoints sign {ledger id, size, head hash, time} with an Ed25519
// key whose private half is wrapped by the keyring. The three tables are append-only: triggers
// refuse UPDATE and DELETE, and no code path issues one. (SQLite trigger syntax; the PostgreSQL
// backend carries its own trigger functions.)
constexpr std::string_view kAuditLedger = R"sql(
CREATE TABLE audit_ledger_meta (
  ledger_id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE audit_ledger (
  seq INTEGER PRIMARY KEY,
  entry BLOB NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
CREATE TABLE audit_signing_keys (
  key_id TEXT PRIMARY KEY,
  public_key BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY,
  size INTEGER NOT NULL,
  head_hash BLOB NOT NULL,
  body BLOB NOT NULL,
  key_id TEXT NOT NULL REFERENCES audit_signing_keys(key_id),
  signature BLOB NOT NULL
);
CREATE TABLE audit_index (
  seq INTEGER PRIMARY KEY REFERENCES audit_ledger(seq),
  time TEXT NOT NULL,
  tenant TEXT,
  actor_kind TEXT NOT NULL,
  actor_id TEXT,
  action TEXT NOT NULL,
  result TEXT NOT NULL
);
CREATE INDEX audit_index_tenant_seq ON audit_index(tenant, seq);
CREATE TRIGGER audit_index_no_update BEFORE UPDATE ON audit_index
BEGIN SELECT RAISE(ABORT, 'audit index is append-only'); END;
CREATE TRIGGER audit_index_no_delete BEFORE DELETE ON audit_index
BEGIN SELECT RAISE(ABORT, 'audit index is append-only'); END;
CREATE TRIGGER audit_ledger_no_update BEFORE UPDATE ON audit_ledger
BEGIN SELECT RAISE(ABORT, 'audit ledger is append-only'); END;
CREATE TRIGGER audit_ledger_no_delete BEFORE DELETE ON audit_ledger
BEGIN SELECT RAISE(ABORT, 'audit ledger is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_signing_keys_no_update BEFORE UPDATE ON audit_signing_keys
BEGIN SELECT RAISE(ABORT, 'audit signing keys are append-only'); END;
CREATE TRIGGER audit_signing_keys_no_delete BEFORE DELETE ON audit_signing_keys
BEGIN SELECT RAISE(ABORT, 'audit signing keys are append-only'); END;
)sql";

// Migration 3: where each SIEM export sink has got to in the ledger (audit/siem/exporter.h).
// Mutable on purpose: it is a delivery cursor, not part of the tamper-evident ledger.
constexpr std::string_view kAuditExportCursors = R"sql(
CREATE TABLE audit_export_cursors (
  sink TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
)sql";

// Migration 4: signed receipts (format in receipts/receipt.h). Each tenant's receipts form a
// hash chain: seq counts from 1 per tenant (UNIQUE(tenant, seq) makes a racing second issuer
// fail rather than fork the chain) and hash = SHA-256(payload) is the next receipt's prev.
// payload is the exact signed bytes; disclosures holds the redacted fields' values and salts,
// never shown publicly. receipt_signing_keys keeps the public half of each signing key (the
// private half is a keyring-wrapped data key). Both tables are append-only: triggers refuse
// UPDATE and DELETE (SQLite syntax; the PostgreSQL backend carries its own trigger functions).
constexpr std::string_view kReceipts = R"sql(
CREATE TABLE receipt_signing_keys (
  key_id TEXT PRIMARY KEY,
  public_key BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE receipts (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  seq INTEGER NOT NULL,
  payload BLOB NOT NULL,
  signature BLOB NOT NULL,
  disclosures BLOB NOT NULL,
  hash BLOB NOT NULL,
  UNIQUE(tenant, seq)
);
CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts are append-only'); END;
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts are append-only'); END;
CREATE TRIGGER receipt_signing_keys_no_update BEFORE UPDATE ON receipt_signing_keys
BEGIN SELECT RAISE(ABORT, 'receipt signing keys are append-only'); END;
CREATE TRIGGER receipt_signing_keys_no_delete BEFORE DELETE ON receipt_signing_keys
BEGIN SELECT RAISE(ABORT, 'receipt signing keys are append-only'); END;
)sql";

// Migration 5: identity. Times are unix seconds. Every credential is stored as the SHA-256 of a
// 256-bit random token (magic links, refresh tokens, invites) and looked up by that hash, so the
// database never holds one in clear. A user is one email across tenants; what they may do in a
// tenant is their membership's role. A session belongs to one user in one tenant; its version is
// bumped by anything that must end or change its access tokens at once (logout, removal, role
// change), and refresh tokens of a session form one family: presenting a rotated one revokes it.
// The TOTP seed is sealed with the tenant-independent "identity" data key, bound to its user.
constexpr std::string_view kIdentity = R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  breakglass_enabled INTEGER NOT NULL DEFAULT 0,
  ip_allowlist TEXT NOT NULL DEFAULT ''
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE memberships (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  role TEXT NOT NULL,
  breakglass_designated INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id);
CREATE TABLE magic_links (
  token_hash BLOB PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER
);
CREATE INDEX magic_links_by_expiry ON magic_links(expires_at);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  mfa_verified_at INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER,
  revoked_reason TEXT
);
CREATE INDEX sessions_by_member ON sessions(tenant_id, user_id);
CREATE TABLE refresh_tokens (
  token_hash BLOB PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  generation INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_id);
CREATE TABLE invites (
  token_hash BLOB PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  email TEXT NOT NULL,
  role TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  accepted_at INTEGER
);
CREATE TABLE mfa_totp (
  user_id TEXT PRIMARY KEY REFERENCES users(id),
  sealed_seed BLOB NOT NULL,
  confirmed INTEGER NOT NULL DEFAULT 0,
  last_step INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE mfa_recovery_codes (
  user_id TEXT NOT NULL REFERENCES users(id),
  idx INTEGER NOT NULL,
  salt BLOB NOT NULL,
  code_hash BLOB NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (user_id, idx)
);
)sql";

// Migration 6: API keys. secret_hash is SHA-256 of the whole key text; the id (a primary key) is
// in the key, so verification is one lookup whatever the number of keys. scopes is a
// space-separated list of verbs, allowed_cidrs a comma-separated list (empty: any address).
// last_used_at is written in batches (identity/api_keys.h), not per request.
constexpr std::string_view kApiKeys = R"sql(
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  scopes TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  allowed_cidrs TEXT NOT NULL DEFAULT '',
  last_used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX api_keys_by_tenant ON api_keys(tenant_id);
)sql";

// Migration 7: break-glass grants. A grant belongs to one session of a designated member and
// widens what that session may do (scope_verbs, space-separated; scope_path_prefix for secret
// paths) until expires_at or ended_at, whichever comes first.
constexpr std::string_view kBreakglass = R"sql(
CREATE TABLE breakglass_grants (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  session_id TEXT NOT NULL REFERENCES sessions(id),
  reason TEXT NOT NULL,
  scope_verbs TEXT NOT NULL,
  scope_path_prefix TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at INTEGER,
  end_reason TEXT
);
CREATE INDEX breakglass_by_session ON breakglass_grants(session_id);
CREATE INDEX breakglass_open ON breakglass_grants(ended_at, expires_at);
)sql";

// Migration 8: tenant deletion. A deleted tenant keeps its row (its name stays taken, its ledger
// and receipts stay verifiable); deleted_at makes every credential of it fail.
constexpr std::string_view kTenantDeletion = R"sql(
ALTER TABLE tenants ADD COLUMN deleted_at INTEGER;
)sql";

// Migration 9: the secrets vault. tenant_data_keys lists each tenant's data keys (the keys
// themselves are keyring-wrapped in wrapped_keys under key_id) and how many seals each has made;
// the highest version below its seal limit seals new versions. A secret_versions row holds one
// version sealed with AES-256-GCM (nonce || ciphertext || tag) under data_key_id, with AAD binding
// tenant, path, version and key id; destroying a version sets sealed to NULL for good.
constexpr std::string_view kSecrets = R"sql(
CREATE TABLE tenant_data_keys (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  version INTEGER NOT NULL,
  key_id TEXT NOT NULL UNIQUE,
  seals INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, version)
);
CREATE TABLE secrets (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  path TEXT NOT NULL,
  current_version INTEGER NOT NULL,
  max_versions INTEGER NOT NULL,
  cas_required INTEGER NOT NULL DEFAULT 0,
  custom_metadata TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (tenant_id, path)
);
CREATE TABLE secret_versions (
  tenant_id TEXT NOT NULL,
  path TEXT NOT NULL,
  version INTEGER NOT NULL,
  data_key_id TEXT NOT NULL REFERENCES tenant_data_keys(key_id),
  sealed BLOB,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  deleted_at INTEGER,
  destroyed_at INTEGER,
  PRIMARY KEY (tenant_id, path, version),
  FOREIGN KEY (tenant_id, path) REFERENCES secrets(tenant_id, path)
);
)sql";

// Migration 10: path policies and groups. A policy is a named list of rules (JSON: [{"path":
// pattern, "capabilities": [...]}]) attached to members, API keys or groups of members; a
// principal's rules are those of every policy attached to it (for a member, also to its groups).
// data_rotation_jobs tracks `bulwark key rotate-data`: every version not yet sealed under
// target_key_id is resealed in batches, so a crashed run resumes where it stopped.
constexpr std::string_view kPathPolicies = R"sql(
CREATE TABLE path_policies (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  rules TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (tenant_id, name)
);
CREATE TABLE member_groups (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, name)
);
CREATE TABLE group_members (
  tenant_id TEXT NOT NULL,
  group_name TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  PRIMARY KEY (tenant_id, group_name, user_id),
  FOREIGN KEY (tenant_id, group_name) REFERENCES member_groups(tenant_id, name)
);
CREATE TABLE policy_attachments (
  tenant_id TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'api_key', 'group')),
  subject_id TEXT NOT NULL,
  attached_at INTEGER NOT NULL,
  attached_by TEXT NOT NULL,
  PRIMARY KEY (tenant_id, policy_name, subject_kind, subject_id),
  FOREIGN KEY (tenant_id, policy_name) REFERENCES path_policies(tenant_id, name)
);
CREATE INDEX policy_attachments_subject ON policy_attachments(tenant_id, subject_kind, subject_id);
CREATE TABLE data_rotation_jobs (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  target_key_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  resealed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, target_key_id)
);
)sql";

// Several nodes on one database (issue #6): shared rate-limit buckets, and on PostgreSQL the
// change notifications that keep every node's caches in step, plus WORM privileges.
constexpr std::string_view kCluster = R"sql(
CREATE TABLE rate_buckets (
  bucket TEXT PRIMARY KEY,
  tat INTEGER NOT NULL,
  idle_at INTEGER NOT NULL
);
CREATE INDEX rate_buckets_idle ON rate_buckets(idle_at);
CREATE TRIGGER audit_ledger_meta_no_update BEFORE UPDATE ON audit_ledger_meta
BEGIN SELECT RAISE(ABORT, 'audit ledger identity is write-once'); END;
CREATE TRIGGER audit_ledger_meta_no_delete BEFORE DELETE ON audit_ledger_meta
BEGIN SELECT RAISE(ABORT, 'audit ledger identity is write-once'); END;
)sql";

// Every committed change to state a node caches notifies channel bulwark_invalidate with
// "<kind>:<id>" (app/cluster_sync reads them): t = a tenant's settings or members, u = a user,
// s = a session, k = an API key, p = a tenant's path policies. NOTIFY is transactional: it is
// delivered on commit, never for a rolled-back change.
constexpr std::string_view kClusterPostgres[] = {
    R"sql(CREATE OR REPLACE FUNCTION bulwark_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('bulwark_invalidate', TG_ARGV[0] || ':' || COALESCE(to_jsonb(OLD) ->> TG_ARGV[1], ''));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('bulwark_invalidate', TG_ARGV[0] || ':' || COALESCE(to_jsonb(NEW) ->> TG_ARGV[1], ''));
  END IF;
  RETURN NULL;
END $$)sql",
    "CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON tenants FOR EACH ROW "
    "EXECUTE FUNCTION bulwark_notify_change('t', 'id')",
    "CREATE TRIGGER memberships_notify AFTER INSERT OR UPDATE OR DELETE ON memberships FOR EACH "
    "ROW "
    "EXECUTE FUNCTION bulwark_notify_change('t', 'tenant_id')",
    "CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users FOR EACH ROW "
    "EXECUTE FUNCTION bulwark_notify_change('u', 'id')",
    "CREATE TRIGGER sessions_notify AFTER UPDATE OF revoked_at, version, mfa_verified_at, "
    "absolute_expires_at, user_id, tenant_id OR DELETE ON sessions FOR EACH ROW "
    "EXECUTE FUNCTION bulwark_notify_change('s', 'id')",
    "CREATE TRIGGER breakglass_grants_notify AFTER INSERT OR UPDATE OR DELETE ON breakglass_grants "
    "FOR EACH ROW EXECUTE FUNCTION bulwark_notify_change('s', 'session_id')",
    "CREATE TRIGGER api_keys_notify AFTER UPDATE OF revoked_at, scopes, expires_at, allowed_cidrs, "
    "created_by, tenant_id, secret_hash OR DELETE ON api_keys FOR EACH ROW "
    "EXECUTE FUNCTION bulwark_notify_change('k', 'id')",
    "CREATE TRIGGER path_policies_notify AFTER INSERT OR UPDATE OR DELETE ON path_policies "
    "FOR EACH ROW EXECUTE FUNCTION bulwark_notify_change('p', 'tenant_id')",
    "CREATE TRIGGER policy_attachments_notify AFTER INSERT OR UPDATE OR DELETE ON "
    "policy_attachments "
    "FOR EACH ROW EXECUTE FUNCTION bulwark_notify_change('p', 'tenant_id')",
    "CREATE TRIGGER member_groups_notify AFTER INSERT OR UPDATE OR DELETE ON member_groups "
    "FOR EACH ROW EXECUTE FUNCTION bulwark_notify_change('p', 'tenant_id')",
    "CREATE TRIGGER group_members_notify AFTER INSERT OR UPDATE OR DELETE ON group_members "
    "FOR EACH ROW EXECUTE FUNCTION bulwark_notify_change('p', 'tenant_id')",
    // WORM: TRUNCATE skips row triggers, so it is refused by its own. Privileges: PUBLIC holds
    // none on the append-only tables; the application role holds only SELECT and INSERT there
    // (store/postgres/roles.h, `bulwark db migrate --grant-app-role`). The owner keeps its
    // privileges: PostgreSQL checks foreign keys into these tables as the owner, with a lock
    // that needs UPDATE.
    "CREATE TRIGGER audit_ledger_no_truncate BEFORE TRUNCATE ON audit_ledger FOR EACH STATEMENT "
    "EXECUTE FUNCTION bulwark_refuse('audit_ledger is append-only')",
    "CREATE TRIGGER audit_index_no_truncate BEFORE TRUNCATE ON audit_index FOR EACH STATEMENT "
    "EXECUTE FUNCTION bulwark_refuse('audit_index is append-only')",
    "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH "
    "STATEMENT EXECUTE FUNCTION bulwark_refuse('audit_checkpoints is append-only')",
    "CREATE TRIGGER receipts_no_truncate BEFORE TRUNCATE ON receipts FOR EACH STATEMENT "
    "EXECUTE FUNCTION bulwark_refuse('receipts are append-only')",
    "CREATE TRIGGER audit_signing_keys_no_truncate BEFORE TRUNCATE ON audit_signing_keys FOR EACH "
    "STATEMENT EXECUTE FUNCTION bulwark_refuse('audit signing keys are append-only')",
    "CREATE TRIGGER receipt_signing_keys_no_truncate BEFORE TRUNCATE ON receipt_signing_keys FOR "
    "EACH STATEMENT EXECUTE FUNCTION bulwark_refuse('receipt signing keys are append-only')",
    "CREATE TRIGGER audit_ledger_meta_no_truncate BEFORE TRUNCATE ON audit_ledger_meta FOR EACH "
    "STATEMENT EXECUTE FUNCTION bulwark_refuse('audit ledger identity is write-once')",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_ledger, audit_index, audit_checkpoints, "
    "audit_signing_keys, audit_ledger_meta, receipts, receipt_signing_keys FROM PUBLIC",
};

// Migration 12: one exporter per SIEM sink across nodes (audit/siem/exporter.h). The node whose
// id is in `owner` exports that sink until lease_until (Unix ms, the holder's clock); the others
// wait, and take over from `seq` once the lease has expired or was released (owner NULL).
constexpr std::string_view kExportLease = R"sql(
ALTER TABLE audit_export_cursors ADD COLUMN owner TEXT;
ALTER TABLE audit_export_cursors ADD COLUMN lease_until INTEGER;
)sql";

// Migration 13: LIST's prefix search (secrets::Vault::List, Transaction::BytewiseRange) as a
// range an index serves. SQLite's primary key (tenant_id, path) already compares paths as bytes;
// PostgreSQL's compares them in the database's collation, which the pattern operators cannot
// use. An index only: no column changes type, so statements prepared by nodes already running
// keep working (a node of the previous release that restarts refuses the newer schema, as after
// every migration). The build holds the writers' lock, as every migration does: audited
// requests wait for it (docs/operations.md).
constexpr std::string_view kSecretsPathPrefixPostgres[] = {
    "CREATE INDEX secrets_path_prefix ON secrets (tenant_id, path text_pattern_ops)",
};

// Migration 14: signing keys that rotate (keyring/signing_keys.h). Each kind (jwt, ledger,
// receipt) has a series of Ed25519 keys; the newest generation signs, every key not retired
// verifies. The private half is the keyring-wrapped data key wrapped_key_id (deleted when the key
// is retired); the public half and the kid (crypto::Ed25519KeyId) are here. A store from before
// has its one key per kind adopted as generation 1 when a server or tool first opens it.
constexpr std::string_view kSigningKeys = R"sql(
CREATE TABLE signing_keys (
  kind TEXT NOT NULL,
  generation INTEGER NOT NULL,
  kid TEXT NOT NULL,
  wrapped_key_id TEXT NOT NULL,
  public_key BLOB NOT NULL,
  created_at TEXT NOT NULL,
  retired_at TEXT,
  PRIMARY KEY (kind, generation),
  UNIQUE (kind, kid)
);
)sql";

// Every node reloads its signing keys when another rotates or retires one (app/cluster_sync.h,
// "g:<kind>").
constexpr std::string_view kSigningKeysPostgres[] = {
    "CREATE TRIGGER signing_keys_notify AFTER INSERT OR UPDATE ON signing_keys FOR EACH ROW "
    "EXECUTE FUNCTION bulwark_notify_change('g', 'kind')",
};

// Migration 15: a sign-in request for an address that belongs to no account writes a decoy link
// here, the same row a known address's link is in magic_links but naming no user (which
// magic_links' foreign key forbids), so both answers cost the same work (api/identity_routes.cc,
// RequestLink). Nothing reads these rows; magic_links::Purge removes them with expired links.
constexpr std::string_view kMagicLinkDecoys = R"sql(
CREATE TABLE magic_link_decoys (
  token_hash BLOB PRIMARY KEY,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER
);
CREATE INDEX magic_link_decoys_by_expiry ON magic_link_decoys(expires_at);
)sql";

// Migration 16: an API key's own rate limit (issue #22), set when it is created: the canonical
// text of a rate ("100/1m", stages/token_buckets.h); NULL for none. The key is held to it on every
// route, besides the `* api_key` rule (stages/rate_limit_stage.h).
constexpr std::string_view kApiKeyRateLimit = R"sql(
ALTER TABLE api_keys ADD COLUMN rate_limit TEXT;
)sql";

// Migration 17: a secret's delete_version_after (Vault KV v2), in seconds; 0: versions never
// expire. A version older than it reads as deleted (secrets/vault.h).
constexpr std::string_view kSecretVersionExpiry = R"sql(
ALTER TABLE secrets ADD COLUMN delete_version_after INTEGER NOT NULL DEFAULT 0;
)sql";

// Migration 18: single sign-on administration (src/sso/admin_store.h). sso_connections holds a
// tenant's OIDC connections, the client secret sealed under the tenant's SSO data key
// (sso/connections.h: AAD binding tenant, connection and key id); settings is JSON of what has no
// column. sso_domains holds the domains a tenant claimed and, once the DNS TXT record proved
// them, when; a domain is verified by one tenant at most (the partial unique index).
// sso_identities keys SSO accounts by (issuer, subject), never by email. tenants.require_sso
// refuses magic-link sign-in except to the break-glass owner account(s).
constexpr std::string_view kSsoAdmin = R"sql(
CREATE TABLE sso_connections (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  preset TEXT NOT NULL,
  issuer TEXT NOT NULL,
  client_id TEXT NOT NULL,
  settings TEXT NOT NULL,
  client_secret_sealed BLOB NOT NULL,
  secret_key_id TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  UNIQUE (tenant_id, issuer)
);
CREATE TABLE sso_domains (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  domain TEXT NOT NULL,
  token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  verified_at INTEGER,
  PRIMARY KEY (tenant_id, domain)
);
CREATE UNIQUE INDEX sso_domains_verified_once ON sso_domains(domain) WHERE verified_at IS NOT NULL;
CREATE TABLE sso_identities (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  connection_id TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_sign_in_at INTEGER NOT NULL,
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_by_user ON sso_identities(user_id);
ALTER TABLE tenants ADD COLUMN require_sso INTEGER NOT NULL DEFAULT 0;
)sql";

// Migration 19: SCIM 2.0 provisioning (src/scim/store.h). A tenant's SCIM bearer token is stored
// as the SHA-256 of its text, one per tenant (rotation replaces the row). A SCIM User has an id of
// the tenant's own (never the global user id, so tenants cannot correlate people), is linked to one
// global user (users are global by email; userName is that email), and keeps its writable
// attributes as JSON; suspended_role is the role its membership held when active went false.
// Groups keep displayName and externalId as JSON; their members are SCIM User ids of the tenant.
constexpr std::string_view kScim = R"sql(
CREATE TABLE scim_tokens (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
  id TEXT NOT NULL UNIQUE,
  token_hash BLOB NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE scim_users (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  user_name_key TEXT NOT NULL,
  doc TEXT NOT NULL,
  active INTEGER NOT NULL,
  suspended_role TEXT,
  version INTEGER NOT NULL,
  created TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, user_name_key),
  UNIQUE (tenant_id, user_id)
);
CREATE TABLE scim_groups (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  version INTEGER NOT NULL,
  created TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE TABLE scim_group_members (
  tenant_id TEXT NOT NULL,
  group_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  PRIMARY KEY (tenant_id, group_id, member_id)
);
CREATE INDEX scim_group_members_by_member ON scim_group_members(tenant_id, member_id);
)sql";

// Migration 20: the SSO flow (src/sso/login_state.h, src/sso/flow_store.h). A sign-in attempt
// (state and browser binding as SHA-256, single-use, expiring); each session an SSO sign-in
// started, with the provider's session id and subject, for back-channel logout; and the logout
// tokens' jti already used (a hash), kept until they could no longer be accepted anyway.
constexpr std::string_view kSsoFlow = R"sql(
CREATE TABLE sso_login_states (
  state_hash BLOB PRIMARY KEY,
  binding_hash BLOB NOT NULL,
  tenant_id TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  redirect_after TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER
);
CREATE INDEX sso_login_states_by_expiry ON sso_login_states(expires_at);
CREATE TABLE sso_session_links (
  session_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  idp_sid TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX sso_session_links_by_sid ON sso_session_links(connection_id, idp_sid);
CREATE INDEX sso_session_links_by_subject ON sso_session_links(connection_id, subject);
CREATE TABLE sso_logout_jtis (
  connection_id TEXT NOT NULL,
  jti_hash BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (connection_id, jti_hash)
);
)sql";

constexpr Migration kMigrations[] = {
    {1, "foundation", kFoundation},
    {2, "audit_ledger", kAuditLedger},
    {3, "audit_export_cursors", kAuditExportCursors},
    {4, "receipts", kReceipts},
    {5, "identity", kIdentity},
    {6, "api_keys", kApiKeys},
    {7, "breakglass", kBreakglass},
    {8, "tenant_deletion", kTenantDeletion},
    {9, "secrets", kSecrets},
    {10, "path_policies", kPathPolicies},
    {11, "cluster", kCluster, kClusterPostgres},
    {12, "export_lease", kExportLease},
    {13, "secrets_path_prefix", "", kSecretsPathPrefixPostgres},
    {14, "signing_keys", kSigningKeys, kSigningKeysPostgres},
    {15, "magic_link_decoys", kMagicLinkDecoys},
    {16, "api_key_rate_limit", kApiKeyRateLimit},
    {17, "secret_version_expiry", kSecretVersionExpiry},
    {18, "sso_admin", kSsoAdmin},
    {19, "scim", kScim},
    {20, "sso_flow", kSsoFlow},
};

}  // namespace

std::span<const Migration> AllMigrations() { return kMigrations; }

int LatestSchemaVersion() { return AllMigrations().back().version; }

}  // namespace bulwark::store
