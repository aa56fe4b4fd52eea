"""The Vault surface as the clients people already run speak to it (issue #23, item 1): exactly
what Go's Vault API client (hashicorp/vault api/, so the vault CLI, Agent, consul-template, the
Terraform provider) sends - no Content-Type, the sys/internal/ui/mounts probe first, then data/
paths by what it learns; what hvac >= 1.0 sends for patch, read_configuration and list; hvac 0.11's
Client.list(); node-vault with noCustomHTTPVerbs; Ansible's community.hashi_vault vault_list and
vault_kv2_get. Every bad input is a stable 4xx that changes nothing stored."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import hvac
import pytest
import requests
from identity_helpers import LOOSE, bearer
from vault_helpers import api_key, owner, put_policy

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "tests" / "peers" / "node_modules"


@pytest.fixture
def srv(make_server):
    return make_server(dev=True, settings=LOOSE)


def full_access(srv, tenant="acme"):
    """(owner tokens, api key, key id) with a policy granting everything."""
    _, tokens, codes = owner(srv, tenant)
    put_policy(srv, tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
    key, key_id = api_key(srv, tokens, codes, policy="all")
    return tokens, key, key_id


def go_headers(key):
    """The headers hashicorp/vault's api.Client sets on every request (api/client.go NewRequest:
    X-Vault-Token and X-Vault-Request; Go's net/http adds User-Agent). No Content-Type: the Go
    client's SetJSONBody never sets one."""
    return {"X-Vault-Token": key, "X-Vault-Request": "true", "User-Agent": "Go-http-client/1.1",
            "Accept-Encoding": "gzip"}


def errors(res, status, code):
    assert res.status == status, res
    doc = res.json()
    assert list(doc) == ["errors"] and len(doc["errors"]) == 1, doc
    assert doc["errors"][0].startswith(code + ": "), doc
    return doc["errors"][0]


def stored(srv, key, path):
    """What the vault holds at `path`: the current value and the metadata (None when absent)."""
    h = go_headers(key)
    data = srv.request("GET", f"/v1/secret/data/{path}", h)
    meta = srv.request("GET", f"/v1/secret/metadata/{path}", h)
    return (data.status, data.json()["data"] if data.status == 200 else None,
            meta.json()["data"] if meta.status == 200 else None)


