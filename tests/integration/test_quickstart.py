"""The first ten minutes: `bulwark dev quickstart`, refusals that say what grants the access, the
dev sign-in page the mailed link opens, and what `serve --dev` tells a person when it starts."""
import json
import re
import shlex

from conftest import Server, run_cli
from identity_helpers import (LOOSE, bearer, create_tenant, ledger, request_link, send_json,
                              sign_in, state)

EXPORT_RE = re.compile(r"^export ([A-Z_]+)=(.*)$")


def quickstart(srv, *extra, dev=True):
    return run_cli(["dev", "quickstart", *(["--dev"] if dev else []), *srv.store_args(), *extra],
                   env={"BULWARK_SERVER_LISTEN": srv.address})


def exports(res):
    """The shell exports on stdout, as the shell would read them."""
    assert res.returncode == 0, res
    out = {}
    for line in res.stdout.splitlines():
        m = EXPORT_RE.match(line)
        assert m, f"not an export line: {line!r}"
        out[m.group(1)] = shlex.split(m.group(2))[0]
    assert set(out) == {"VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "BULWARK_OWNER"}, out
    return out


def vault(srv, method, path, token, doc=None):
    headers = {"X-Vault-Token": token}
    if doc is None:
        return srv.request(method, path, headers=headers)
    return send_json(srv, method, path, doc, headers)


def dev_server(tmp_path, name="srv"):
    return Server(tmp_path / name, dev=True, settings=LOOSE).start()


def test_quickstart_outside_dev_mode_is_refused_and_writes_nothing(tmp_path):
    # A data directory that does not exist stays so: no database, no generated key.
    fresh = tmp_path / "fresh"
    res = run_cli(["dev", "quickstart", "--data", str(fresh)])
    assert res.returncode == 1, res
    assert res.stdout == "", res
    assert "dev_only" in res.stderr and "--dev" in res.stderr and "nothing was written" in res.stderr
    assert not fresh.exists()
    # Against an existing store (a running dev server's): nothing in it changes.
    srv = dev_server(tmp_path)
    try:
        before, entries = state(srv), ledger(srv)
        res = quickstart(srv, dev=False)
        assert res.returncode == 1 and res.stdout == "" and "dev_only" in res.stderr, res
        assert state(srv) == before
        assert ledger(srv) == entries
    finally:
        srv.stop()


def test_quickstart_gives_a_key_that_writes_dev_and_nothing_else(tmp_path):
    srv = dev_server(tmp_path)
    try:
        res = quickstart(srv)
        env = exports(res)
        key = env["VAULT_TOKEN"]
        assert env["VAULT_ADDR"] == srv.url and env["VAULT_NAMESPACE"] == "dev", env
        assert key.startswith("bwk_"), env
        # The key leaves once, on stdout: not in the notes, the server's log or the ledger.
        assert key not in res.stderr
        assert "dev quickstart" in res.stderr and "VAULT_TOKEN" in res.stderr
        res_w = vault(srv, "POST", "/v1/secret/data/dev/app/db", key, {"data": {"password": "s3cret"}})
        assert res_w.status == 200, res_w
        res_r = vault(srv, "GET", "/v1/secret/data/dev/app/db", key)
        assert res_r.status == 200 and res_r.json()["data"]["data"] == {"password": "s3cret"}, res_r
        # Outside dev/: refused, and the refusal says what would grant it.
        denied = vault(srv, "POST", "/v1/secret/data/prod/db", key, {"data": {"a": "b"}})
        assert denied.status == 403, denied
        msg = denied.json()["errors"][0]
        assert msg.startswith("path_denied: ") and "create or update on prod/db" in msg, msg
        assert "PUT /api/v1/policies/" in msg and "/attachments/api_key/" in msg, msg
        quick = [e for e in ledger(srv) if e.get("action") == "dev.quickstart"]
        assert len(quick) == 1, quick
        assert key not in json.dumps(ledger(srv))
        assert key not in srv.stderr_text
    finally:
        srv.stop()


def test_quickstart_rerun_reuses_everything_with_a_new_key(tmp_path):
    srv = dev_server(tmp_path)
    try:
        first = exports(quickstart(srv))
        again = quickstart(srv)
        second = exports(again)
        assert "reused" in again.stderr, again
        assert second["VAULT_TOKEN"] != first["VAULT_TOKEN"]
        for n, env in enumerate((first, second)):
            res = vault(srv, "POST", f"/v1/secret/data/dev/k{n}", env["VAULT_TOKEN"], {"data": {"n": str(n)}})
            assert res.status == 200, res
        tenants = state(srv)["tenants"]
        assert len(tenants) == 1, tenants
        policies = state(srv)["path_policies"]
        assert len(policies) == 1, policies
        # A name taken by a tenant the given owner does not own: refused, nothing written.
        before, entries = state(srv), ledger(srv)
        other = quickstart(srv, "--owner", "someone@else.test")
        assert other.returncode == 1 and other.stdout == "", other
        assert "owner_mismatch" in other.stderr and "the store is unchanged" in other.stderr, other
        bad = quickstart(srv, "--tenant", "Not A Name")
        assert bad.returncode == 1 and bad.stdout == "" and "invalid_tenant_name" in bad.stderr, bad
        assert state(srv) == before and ledger(srv) == entries
    finally:
        srv.stop()


def test_refusals_say_what_grants_the_access(tmp_path):
    srv = dev_server(tmp_path)
    try:
        owner = create_tenant(srv, "acme", "ada@acme.test")
        tokens = sign_in(srv, "ada@acme.test")
        # A member with no path policy: path_denied names the capability, the path, and the two
        # policy calls with its own id.
        res = send_json(srv, "PUT", "/api/v1/secrets/dev/x", {"data": {"a": "b"}}, bearer(tokens))
        assert res.status == 403, res
        err = res.json()["error"]
        assert err["code"] == "path_denied", err
        assert "create or update on dev/x" in err["message"], err
        assert f"/attachments/user/{owner['owner_user_id']}" in err["message"], err
        assert "bulwark dev quickstart" in err["message"], err
        # A step-up route without a recent step-up: how to enrol and step up.
        res = send_json(srv, "PUT", "/api/v1/policies/p", {"rules": [{"path": "dev/*", "capabilities": ["read"]}]},
                        bearer(tokens))
        assert res.status == 403, res
        err = res.json()["error"]
        assert err["code"] == "mfa_required", err
        assert "POST /api/v1/auth/mfa/verify" in err["message"] and "/api/v1/auth/mfa/totp" in err["message"], err
        # An API key on a step-up route: it cannot step up, and is told to use a session.
        key = exports(quickstart(srv))["VAULT_TOKEN"]
        res = vault(srv, "POST", "/v1/secret/destroy/dev/x", key, {"versions": [1]})
        assert res.status == 403, res
        msg = res.json()["errors"][0]
        assert msg.startswith("mfa_required: ") and "not an API key" in msg, msg
    finally:
        srv.stop()


def test_dev_serves_the_sign_in_page_the_mail_links_to(tmp_path):
    srv = dev_server(tmp_path)
    try:
        page = srv.get("/login")
        assert page.status == 200, page
        assert page.header("Content-Type").startswith("text/html"), page
        csp = page.header("Content-Security-Policy")
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp, csp
        assert "unsafe-inline" not in csp and "default-src 'none'" in csp, csp
        html = page.body.decode()
        # Every script comes from the page's own origin: no inline code for the CSP to allow.
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/login.js" defer>'], html
        js = srv.get("/login.js")
        assert js.status == 200 and js.header("Content-Type").startswith("text/javascript"), js
        assert "/api/v1/auth/verify" in js.body.decode()
        # The API keeps its own CSP.
        assert srv.get("/livez").header("Content-Security-Policy").startswith("default-src 'none'; frame")
        # The mailed link opens this server's /login with the token in the fragment.
        create_tenant(srv, "acme", "ada@acme.test")
        request_link(srv, "ada@acme.test")
        mails = [m for m in srv.get("/api/v1/local/outbox").json()["messages"] if m["to"] == "ada@acme.test"]
        assert f"{srv.url}/login#token=bwm_" in mails[-1]["text"], mails
    finally:
        srv.stop()
    prod = Server(tmp_path / "prod").start()
    try:
        assert prod.get("/login").status == 404
        assert prod.get("/login.js").status == 404
    finally:
        prod.stop()


def test_dev_server_says_where_it_listens_and_what_to_run(tmp_path):
    srv = dev_server(tmp_path)
    try:
        text = srv.stderr_text
        assert f"export VAULT_ADDR={srv.url}\n" in text, text
        assert "dev quickstart --dev" in text and f"--data {srv.data_dir}" in text, text
        # The command it prints, run as printed, gives exports for this server.
        line = next(l for l in text.splitlines() if "dev quickstart --dev" in l)
        args = shlex.split(line.strip()[len('eval "$('):-len(')"')])
        res = run_cli(args[1:])
        env = exports(res)
        assert env["VAULT_ADDR"] == srv.url, env
        assert vault(srv, "GET", "/v1/auth/token/lookup-self", env["VAULT_TOKEN"]).status == 200
    finally:
        srv.stop()


def test_exports_are_shell_words_whatever_the_owner_address_holds(tmp_path):
    """The output is meant for `eval`: an address may hold a ', so each value is a quoted shell
    word that reads back exactly (and an address with $( ) is refused before anything opens)."""
    import subprocess
    data = tmp_path / "data"
    owner = "o'brien@dev.test"
    res = run_cli(["dev", "quickstart", "--dev", "--data", str(data), "--tenant", "q", "--owner", owner])
    assert res.returncode == 0, res
    shell = subprocess.run(["bash", "--norc", "-c", 'eval "$1"; printf "%s" "$BULWARK_OWNER"', "eval", res.stdout],
                           capture_output=True, text=True, timeout=30)
    assert shell.returncode == 0 and shell.stdout == owner, shell
    fresh = tmp_path / "fresh"
    bad = run_cli(["dev", "quickstart", "--dev", "--data", str(fresh), "--owner", "a$(touch x)@dev.test"])
    assert bad.returncode == 1 and bad.stdout == "" and "invalid_email" in bad.stderr, bad
    assert not fresh.exists()
