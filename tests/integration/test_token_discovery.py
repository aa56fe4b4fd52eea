"""Access tokens a resource server configures from the issuer URL alone (issue #23, item 2).

A resource server is handed Bulwark's issuer URL and nothing else: it fetches
/.well-known/openid-configuration, takes the keys from its jwks_uri and the algorithms from the
document, and checks an access token's signature, issuer and audience. Shown here with two real,
independent verifiers: PyJWT (Debian python3-jwt, PyJWKClient) and jose (npm, tests/peers). The
audiences are a deployment setting (auth.access_token_audiences); the issuer is server.public_url
normalised, or the bound address in dev; tokens are RFC 9068 JWT access tokens (typ at+jwt, nbf,
client_id, jti)."""
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import jwt
import pytest

from conftest import run_cli
from identity_helpers import LOOSE, bearer, create_tenant, sign_in

ADA = "ada@acme.test"
JOSE_CHECK = Path(__file__).with_name("jose_discovery_check.mjs")
PEERS = Path(__file__).resolve().parents[1] / "peers" / "node_modules"
API_A, API_B, API_C = "https://api.a.example", "https://api.b.example", "https://api.c.example"


def discovery(issuer, which="openid-configuration"):
    """The metadata document as a resource server fetches it: over HTTP from the issuer URL."""
    with urllib.request.urlopen(f"{issuer}/.well-known/{which}", timeout=10) as res:
        assert res.status == 200
        assert res.headers["Content-Type"].startswith("application/json")
        assert res.headers["Cache-Control"] == "public, max-age=60", res.headers
        return json.loads(res.read())