def test_go_client_wire_form_kv_put_get_list_patch_without_content_type(srv):
    """`vault kv put secret/app/db password=s3` and friends, request for request: the preflight
    probe (command/kv_helpers.go kvPreflightVersionRequest; newer CLIs ask sys/mounts-all), then
    api/logical.go's Write - PUT data/ with {"data":..., "options":{}} and no Content-Type - Read,
    List (GET ?list=true), JSONMergePatch (PATCH, application/merge-patch+json), token
    renew-self."""
    tokens, key, key_id = full_access(srv)
    h = go_headers(key)
    for probe in ("/v1/sys/internal/ui/mounts/secret/app/db", "/v1/sys/mounts-all/secret/app/db"):
        res = srv.request("GET", probe, h)
        assert res.status == 200, res
        mount = res.json()["data"]
        assert mount["path"] == "secret/" and mount["options"] == {"version": "2"}, mount
        assert mount["type"] == "kv"
    # A path under no mount is 404: the Go client then falls back to KV v1, as against a Vault.
    errors(srv.request("GET", "/v1/sys/internal/ui/mounts/other/x", h), 404, "unknown_mount")
    body = json.dumps({"data": {"password": "s3", "n": 12345678901234567890123}, "options": {}})
    res = srv.request("PUT", "/v1/secret/data/app/db", h, body)
    assert res.status == 200, res
    assert res.json()["data"]["version"] == 1
    res = srv.request("GET", "/v1/secret/data/app/db", h)
    assert res.status == 200, res
    assert b'"n":12345678901234567890123' in res.raw
    assert res.json()["data"]["data"]["password"] == "s3"
    # Logical().List: GET with ?list=true (api/logical.go); older clients and curl use LIST.
    res = srv.request("GET", "/v1/secret/metadata/app/?list=true", h)
    assert res.status == 200 and res.json()["data"]["keys"] == ["db"], res
    res = srv.request("LIST", "/v1/secret/metadata/app/", h)
    assert res.status == 200 and res.json()["data"]["keys"] == ["db"], res
    # Any Content-Type is read as JSON alike (Vault ignores it).
    res = srv.request("POST", "/v1/secret/data/app/other", {**h, "Content-Type": "text/plain"},
                      '{"data":{"a":"1"}}')
    assert res.status == 200, res
    patch = {**h, "Content-Type": "application/merge-patch+json"}
    res = srv.request("PATCH", "/v1/secret/data/app/db", patch,
                      json.dumps({"data": {"user": "ada", "password": None}, "options": {}}))
    assert res.status == 200, res
    assert res.json()["data"]["version"] == 2
    value = srv.request("GET", "/v1/secret/data/app/db", h).json()["data"]["data"]
    assert value == {"n": 12345678901234567890123, "user": "ada"}
    res = srv.request("PUT", "/v1/secret/metadata/app/db", h, '{"max_versions":5}')
    assert res.status == 204, res
    # token lookup-self: an id and accessor that name the key, never the key itself.
    me = srv.request("GET", "/v1/auth/token/lookup-self", h).json()["data"]
    assert me["id"] == key_id and me["accessor"] == key_id and me["renewable"] is False
    assert key not in json.dumps(me)
    # A session's access token as the Vault token: its id is the session's, not the token.
    me = srv.request("GET", "/v1/auth/token/lookup-self",
                     go_headers(tokens["access_token"])).json()["data"]
    assert me["id"] and me["id"] == me["accessor"] and me["id"] != key_id
    assert tokens["access_token"] not in json.dumps(me)
    # renew-self (api TokenAuth.RenewSelf: PUT {"increment": N}): not renewable, as Vault answers.
    errors(srv.request("PUT", "/v1/auth/token/renew-self", h, '{"increment":3600}'), 400,
           "lease_not_renewable")
    errors(srv.request("POST", "/v1/auth/token/renew-self", h, ""), 400, "lease_not_renewable")


def test_bodies_without_content_type_keep_every_limit_and_change_nothing(srv, store_backend):
    _, key, _ = full_access(srv)
    h = go_headers(key)
    assert srv.request("PUT", "/v1/secret/data/app/x", h, '{"data":{"a":"1"}}').status == 200
    before = stored(srv, key, "app/x")
    errors(srv.request("PUT", "/v1/secret/data/app/x", h, '{"data":'), 400, "malformed_json")
    errors(srv.request("PUT", "/v1/secret/data/app/x", h, ""), 400, "invalid_value")  # {} read
    errors(srv.request("PUT", "/v1/secret/data/app/x", h, '{"data":{"a":"1","a":"2"}}'), 400,
           "duplicate_key")
    errors(srv.request("PUT", "/v1/secret/data/app/x", h, b'{"data":{"a":"\xff"}}'), 400,
           "invalid_utf8")
    deep = '{"data":' + '{"a":' * 40 + '"x"' + "}" * 40 + "}"
    errors(srv.request("PUT", "/v1/secret/data/app/x", h, deep), 400, "malformed_json")
    res = srv.request("PUT", "/v1/secret/data/app/x", h,
                      json.dumps({"data": {"blob": "x" * (600 * 1024)}}))
    assert res.status == 413, res
    assert stored(srv, key, "app/x") == before


def test_kv_v1_calls_say_the_mount_is_kv_v2(srv, store_backend):
    _, key, _ = full_access(srv)
    h = go_headers(key)
    assert srv.request("PUT", "/v1/secret/data/app/db", h, '{"data":{"a":"1"}}').status == 200
    before = stored(srv, key, "app/db")
    for method, body in (("GET", None), ("PUT", '{"a":"2"}'), ("POST", '{"a":"2"}'),
                         ("DELETE", None), ("LIST", None)):
        msg = errors(srv.request(method, "/v1/secret/app/db", h, body), 404, "kv_v2_mount")
        assert "KV v2" in msg and "secret/data/" in msg, msg
    # Unauthenticated, it is the usual refusal, not the explanation.
    errors(srv.request("GET", "/v1/secret/app/db", {}), 403, "authentication_required")
    assert stored(srv, key, "app/db") == before


