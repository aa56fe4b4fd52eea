"""Helpers for the identity integration tests: tenants via the CLI, sign-in through the dev outbox,
TOTP codes from the real `oathtool`, and read-only looks at the store (pg_helpers.db_for).

Not collected by pytest (the name does not start with test_)."""
import json
import re
import subprocess
import time

from conftest import assert_error_body, run_cli
from pg_helpers import db_for, query

JSON = {"Content-Type": "application/json"}
# All tests come from 127.0.0.1: every test but the rate-limit ones uses these loose rules.
LOOSE_RULES = [
    "POST /api/v1/auth/request ip 1000/1m",
    "POST /api/v1/auth/request email 1000/1m",
    "POST /api/v1/auth/verify ip 1000/1m",
    "POST /api/v1/auth/accept-invite ip 1000/1m",
    "POST /api/v1/auth/refresh ip 1000/1m",
    "POST /api/v1/auth/mfa/verify ip 1000/1m",
]
LOOSE = {"rate_limit.rules": LOOSE_RULES}
MAGIC_RE = re.compile(r"bwm_[A-Za-z0-9_-]{43}")
INVITE_RE = re.compile(r"bwi_[A-Za-z0-9_-]{43}")
RECOVERY_RE = re.compile(r"^\d+-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")
STEP = 30
# Identity tables whose rows a refused request must leave alone. sessions.last_seen_at moves on
# every authenticated request, so it is left out of the comparison.
STATE_TABLES = ["tenants", "users", "memberships", "magic_links", "sessions", "refresh_tokens",
                "invites", "mfa_totp", "mfa_recovery_codes", "receipts", "api_keys", "secrets",
                "secret_versions", "path_policies", "policy_attachments", "member_groups", "group_members"]
VOLATILE = {("sessions", "last_seen_at"), ("api_keys", "last_used_at")}


def bearer(tokens_or_access, extra=None):
    access = tokens_or_access["access_token"] if isinstance(tokens_or_access, dict) else tokens_or_access
    h = {"Authorization": f"Bearer {access}"}
    h.update(extra or {})
    return h


def post(srv, path, doc=None, headers=None, raw=None):
    """POST with a JSON body (doc), a raw body (raw), or an empty body (Content-Length: 0)."""
    h = dict(headers or {})
    if raw is not None:
        body = raw
    elif doc is not None:
        h = {**JSON, **h}
        body = json.dumps(doc)
    else:
        body = ""
    return srv.request("POST", path, headers=h, body=body)


def send_json(srv, method, path, doc, headers=None):
    return srv.request(method, path, headers={**JSON, **(headers or {})}, body=json.dumps(doc))


def create_tenant(srv, name, owner):
    res = run_cli(["tenant", "create", "--dev", *srv.store_args(), "--name", name, "--owner", owner])
    assert res.returncode == 0, res
    doc = json.loads(res.stdout)
    assert set(doc) == {"tenant_id", "name", "owner_user_id"}, doc
    assert doc["name"] == name and doc["tenant_id"].startswith("tnt_"), doc
    return doc


def outbox(srv):
    res = srv.get("/api/v1/local/outbox")
    assert res.status == 200, res
    return res.json()["messages"]


