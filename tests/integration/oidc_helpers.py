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

    def __init__(self, workdir, pki, clients, accounts, issuer=None):
        """`pki`: make_test_ca's (ca, cert, key); `issuer`: a proxy's URL when one fronts the OP."""
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca, cert, key = pki
        self.config_path = self.dir / "op.json"
        self.config = {"cert": cert, "key": key, "clients": clients, "accounts": accounts}
        if issuer:
            self.config["issuer"] = issuer
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
        self.issuer, self.admin, self.listening = ready["issuer"], ready["admin"], ready["listening"]

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


class TokenSwapProxy:
    """An HTTPS pass-through proxy in front of the OP (the OP's issuer is the proxy's URL): every
    request goes through unchanged except the token endpoint's answer, whose id_token is replaced
    by `forge(claims, header)` while `forge` is set. Certificate from the test CA."""

    def __init__(self, pki):
        import http.server
        import socketserver
        import ssl
        import threading

        self.forge = None
        self.upstream = None
        self.id_token_headers = []  # the header of every id_token the token endpoint issued
        self.ca, cert, key = pki
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("content-length", "connection", "accept-encoding")}
                r = requests.request(self.command, proxy.upstream + self.path, headers=headers, data=body,
                                     allow_redirects=False, verify=proxy.ca, timeout=10)
                content = r.content
                if self.path.startswith("/token") and r.status_code == 200:
                    doc = r.json()
                    claims, header = decode_unverified(doc["id_token"])
                    proxy.id_token_headers.append(header)
                    if proxy.forge is not None:
                        doc["id_token"] = proxy.forge(claims, header)
                        content = json.dumps(doc).encode()
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        continue
                    if k.lower() == "set-cookie":
                        continue
                    self.send_header(k, v)
                for c in r.raw.headers.getlist("Set-Cookie") if hasattr(r.raw.headers, "getlist") else []:
                    self.send_header("Set-Cookie", c)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _forward

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _b64d(part):
    import base64
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64e(raw):
    import base64
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_unverified(token):
    """(claims, header) of a compact JWS, unverified (to build forgeries from a real token)."""
    h, p, _ = token.split(".")
    return json.loads(_b64d(p)), json.loads(_b64d(h))


def sign_jws(claims, header, key_pem=None, alg=None, hmac_secret=None):
    """A compact JWS of `claims` with `header`: signed with PyJWT under `key_pem` and `alg`, or by
    hand with HMAC-SHA-256 under `hmac_secret` (PyJWT refuses a PEM as an HMAC key, rightly), or
    unsigned (alg none) when neither is given."""
    import hashlib
    import hmac
    import jwt
    if key_pem is not None:
        return jwt.encode(claims, key_pem, algorithm=alg, headers={k: v for k, v in header.items() if k != "alg"})
    signing_input = _b64e(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        _b64e(json.dumps(claims, separators=(",", ":")).encode())
    if hmac_secret is not None:
        sig = hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64e(sig)
    return signing_input + "."


def private_pem(jwk):
    """PEM of the private key of a JWK (PyJWT's own JWK reader)."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    algo = jwt.algorithms.RSAAlgorithm if jwk["kty"] == "RSA" else jwt.algorithms.ECAlgorithm
    key = algo.from_jwk(json.dumps(jwk))
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(jwk):
    import jwt
    from cryptography.hazmat.primitives import serialization
    algo = jwt.algorithms.RSAAlgorithm if jwk["kty"] == "RSA" else jwt.algorithms.ECAlgorithm
    key = algo.from_jwk(json.dumps(jwk))
    if hasattr(key, "public_key"):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def free_dns_port():
    """A loopback port free for both UDP and TCP: dnsmasq listens on both, so a port free only for
    UDP (another test's TCP server may hold it) fails its start with "Address already in use"."""
    import socket
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise AssertionError("no loopback port free for both UDP and TCP")


class DnsServer:
    """A real DNS server (dnsmasq) on 127.0.0.1:<free port> answering only the TXT records set with
    set_txt (restarted on each change); nothing forwarded upstream."""

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_dns_port()
        self.address = f"127.0.0.1:{self.port}"
        self.records = {}
        self.proc = None
        self._start()

    def _start(self):
        self.stop()
        args = ["/usr/sbin/dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1", f"--port={self.port}",
                "--conf-file=/dev/null", "--pid-file=", "--user=" + os.environ.get("USER", "root")]
        for name, values in self.records.items():
            for v in values:
                args.append(f"--txt-record={name},{v}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "dnsmasq.log", "ab"))
        time.sleep(0.2)
        assert self.proc.poll() is None, (self.dir / "dnsmasq.log").read_text()

    def set_txt(self, name, value):
        self.records.setdefault(name, []).append(value)
        self._start()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None