def test_list_accepts_vaults_booleans_and_refuses_others(srv, store_backend):
    _, key, _ = full_access(srv)
    h = go_headers(key)
    for p in ("app/a", "app/b/c"):
        assert srv.request("PUT", f"/v1/secret/data/{p}", h, '{"data":{"v":"1"}}').status == 200
    for v in ("true", "True", "TRUE", "1", "t"):
        res = srv.request("GET", f"/v1/secret/metadata/app?list={v}", h)
        assert res.status == 200 and res.json()["data"]["keys"] == ["a", "b/"], (v, res)
    res = srv.request("GET", "/v1/secret/metadata?list=1", h)
    assert res.status == 200 and res.json()["data"]["keys"] == ["app/"], res
    # false reads the metadata, as without it.
    res = srv.request("GET", "/v1/secret/metadata/app/a?list=false", h)
    assert res.status == 200 and res.json()["data"]["current_version"] == 1, res
    before = stored(srv, key, "app/a")
    for bad in ("yes", "2", "", "truee"):
        errors(srv.request("GET", f"/v1/secret/metadata/app?list={bad}", h), 400, "invalid_query")
    assert stored(srv, key, "app/a") == before
    # hvac 0.11 (Debian's) Client.list(): GET ?list=True.
    c = hvac.Client(url=srv.url, token=key, timeout=10)
    assert c.list("secret/metadata/app")["data"]["keys"] == ["a", "b/"]


def test_hvac_1x_requests_read_configuration_list_patch_and_mounts(srv, store_backend):
    """The requests hvac >= 1.0 sends (hvac/api/secrets_engines/kv_v2.py and hvac/v1/__init__.py
    at hvac's main branch), sent with requests since Debian ships hvac 0.11: read_configuration is
    GET /v1/secret/config; configure POSTs {"max_versions": 10, "delete_version_after": "0s"};
    list_secrets is the LIST method on metadata/; Client.list() is GET ?list=True; patch() is a
    read then a write with cas = the version read (hvac does not use PATCH);
    sys.list_mounted_secrets_engines is GET /v1/sys/mounts, read_mount_configuration GET
    /v1/sys/mounts/secret/tune."""
    _, key, _ = full_access(srv)
    s = requests.Session()
    s.headers.update({"X-Vault-Token": key, "X-Vault-Request": "true"})
    u = srv.url
    res = s.get(f"{u}/v1/secret/config", timeout=10)
    assert res.status_code == 200, res.text
    assert res.json()["data"] == {"cas_required": False, "delete_version_after": "0s",
                                  "max_versions": 10}
    res = s.post(f"{u}/v1/secret/config", json={"max_versions": 10, "delete_version_after": "0s"},
                 timeout=10)
    assert res.status_code == 204, res.text
    assert s.post(f"{u}/v1/secret/data/app/db", json={"data": {"p": "1"}, "options": {}},
                  timeout=10).status_code == 200
    res = s.request("LIST", f"{u}/v1/secret/metadata/app", timeout=10)
    assert res.json()["data"]["keys"] == ["db"], res.text
    res = s.get(f"{u}/v1/secret/metadata/app", params={"list": True}, timeout=10)
    assert "list=True" in res.url and res.json()["data"]["keys"] == ["db"], res.text
    # patch(): read, update the dict, write with cas.
    current = s.get(f"{u}/v1/secret/data/app/db", timeout=10).json()["data"]
    value = {**current["data"], "user": "ada"}
    res = s.post(f"{u}/v1/secret/data/app/db",
                 json={"data": value, "options": {"cas": current["metadata"]["version"]}},
                 timeout=10)
    assert res.status_code == 200 and res.json()["data"]["version"] == 2, res.text
    mounts = s.get(f"{u}/v1/sys/mounts", timeout=10).json()
    assert mounts["data"]["secret/"]["options"] == {"version": "2"}
    assert mounts["secret/"]["type"] == "kv"  # Vault repeats the mounts at the top level
    tune = s.get(f"{u}/v1/sys/mounts/secret/tune", timeout=10).json()
    assert tune["data"]["options"] == {"version": "2"} and tune["options"] == {"version": "2"}
    # The same through Debian's hvac 0.11, which has these calls.
    c = hvac.Client(url=u, token=key, timeout=10)
    assert c.secrets.kv.v2.read_configuration()["data"]["max_versions"] == 10
    assert c.sys.list_mounted_secrets_engines()["data"]["secret/"]["options"]["version"] == "2"


