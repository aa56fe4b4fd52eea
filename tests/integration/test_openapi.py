"""docs/openapi.yaml lists exactly the routes the binary serves, each with its auth decision."""
import json
import os
import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("BULWARK_BIN", str(REPO / "build/release/bulwark"))
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def router_table(dev):
    args = [BIN, "routes"] + (["--dev"] if dev else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout
    return {(r["method"], r["path"]): r for r in map(json.loads, out.splitlines())}


def load_doc():
    return yaml.safe_load((REPO / "docs/openapi.yaml").read_text())


def resolve(doc, obj):
    while "$ref" in obj:
        node = doc
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def router_path(doc, path, op):
    """The router's pattern for a documented path: OpenAPI templates one segment per parameter, so
    the router's rest-of-path parameter {name*} is documented as {name} with x-bulwark-rest-of-path."""
    for prm in map(lambda p: resolve(doc, p), op.get("parameters", [])):
        if prm["in"] == "path" and prm.get("x-bulwark-rest-of-path"):
            assert path.endswith("/{" + prm["name"] + "}"), (path, "a rest-of-path parameter is last")
            path = path[: -len(prm["name"]) - 1] + prm["name"] + "*}"
    return path


def openapi_table(include_dev):
    doc = load_doc()
    table = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            if op.get("x-bulwark-dev-only") and not include_dev:
                continue
            table[(method.upper(), router_path(doc, path, op))] = op
    return table


# The credentials each auth decision accepts (stages/authenticate_stage.cc), as security schemes. The
# Vault surface also takes X-Vault-Token. Public operations declare `security: []` explicitly.
SECURITY = {
    "public": [],
    "session": [{"sessionToken": []}, {"sessionCookie": []}],
    "either": [{"sessionToken": []}, {"sessionCookie": []}, {"apiKey": []}, {"apiKeyBearer": []}],
    "internal": [{"operatorToken": []}],
    "scim": [{"scimToken": []}],
}


def test_every_route_is_documented_with_its_auth_decision():
    for dev in (False, True):
        routes = router_table(dev)
        documented = openapi_table(dev)
        assert routes, "the router printed no routes"
        assert set(routes) == set(documented), (
            f"dev={dev}: only in router {sorted(set(routes) - set(documented))}, "
            f"only in openapi {sorted(set(documented) - set(routes))}")
        for key, route in routes.items():
            assert documented[key]["x-bulwark-auth"] == route["auth"], key
            assert route["auth"] != "undeclared", key


def test_every_operation_declares_the_credentials_its_auth_decision_accepts():
    """Each operation's `security` is exactly what the router's decision lets through, so a generated
    client offers the right credentials; the previous document declared none for API keys,
    X-Vault-Token or the session cookie."""
    doc = load_doc()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["vaultToken"] == {**schemes["vaultToken"], "type": "apiKey", "in": "header",
                                     "name": "X-Vault-Token"}
    assert schemes["sessionCookie"] == {**schemes["sessionCookie"], "type": "apiKey", "in": "cookie",
                                        "name": "__Host-bulwark_access"}
    for (method, path), op in openapi_table(True).items():
        want = list(SECURITY[op["x-bulwark-auth"]])
        if path.startswith("/v1/") and op["x-bulwark-auth"] == "either":
            want = [{"vaultToken": []}] + want
        assert "security" in op and op["security"] == want, (method, path, op.get("security"))


def test_internal_routes_declare_the_operator_scheme():
    for key, op in openapi_table(True).items():
        if op["x-bulwark-auth"] == "internal":
            assert op.get("security") == [{"operatorToken": []}], key
            assert "404" in op["responses"], key


def test_dev_overlay_is_absent_from_the_production_table():
    prod = router_table(False)
    assert not [p for (_, p) in prod if p.startswith("/api/v1/local/")]
    assert [p for (_, p) in router_table(True) if p.startswith("/api/v1/local/")]


def test_step_up_routes_are_exactly_the_documented_ones():
    """The routes that declare an MFA step-up, openapi.yaml's x-bulwark-mfa-step-up marks and
    docs/security-model.md's list of step-up routes are one set, and it holds the high-impact acts
    the source pages name (issue #22, 7): revoking an API key and destroying secret versions, on
    both surfaces. The previous build declared neither, and its list named "key rotation", which
    is a host command, not a route."""
    routes = router_table(True)
    declared = {key for key, r in routes.items() if r["mfa_step_up"]}
    marked = {key for key, op in openapi_table(True).items() if op.get("x-bulwark-mfa-step-up")}
    assert declared == marked, (sorted(declared - marked), sorted(marked - declared))
    doc = (REPO / "docs/security-model.md").read_text()
    assert "<!-- step-up routes -->" in doc and "<!-- end of step-up routes -->" in doc
    block = doc.split("<!-- step-up routes -->")[1].split("<!-- end of step-up routes -->")[0]
    listed = set(re.findall(r"`(GET|PUT|POST|PATCH|DELETE) (/[^`\s]+)`", block))
    assert listed == declared, (sorted(listed - declared), sorted(declared - listed))
    assert {("DELETE", "/api/v1/apikeys/{id}"), ("POST", "/api/v1/secret-versions/destroy/{path*}"),
            ("POST", "/v1/{mount}/destroy/{path*}"), ("PUT", "/v1/{mount}/destroy/{path*}")} <= declared