def pyjwt_verify(issuer, token, audience):
    """PyJWT configured from the discovery document alone."""
    meta = discovery(issuer)
    assert meta["issuer"] == issuer, meta
    signing_key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(token, signing_key.key, algorithms=meta["id_token_signing_alg_values_supported"],
                      audience=audience, issuer=meta["issuer"],
                      options={"require": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"]})


def jose_verify(issuer, token, audience):
    assert (PEERS / "jose").is_dir(), "run (cd tests/peers && npm ci) first"
    return subprocess.run([shutil.which("node") or "node", str(JOSE_CHECK), issuer, token, audience],
                          capture_output=True, text=True, timeout=60)


def test_pyjwt_and_jose_verify_from_the_issuer_url_alone_and_check_the_audience(make_server):
    srv = make_server(dev=True, settings={**LOOSE, "auth.access_token_audiences": [API_A, API_B]})
    create_tenant(srv, "acme", ADA)
    tokens = sign_in(srv, ADA)
    access = tokens["access_token"]
    issuer = srv.url  # dev without server.public_url: http:// and the bound address

    meta = discovery(issuer)
    assert meta == discovery(issuer, "oauth-authorization-server")  # RFC 8414: the same facts
    assert meta["issuer"] == issuer and meta["jwks_uri"] == f"{issuer}/.well-known/jwks.json", meta
    assert meta["id_token_signing_alg_values_supported"] == ["EdDSA"], meta
    assert meta["access_token_signing_alg_values_supported"] == ["EdDSA"], meta
    # Only what is true: Bulwark has no authorization or token endpoint for OAuth clients.
    assert not {"authorization_endpoint", "token_endpoint", "response_types_supported"} & set(meta), meta

    # RFC 9068: typ at+jwt, with iss, exp, aud, sub, client_id, iat, jti; and nbf.
    header = jwt.get_unverified_header(access)
    assert header["typ"] == "at+jwt" and header["alg"] == "EdDSA", header

    # PyJWT, for either configured audience.
    for audience in (API_A, API_B):
        claims = pyjwt_verify(issuer, access, audience)
        assert claims["iss"] == issuer and claims["aud"] == [API_A, API_B], claims
        assert claims["sub"] == tokens["user_id"] and claims["client_id"] == "bulwark", claims
        assert claims["nbf"] == claims["iat"] and abs(claims["iat"] - time.time()) < 60, claims
        assert claims["exp"] - claims["iat"] == tokens["expires_in"] and claims["jti"], claims
    # ... and a resource server that is not an audience refuses it.
    with pytest.raises(jwt.InvalidAudienceError):
        pyjwt_verify(issuer, access, API_C)

    # jose, the same way.
    for audience in (API_A, API_B):
        out = jose_verify(issuer, access, audience)
        assert out.returncode == 0, out
        doc = json.loads(out.stdout)
        assert doc["header"]["typ"] == "at+jwt" and doc["claims"]["iss"] == issuer, doc
    out = jose_verify(issuer, access, API_C)
    assert out.returncode == 1 and "ERR_JWT_CLAIM_VALIDATION_FAILED" in out.stderr, out
    assert "aud" in out.stderr, out

    # Bulwark itself accepts the tokens it issued for these audiences.
    res = srv.get("/api/v1/me", headers=bearer(tokens))
    assert res.status == 200, res


def test_issuer_is_the_public_url_normalised_and_the_default_audience(make_server):
    # Upper case and a trailing slash, as an operator might write it.
    srv = make_server(dev=True, settings={**LOOSE, "server.public_url": "HTTPS://Bulwark.Example.COM/"})
    create_tenant(srv, "acme", ADA)
    tokens = sign_in(srv, ADA)
    res = srv.get("/.well-known/openid-configuration")
    assert res.status == 200, res
    meta = res.json()
    assert meta["issuer"] == "https://bulwark.example.com", meta
    assert meta["jwks_uri"] == "https://bulwark.example.com/.well-known/jwks.json", meta
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    # No audience configured: the issuer is the audience; a string when there is one.
    assert claims["iss"] == claims["aud"] == "https://bulwark.example.com", claims
    # The document is the same whatever Host the request names (it comes from the configuration).
    res = srv.get("/.well-known/openid-configuration", headers={"Host": "evil.example"})
    assert res.status != 200 or res.json()["issuer"] == "https://bulwark.example.com", res


def test_production_discovery_names_the_public_url(make_server):
    srv = make_server()  # production, server.public_url = https://bulwark.example.com
    for which in ("openid-configuration", "oauth-authorization-server"):
        res = srv.get(f"/.well-known/{which}")
        assert res.status == 200, res
        assert res.header("Cache-Control") == "public, max-age=60", res
        assert res.json()["issuer"] == "https://bulwark.example.com", res


@pytest.mark.parametrize("settings,problem", [
    ({"auth.access_token_audiences": ["https://api.example", ""]},
     "auth.access_token_audiences: an audience must be a non-empty UTF-8 string"),
    ({"server.public_url": "https://bulwark.example.com/?tenant=a"},
     "server.public_url: must have no user info, query or fragment"),
    ({"server.public_url": "https://user@bulwark.example.com"},
     "server.public_url: must have no user info, query or fragment"),
])
def test_config_check_refuses_what_cannot_make_a_token(tmp_path, settings, problem):
    from conftest import render_toml
    cfg = tmp_path / "bulwark.toml"
    cfg.write_text(render_toml(settings))
    res = run_cli(["config", "check", "--dev", "--config", str(cfg)])
    assert res.returncode == 1, res
    assert f"error: {problem}" in res.stderr + res.stdout, res
    # A valid list of audiences passes.
    cfg.write_text(render_toml({"auth.access_token_audiences": ["https://api.example"]}))
    res = run_cli(["config", "check", "--dev", "--config", str(cfg)])
    assert "auth.access_token_audiences" not in res.stderr + res.stdout, res


def test_bulwark_accepts_only_tokens_naming_one_of_its_audiences(make_server):
    """The audience is checked by Bulwark too: after the deployment's audiences change, a token
    issued for the old ones is refused (401 invalid_token) and a refreshed one names the new."""
    settings = {**LOOSE, "server.public_url": "https://bulwark.example.com",
                "auth.access_token_audiences": [API_A]}
    srv = make_server(dev=True, settings=settings)
    create_tenant(srv, "acme", ADA)
    tokens = sign_in(srv, ADA)
    assert srv.get("/api/v1/me", headers=bearer(tokens)).status == 200
    srv.stop()
    srv.settings["auth.access_token_audiences"] = [API_B, API_C]
    srv.start()
    res = srv.get("/api/v1/me", headers=bearer(tokens))
    assert res.status == 401 and res.json()["error"]["code"] == "invalid_token", res
    res = srv.request("POST", "/api/v1/auth/refresh", headers={"Content-Type": "application/json"},
                      body=json.dumps({"refresh_token": tokens["refresh_token"]}))
    assert res.status == 200, res
    fresh = res.json()
    claims = jwt.decode(fresh["access_token"], options={"verify_signature": False})
    assert claims["aud"] == [API_B, API_C] and claims["iss"] == "https://bulwark.example.com", claims
    assert srv.get("/api/v1/me", headers=bearer(fresh)).status == 200