def test_bad_config_values_are_refused_and_change_nothing(srv, store_backend):
    _, key, _ = full_access(srv)
    h = go_headers(key)
    before = srv.request("GET", "/v1/secret/config", h).json()["data"]
    for body, code in (('{"max_versions":"10"}', "invalid_config"),
                       ('{"max_versions":-1}', "invalid_config"),
                       ('{"max_versions":1001}', "invalid_config"),
                       ('{"cas_required":"yes"}', "invalid_config"),
                       ('{"delete_version_after":5}', "invalid_config"),
                       ('{"max_versions":3}', "unsupported_setting"),
                       ('{"cas_required":true}', "unsupported_setting"),
                       ('{"delete_version_after":"1h"}', "unsupported_setting"),
                       ('{"max_version":3}', "invalid_body"),
                       ('[1]', "invalid_body")):
        errors(srv.request("POST", "/v1/secret/config", h, body), 400, code)
    errors(srv.request("GET", "/v1/kv/config", h), 404, "unknown_mount")
    assert srv.request("GET", "/v1/secret/config", h).json()["data"] == before


def test_merge_patch_follows_rfc_7396_and_refuses_bad_patches(srv, store_backend):
    _, key, _ = full_access(srv)
    h = go_headers(key)
    mp = {**h, "Content-Type": "application/merge-patch+json"}
    doc = {"a": "1", "nested": {"x": "1", "y": {"z": "2"}}, "list": ["1", "2"]}
    assert srv.request("PUT", "/v1/secret/data/app/p", h, json.dumps({"data": doc})).status == 200
    res = srv.request("PATCH", "/v1/secret/data/app/p", mp, json.dumps(
        {"data": {"a": None, "nested": {"y": {"w": "3"}, "x": None}, "list": ["3"], "new": {"k": 1}},
         "options": {"cas": 1}}))
    assert res.status == 200 and res.json()["data"]["version"] == 2, res
    got = srv.request("GET", "/v1/secret/data/app/p", h).json()["data"]["data"]
    assert got == {"nested": {"y": {"z": "2", "w": "3"}}, "list": ["3"], "new": {"k": 1}}
    before = stored(srv, key, "app/p")
    bad = [
        (h, '{"data":{"b":"1"}}', 415, "unsupported_media_type"),
        ({**h, "Content-Type": "application/json"}, '{"data":{"b":"1"}}', 415,
         "unsupported_media_type"),
        (mp, '{"data":"text"}', 400, "invalid_value"),
        (mp, '{"data":{"b":"1"},"options":{"cas":1}}', 400, "cas_mismatch"),
        (mp, '{"data":{"b":"1"},"options":{"cas":"2"}}', 400, "invalid_cas"),
        (mp, '{"data":{"b":"1"},"options":{"ttl":"1h"}}', 400, "invalid_body"),
        (mp, '{"data":{"b":"1"},"extra":1}', 400, "invalid_body"),
        (mp, '{"data":{', 400, "malformed_json"),
        (mp, '', 400, "invalid_value"),
    ]
    for headers, body, status, code in bad:
        errors(srv.request("PATCH", "/v1/secret/data/app/p", headers, body), status, code)
    errors(srv.request("PATCH", "/v1/secret/data/app/missing", mp, '{"data":{"b":"1"}}'), 404,
           "secret_not_found")
    assert stored(srv, key, "app/p") == before
    assert stored(srv, key, "app/missing")[0] == 404
    # A secret that requires check-and-set takes a patch only with options.cas.
    assert srv.request("PUT", "/v1/secret/metadata/app/p", h, '{"cas_required":true}').status == 204
    before = stored(srv, key, "app/p")
    errors(srv.request("PATCH", "/v1/secret/data/app/p", mp, '{"data":{"b":"1"}}'), 400,
           "cas_required")
    assert stored(srv, key, "app/p") == before
    res = srv.request("PATCH", "/v1/secret/data/app/p", mp, '{"data":{"b":"1"},"options":{"cas":2}}')
    assert res.status == 200 and res.json()["data"]["version"] == 3, res


