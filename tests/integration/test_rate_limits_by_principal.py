"""Rate limits keyed by a credential or a tenant are charged to what authentication established
(issue #22, defect 3): an API key's limit holds whichever header carries the key (X-Vault-Token
included), a tenant's budget is spent only by its own authenticated principals (never by an
anonymous request naming it in X-Tenant-ID, and also when the header is omitted), and a key may
carry a rate of its own, set when it is created."""
import json

from conftest import assert_error_body
from identity_helpers import LOOSE_RULES, bearer, post, state, step_up
from vault_helpers import api_key, owner, put_policy

WHOAMI = "/api/v1/whoami"


def vault_read(srv, key, path="app/missing"):
    return srv.get(f"/v1/secret/data/{path}", headers={"X-Vault-Token": key})


def test_the_vault_surface_is_held_to_the_keys_limit_whichever_header_carries_it(make_server):
    srv = make_server(dev=True, settings={"rate_limit.rules": LOOSE_RULES + ["* api_key 5/1h"]})
    _, tokens, codes = owner(srv)
    put_policy(srv, tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
    key, _ = api_key(srv, tokens, codes, policy="all")
    other, _ = api_key(srv, tokens, codes, policy="all")
    for _ in range(5):
        assert vault_read(srv, key).status == 404  # allowed: the path holds no secret
    res = vault_read(srv, key)
    assert res.status == 429, res
    assert json.loads(res.body)["errors"][0].startswith("rate_limited")
    assert int(res.header("Retry-After")) >= 1
    # One bucket per key, whichever header carried it.
    res = srv.get(WHOAMI, headers={"X-API-Key": key})
    assert_error_body(res, 429, "rate_limited")
    res = srv.get(WHOAMI, headers={"Authorization": f"Bearer {key}"})
    assert_error_body(res, 429, "rate_limited")
    # Another key of the same tenant keeps its own budget.
    assert vault_read(srv, other).status == 404
    assert srv.get(WHOAMI, headers={"X-API-Key": other}).status == 200


def test_a_made_up_or_wrong_key_cannot_spend_a_keys_budget(make_server):
    srv = make_server(dev=True, settings={"rate_limit.rules": LOOSE_RULES + ["* api_key 3/1h"]})
    _, tokens, codes = owner(srv)
    key, key_id = api_key(srv, tokens, codes, scopes=["secrets.read"])
    # The key's id with a wrong secret: refused, and the key's budget untouched.
    forged = key[:4 + 16] + "_" + "A" * 43 + "_AAAAAA"
    assert forged.split("_")[1] == key_id
    for _ in range(10):
        assert srv.get(WHOAMI, headers={"X-Vault-Token": forged}).status == 401
        assert vault_read(srv, forged).status == 403
    for _ in range(3):
        assert srv.get(WHOAMI, headers={"X-API-Key": key}).status == 200
    assert srv.get(WHOAMI, headers={"X-API-Key": key}).status == 429
    assert vault_read(srv, key).status == 429  # the holder's own Vault requests share it


def test_a_tenants_budget_is_spent_only_by_its_own_principals(make_server):
    srv = make_server(dev=True, settings={"rate_limit.rules": LOOSE_RULES + [f"GET {WHOAMI} tenant 5/1h"]})
    doc, tokens, codes = owner(srv)
    victim = doc["tenant_id"]
    # Anonymous requests naming the victim tenant: refused, and the victim's budget untouched.
    for _ in range(20):
        res = srv.get(WHOAMI, headers={"X-Tenant-ID": victim})
        assert res.status == 401, res
    # The tenant's own members spend it, with or without the header.
    for i in range(5):
        extra = {"X-Tenant-ID": victim} if i % 2 else {}
        res = srv.get(WHOAMI, headers=bearer(tokens, extra))
        assert res.status == 200, res
    # Spent: the sixth is refused though it names no tenant, and so is an API key of the tenant.
    res = srv.get(WHOAMI, headers=bearer(tokens))
    assert_error_body(res, 429, "rate_limited")
    assert int(res.header("Retry-After")) >= 1
    key, _ = api_key(srv, tokens, codes, scopes=["secrets.read"])
    assert_error_body(srv.get(WHOAMI, headers={"X-API-Key": key}), 429, "rate_limited")
    # Another tenant is not affected.
    _, other_tokens, _ = owner(srv, "globex")
    assert srv.get(WHOAMI, headers=bearer(other_tokens)).status == 200


def create_key(srv, tokens, codes, **fields):
    step_up(srv, tokens, codes)
    return post(srv, "/api/v1/apikeys", {"name": "ci", "scopes": ["secrets.read"], **fields}, bearer(tokens))


def test_a_key_created_with_its_own_rate_is_held_to_it(make_server):
    srv = make_server(dev=True, settings={"rate_limit.rules": LOOSE_RULES})
    _, tokens, codes = owner(srv)
    res = create_key(srv, tokens, codes, rate_limit="100/60s")
    assert res.status == 201, res
    assert res.json()["rate_limit"] == "100/1m"  # canonical form
    res = create_key(srv, tokens, codes, rate_limit="3/1h")
    assert res.status == 201, res
    slow, slow_id = res.json()["key"], res.json()["id"]
    plain = create_key(srv, tokens, codes).json()
    assert plain["rate_limit"] is None
    listed = {k["id"]: k for k in srv.get("/api/v1/apikeys", headers=bearer(tokens)).json()["api_keys"]}
    assert listed[slow_id]["rate_limit"] == "3/1h" and listed[plain["id"]]["rate_limit"] is None
    for _ in range(3):
        assert srv.get(WHOAMI, headers={"X-API-Key": slow}).status == 200
    res = srv.get(WHOAMI, headers={"X-API-Key": slow})
    assert_error_body(res, 429, "rate_limited")
    assert int(res.header("Retry-After")) > 60 * 10  # one more every 20 minutes
    res = vault_read(srv, slow)
    assert res.status == 429, res
    # Other keys are not held to it (the default `* api_key 600/1m` only).
    for _ in range(10):
        assert srv.get(WHOAMI, headers={"X-API-Key": plain["key"]}).status == 200


BAD_RATES = ["0/1m", "abc", "5/0s", "5/1d", "1000001/1s", "", "5/1m ", " 5/1m", "-5/1m", "5/25h",
             "5/1M", "5//1m", "99999999999999999999/1s", "5/1m\n"]


def test_a_bad_rate_is_a_stable_400_and_stores_nothing(make_server):
    srv = make_server(dev=True, settings={"rate_limit.rules": LOOSE_RULES})
    _, tokens, codes = owner(srv)
    step_up(srv, tokens, codes)
    before = state(srv)
    for value in BAD_RATES:
        res = post(srv, "/api/v1/apikeys", {"name": "ci", "scopes": ["secrets.read"], "rate_limit": value},
                   bearer(tokens))
        assert_error_body(res, 400, "invalid_rate_limit")
    # Not a string at all: the body's shape is wrong.
    for value in [5, None, ["5/1m"], {"rate": "5/1m"}, True]:
        res = post(srv, "/api/v1/apikeys", {"name": "ci", "scopes": ["secrets.read"], "rate_limit": value},
                   bearer(tokens))
        assert_error_body(res, 400, "invalid_body")
    assert state(srv) == before
