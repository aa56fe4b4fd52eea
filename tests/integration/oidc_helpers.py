"""The test OpenID Provider (tests/peers/oidc_op.mjs, npm oidc-provider) and how a test drives it.

A test CA and the OP's certificate are made with the openssl CLI; the OP runs over HTTPS on
127.0.0.1:<free port> and reads its clients and accounts from a JSON file the test rewrites to
change claims between sign-ins. The dev login pages are driven with plain form posts.
"""
import json
import os
import re
import select
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse, parse_qs

import requests

REPO = Path(__file__).resolve().parents[2]
OP_SCRIPT = REPO / "tests" / "peers" / "oidc_op.mjs"


def make_test_ca(workdir):
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, cert, key)."""
    d = Path(workdir)
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = d / "ca.key", d / "ca.pem"
    key, csr, cert, ext = d / "op.key", d / "op.csr", d / "op.pem", d / "op.ext"

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(ca_key), "-out", str(ca_pem), "-days", "2", "-subj", "/CN=Bulwark test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return str(ca_pem), str(cert), str(key)


class OpenIdProvider:
    """oidc-provider on loopback. `clients` and `accounts` as in oidc_op.mjs; `update_account`
    rewrites the JSON the OP re-reads at each account lookup."""

    def __init__(self, workdir, clients, accounts):
        self.dir = Path(workdir)
        self.ca, cert, key = make_test_ca(self.dir / "pki")
        self.config_path = self.dir / "op.json"
        self.config = {"cert": cert, "key": key, "clients": clients, "accounts": accounts}
        self._write()
        self.log = open(self.dir / "op.log", "wb")
        self.proc = subprocess.Popen(["node", str(OP_SCRIPT), str(self.config_path)],
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     cwd=str(OP_SCRIPT.parent))
        deadline = time.time() + 30
        line = b""
        while time.time() < deadline and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
        if not line.endswith(b"\n"):
            self.stop()
            raise RuntimeError("oidc_op.mjs did not start: "
                               + (self.dir / "op.log").read_text(errors="replace"))
        ready = json.loads(line)
        self.issuer, self.admin = ready["issuer"], ready["admin"]

    def _write(self):
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.config))
        os.replace(tmp, self.config_path)

    def update_account(self, account_id, **claims):
        self.config["accounts"][account_id].update(claims)
        self._write()

    def rotate(self, alg="RS256", keep_old=False):
        r = requests.post(self.admin + "/rotate", json={"alg": alg, "keep_old": keep_old}, timeout=10)
        r.raise_for_status()
        return r.json()["kid"]

    def private_jwks(self):
        return requests.get(self.admin + "/jwks", timeout=10).json()["keys"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"', re.I)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', re.I)


def sign_in_at_op(browser, authorization_url, account_id, ca, stop_at):
    """Follows the authorization URL through the OP's dev login and consent pages with the
    `browser` (a requests.Session holding the OP's cookies) until a redirect to a URL starting
    with `stop_at` (Bulwark's callback); returns that URL, not followed."""
    url = authorization_url
    for _ in range(12):
        if url.startswith(stop_at):
            return url
        r = browser.get(url, allow_redirects=False, verify=ca, timeout=10)
        if r.status_code in (302, 303):
            url = urljoin(url, r.headers["Location"])
            continue
        if r.status_code != 200 or "/interaction/" not in url:
            raise AssertionError(f"unexpected OP answer {r.status_code} at {url}: {r.text[:300]}")
        action = urljoin(url, FORM_ACTION.search(r.text).group(1))
        form = dict(HIDDEN.findall(r.text))
        if form.get("prompt") == "login":
            form.update(login=account_id, password="any")
        r = browser.post(action, data=form, allow_redirects=False, verify=ca, timeout=10)
        assert r.status_code in (302, 303), (r.status_code, r.text[:300])
        url = urljoin(action, r.headers["Location"])
    raise AssertionError("the OP's pages did not lead to the callback")


def end_session_at_op(browser, issuer, ca, client_id):
    """RP-initiated logout at the OP (its confirm form posted): the OP then sends back-channel
    logout tokens to every client of the session."""
    r = browser.get(issuer + "/session/end", params={"client_id": client_id},
                    allow_redirects=False, verify=ca, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    action = urljoin(issuer + "/", FORM_ACTION.search(r.text).group(1))
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', r.text))
    form["logout"] = "yes"
    r = browser.post(action, data=form, allow_redirects=False, verify=ca, timeout=10)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    return r


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