def test_subkeys_with_depth_and_version(srv, store_backend):
    _, key, _ = full_access(srv)
    h = go_headers(key)
    doc = {"a": "val-a-secret", "b": {"c": "val-c-secret", "d": {"e": 424242}}}
    assert srv.request("PUT", "/v1/secret/data/app/s", h, json.dumps({"data": doc})).status == 200
    assert srv.request("PUT", "/v1/secret/data/app/s", h, '{"data":{"only":"v2"}}').status == 200
    res = srv.request("GET", "/v1/secret/subkeys/app/s?version=1", h)
    assert res.status == 200, res
    assert res.json()["data"]["subkeys"] == {"a": None, "b": {"c": None, "d": {"e": None}}}
    assert res.json()["data"]["metadata"]["version"] == 1
    assert b"-secret" not in res.raw and b"424242" not in res.raw  # keys, never values
    res = srv.request("GET", "/v1/secret/subkeys/app/s?version=1&depth=1", h)
    assert res.json()["data"]["subkeys"] == {"a": None, "b": None}
    res = srv.request("GET", "/v1/secret/subkeys/app/s", h)
    assert res.json()["data"]["subkeys"] == {"only": None}
    errors(srv.request("GET", "/v1/secret/subkeys/app/s?depth=x", h), 400, "invalid_query")
    errors(srv.request("GET", "/v1/secret/subkeys/app/s?version=x", h), 400, "invalid_versions")
    errors(srv.request("GET", "/v1/secret/subkeys/app/none", h), 404, "secret_not_found")


def test_wrap_ttl_is_refused_never_answered_in_plaintext(srv, store_backend):
    _, key, _ = full_access(srv)
    h = go_headers(key)
    assert srv.request("PUT", "/v1/secret/data/app/w", h, '{"data":{"pw":"hunter2-secret"}}').status == 200
    before = stored(srv, key, "app/w")
    wrap = {**h, "X-Vault-Wrap-TTL": "60s"}
    res = srv.request("GET", "/v1/secret/data/app/w", wrap)
    errors(res, 400, "wrapping_unsupported")
    assert b"hunter2-secret" not in res.raw
    errors(srv.request("PUT", "/v1/secret/data/app/w", wrap, '{"data":{"pw":"changed"}}'), 400,
           "wrapping_unsupported")
    errors(srv.request("LIST", "/v1/secret/metadata/app", wrap), 400, "wrapping_unsupported")
    assert stored(srv, key, "app/w") == before


def test_health_honours_vaults_status_code_parameters(srv):
    assert srv.get("/v1/sys/health").status == 200
    res = srv.get("/v1/sys/health?activecode=218&standbyok=true")
    assert res.status == 218 and res.json()["initialized"] is True, res
    res = srv.get("/v1/sys/health?activecode=204")
    assert res.status == 204 and res.body == b"", res
    # A 204 says no Content-Length (RFC 9110 8.6), and no code without a body, or one asking for
    # credentials, is a health answer: a 304 "with a body" would be read by a keep-alive proxy
    # as the next response.
    assert "content-length" not in {k.lower() for k in res.headers}, res
    for code in ("304", "401", "407"):
        errors(srv.get(f"/v1/sys/health?activecode={code}"), 400, "invalid_query")
    assert srv.get("/v1/sys/health?standbycode=299&sealedcode=503&uninitcode=501"
                   "&performancestandbycode=473&drsecondarycode=472").status == 200
    for q in ("activecode=abc", "activecode=99", "activecode=600", "standbycode=x",
              "standbyok=maybe", "nosuch=1"):
        errors(srv.get(f"/v1/sys/health?{q}"), 400, "invalid_query")