def wait_mail(srv, to, regex, seen=0, timeout=5.0):
    """The token (regex) of the newest mail to `to` once there are more than `seen` such mails."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [m for m in outbox(srv) if m["to"] == to]
        if len(mine) > seen:
            m = regex.search(mine[-1]["text"])
            assert m, mine[-1]
            return m.group(0)
        if time.monotonic() > deadline:
            raise AssertionError(f"no new mail to {to} within {timeout}s (had {seen})")
        time.sleep(0.02)


def mail_count(srv, to=None):
    return len([m for m in outbox(srv) if to is None or m["to"] == to])


def request_link(srv, email):
    seen = mail_count(srv, email)
    res = post(srv, "/api/v1/auth/request", {"email": email})
    assert res.status == 202, res
    return wait_mail(srv, email, MAGIC_RE, seen)


def verify(srv, token, tenant=None):
    doc = {"token": token}
    if tenant is not None:
        doc["tenant"] = tenant
    return post(srv, "/api/v1/auth/verify", doc)


def sign_in(srv, email, tenant=None):
    res = verify(srv, request_link(srv, email), tenant)
    assert res.status == 200, res
    return res.json()


def invite(srv, tokens, email, role):
    """An invitation by a stepped-up member; returns the invite token from the mail."""
    seen = mail_count(srv, email)
    res = post(srv, "/api/v1/invites", {"email": email, "role": role}, bearer(tokens))
    assert res.status == 201, res
    doc = res.json()
    assert doc["email"] == email and doc["role"] == role and doc["id"], doc
    return wait_mail(srv, email, INVITE_RE, seen)


def accept(srv, invite_token):
    res = post(srv, "/api/v1/auth/accept-invite", {"token": invite_token})
    assert res.status == 200, res
    return res.json()


def totp(secret, at=None):
    """The real oathtool's TOTP code for the step holding unix time `at` (now by default)."""
    args = ["oathtool", "--totp", "--base32"]
    if at is not None:
        args += ["-N", f"@{int(at)}"]
    out = subprocess.run(args + [secret], capture_output=True, text=True, timeout=10, check=True)
    code = out.stdout.strip()
    assert re.fullmatch(r"\d{6}", code), out
    return code


def wrong_code(secret):
    """A six-digit code that is valid for none of the steps around now."""
    now = time.time()
    valid = {totp(secret, now + d * STEP) for d in (-2, -1, 0, 1, 2)}
    for cand in ("000000", "111111", "222222", "333333", "444444", "555555"):
        if cand not in valid:
            return cand
    raise AssertionError("unreachable")


def enroll(srv, tokens):
    """TOTP enrollment and confirmation, then a step-up with one recovery code (confirmation itself
    is not a step-up); returns (secret, the remaining recovery codes)."""
    res = post(srv, "/api/v1/auth/mfa/totp", headers=bearer(tokens))
    assert res.status == 201, res
    secret = res.json()["secret"]
    res = post(srv, "/api/v1/auth/mfa/totp/confirm", {"code": totp(secret)}, bearer(tokens))
    assert res.status == 200, res
    codes = res.json()["recovery_codes"]
    step_up(srv, tokens, codes)
    return secret, codes


def step_up(srv, tokens, codes):
    """A step-up with a fresh recovery code (independent of the TOTP step clock)."""
    res = post(srv, "/api/v1/auth/mfa/verify", {"code": codes.pop()}, bearer(tokens))
    assert res.status == 200, res
    return res


def members(srv, tokens):
    res = srv.get("/api/v1/members", headers=bearer(tokens))
    assert res.status == 200, res
    return sorted((m["user_id"], m["email"], m["role"]) for m in res.json()["members"])


def state(srv):
    """The identity tables (without volatile columns), read-only while the server runs."""
    with db_for(srv, readonly=True) as db:
        out = {}
        for table in STATE_TABLES:
            keep = [c for c in db.columns(table) if (table, c) not in VOLATILE]
            out[table] = sorted(db.query(f"SELECT {', '.join(keep)} FROM {table}"), key=repr)
        return out


def ledger(srv):
    """Every audit entry (parsed), in order."""
    with db_for(srv, readonly=True) as db:
        return [json.loads(e) for (e,) in db.query("SELECT entry FROM audit_ledger ORDER BY seq")]


def receipt_kinds(srv):
    """The kind of every stored receipt, in no particular order."""
    return [json.loads(p)["kind"] for (p,) in query(srv, "SELECT payload FROM receipts")]


def assert_401(res):
    """A refused credential: 401 in the one error shape with one of the credential codes."""
    assert res.status == 401, res
    code = res.json()["error"]["code"]
    assert code in {"authentication_required", "invalid_token", "invalid_refresh_token", "session_revoked",
                    "token_expired"}, res
    assert_error_body(res, 401, code)
    return code