def test_native_routes_without_a_body_take_none_an_empty_one_or_an_empty_object(srv):
    """`curl -XPOST` (no Content-Length at all), `-d ''` and `-d '{}'` alike on a route that takes
    no body; a non-empty body is still refused."""
    _, tokens, codes = owner(srv)
    put_policy(srv, tokens, codes, "p", {"dev/*": ["read"]})
    _, key_id = api_key(srv, tokens, codes)
    from identity_helpers import step_up
    path = f"/api/v1/policies/p/attachments/api_key/{key_id}"
    step_up(srv, tokens, codes)
    res = srv.raw((f"PUT {path} HTTP/1.1\r\nHost: {srv.address}\r\nConnection: close\r\n"
                   f"Authorization: Bearer {tokens['access_token']}\r\n\r\n").encode())
    assert res.status == 204, res
    for body, ct in (("", None), ("{}", "application/x-www-form-urlencoded"),
                     (" { } ", "application/json")):
        hdrs = bearer(tokens, {"Content-Type": ct} if ct else {})
        assert srv.request("DELETE", path, hdrs, body).status == 204
        assert srv.request("PUT", path, hdrs, body).status == 204
    res = srv.request("DELETE", path, bearer(tokens, {"Content-Type": "application/json"}),
                      '{"a":1}')
    assert res.status == 400 and res.json()["error"]["code"] == "unexpected_body", res
    # Still attached: the refused request changed nothing.
    res = srv.request("GET", "/api/v1/policies/p", bearer(tokens))
    assert key_id in json.dumps(res.json()), res
    # A GET still takes no body at all.
    res = srv.request("GET", "/api/v1/policies/p", bearer(tokens), "{}")
    assert res.status == 400 and res.json()["error"]["code"] == "unexpected_body", res


NODE_SCRIPT = r"""
const vault = require('node-vault')({apiVersion: 'v1', endpoint: process.env.ADDR,
                                     token: process.env.TOKEN, noCustomHTTPVerbs: true});
(async () => {
  const out = {};
  out.write = (await vault.write('secret/data/node/a', {data: {v: 'from-node'}})).data.version;
  await vault.write('secret/data/node/b', {data: {v: '2'}});
  out.read = (await vault.read('secret/data/node/a')).data.data;
  // update(): PATCH with application/merge-patch+json.
  out.update = (await vault.update('secret/data/node/a', {data: {w: 'patched'}})).data.version;
  out.patched = (await vault.read('secret/data/node/a')).data.data;
  out.list = (await vault.list('secret/metadata/node')).data.keys;
  out.mounts = (await vault.mounts()).data['secret/'].options;
  await vault.delete('secret/metadata/node/b');
  out.after = (await vault.list('secret/metadata/node')).data.keys;
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
"""


@pytest.mark.skipif(shutil.which("node") is None or not (NODE_MODULES / "node-vault").is_dir(),
                    reason="node or tests/peers/node_modules (npm ci in tests/peers) missing")
def test_node_vault_with_no_custom_http_verbs(srv, store_backend, tmp_path):
    """tests/peers' node-vault with noCustomHTTPVerbs: list is GET ?list=1, update() is PATCH with
    application/merge-patch+json, mounts() is GET sys/mounts."""
    _, key, _ = full_access(srv)
    script = tmp_path / "nv.js"
    script.write_text(NODE_SCRIPT)
    env = {"PATH": os.environ.get("PATH", ""), "NODE_PATH": str(NODE_MODULES),
           "ADDR": srv.url, "TOKEN": key}
    run = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out == {"write": 1, "read": {"v": "from-node"}, "update": 2,
                   "patched": {"v": "from-node", "w": "patched"}, "list": ["a", "b"],
                   "mounts": {"version": "2"}, "after": ["a"]}, out


def ansible(args, srv_url, key, tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json",
           "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3", "ANSIBLE_DEPRECATION_WARNINGS": "0",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0", "ANSIBLE_LOCALHOST_WARNING": "0",
           "ANSIBLE_HASHI_VAULT_ADDR": srv_url, "ANSIBLE_HASHI_VAULT_TOKEN": key,
           "ANSIBLE_HASHI_VAULT_AUTH_METHOD": "token", "ANSIBLE_GATHERING": "explicit",
           # The modules read the token and address from these (the lookups from the above).
           "VAULT_ADDR": srv_url, "VAULT_TOKEN": key}
    run = subprocess.run(["ansible", "localhost", "-c", "local", *args], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    return run


@pytest.mark.skipif(shutil.which("ansible") is None, reason="ansible is not installed")
def test_ansible_vault_list_and_vault_kv2_get(srv, store_backend, tmp_path):
    _, key, _ = full_access(srv)
    h = go_headers(key)
    for p in ("ans/one", "ans/two"):
        assert srv.request("PUT", f"/v1/secret/data/{p}", h, '{"data":{"v":"' + p + '"}}').status == 200
    run = ansible(["-m", "ansible.builtin.debug", "-a",
                   "msg={{ lookup('community.hashi_vault.vault_list', 'secret/metadata/ans') }}"],
                  srv.url, key, tmp_path)
    assert run.returncode == 0, (run.stdout, run.stderr)
    doc = json.loads(run.stdout)
    msg = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    msg = msg[0] if isinstance(msg, list) else msg  # one term, one response
    assert msg["data"]["keys"] == ["one", "two"], msg
    run = ansible(["-m", "community.hashi_vault.vault_kv2_get", "-a",
                   f"path=ans/one url={srv.url} auth_method=token"], srv.url, key, tmp_path)
    assert run.returncode == 0, (run.stdout, run.stderr)
    res = json.loads(run.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert res["secret"] == {"v": "ans/one"} and res["metadata"]["version"] == 1, res


def test_setting_delete_version_after_needs_the_delete_capability(srv):
    """An expiry set or shortened makes every version older than it read as deleted at once: the
    same right as deleting them (as lowering max_versions), not update alone."""
    _, tokens, codes = owner(srv)
    put_policy(srv, tokens, codes, "rw", {"app/*": ["create", "read", "update", "list"]})
    key, _ = api_key(srv, tokens, codes, policy="rw")
    h = go_headers(key)
    assert srv.request("POST", "/v1/secret/data/app/x", h, '{"data":{"v":"1"}}').status == 200
    before = stored(srv, key, "app/x")
    for value in ("1s", "1h", 60):
        res = srv.request("POST", "/v1/secret/metadata/app/x", h,
                          json.dumps({"delete_version_after": value}))
        assert res.status == 403 and "path_denied" in res.json()["errors"][0], res
    assert stored(srv, key, "app/x") == before
    # Turning it off, or leaving it as it is, takes update alone.
    assert srv.request("POST", "/v1/secret/metadata/app/x", h,
                       '{"delete_version_after":"0s","max_versions":20}').status == 204


def test_delete_version_after_expires_versions_on_read(srv, store_backend):
    """hvac's update_metadata(delete_version_after=...) as Vault takes it: versions older than it
    read as deleted (404 with their metadata), the metadata says when each expired."""
    _, key, _ = full_access(srv)
    h = go_headers(key)
    c = hvac.Client(url=srv.url, token=key, timeout=10)
    kv = c.secrets.kv.v2
    kv.create_or_update_secret("app/t", {"v": "1"})
    kv.create_or_update_secret("app/keep", {"v": "1"})
    before = stored(srv, key, "app/keep")
    for bad in ("soon", "1.5h", "-1s", "100ms", -1, True, "40000d"):
        errors(srv.request("POST", "/v1/secret/metadata/app/keep", h,
                           json.dumps({"delete_version_after": bad})), 400, "invalid_metadata")
    assert stored(srv, key, "app/keep") == before
    kv.update_metadata("app/t", delete_version_after="2s")
    meta = kv.read_secret_metadata("app/t")["data"]
    assert meta["delete_version_after"] == "2s"
    assert kv.read_secret_version("app/t")["data"]["data"] == {"v": "1"}
    import time
    time.sleep(3.2)
    res = srv.request("GET", "/v1/secret/data/app/t", h)
    assert res.status == 404, res
    doc = res.json()["data"]
    assert doc["data"] is None and doc["metadata"]["deletion_time"] != "", doc
    meta = srv.request("GET", "/v1/secret/metadata/app/t", h).json()["data"]
    assert meta["versions"]["1"]["deletion_time"] != ""
    # A new version is readable until it too is older than the setting; 0s turns it off.
    kv.create_or_update_secret("app/t", {"v": "2"})
    assert kv.read_secret_version("app/t")["data"]["data"] == {"v": "2"}
    kv.update_metadata("app/t", delete_version_after="0s")
    time.sleep(2.2)
    assert kv.read_secret_version("app/t")["data"]["data"] == {"v": "2"}
    assert kv.read_secret_version("app/keep")["data"]["data"] == {"v": "1"}
