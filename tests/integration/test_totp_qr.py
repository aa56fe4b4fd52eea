"""TOTP enrollment's QR code and issuer (issue #23, item 6).

The enrollment answers, besides the otpauth:// URI and the secret, a QR code of exactly that URI
as an SVG data: URI (libqrencode). No QR decoder is available offline, so this checks that the
image is a well-formed SVG of the right size whose dark modules sit in the grid a QR symbol of
that many modules has (the module matrix itself is unit-tested against libqrencode); that the
URI's issuer is the tenant, URL-encoded as Google Authenticator's Key Uri Format asks, in the
label and in the parameter; and that the real oathtool's codes from its secret confirm."""
import base64
import re
import urllib.parse
import xml.etree.ElementTree as ET

from identity_helpers import LOOSE, bearer, create_tenant, post, sign_in, totp

SVG = "{http://www.w3.org/2000/svg}"


def test_enrollment_returns_a_qr_code_and_the_tenant_as_issuer(make_server):
    srv = make_server(dev=True, settings=LOOSE)
    create_tenant(srv, "acme", "ada@acme.test")
    tokens = sign_in(srv, "ada@acme.test")
    res = post(srv, "/api/v1/auth/mfa/totp", headers=bearer(tokens))
    assert res.status == 201, res
    doc = res.json()
    assert set(doc) == {"otpauth_uri", "secret", "qr_code"}, doc
    uri, secret = doc["otpauth_uri"], doc["secret"]

    # Key Uri Format: otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER, both encoded.
    assert uri.startswith("otpauth://totp/Bulwark%20%28acme%29:ada@acme.test?"), uri
    parsed = urllib.parse.urlsplit(uri)
    label = urllib.parse.unquote(parsed.path.lstrip("/"))
    query = urllib.parse.parse_qs(parsed.query)
    assert label == "Bulwark (acme):ada@acme.test", label
    assert query["issuer"] == ["Bulwark (acme)"] and query["secret"] == [secret], query
    assert (query["algorithm"], query["digits"], query["period"]) == (["SHA1"], ["6"], ["30"])

    # The image: an SVG data: URI, well-formed, square, quiet zone of 4 modules.
    prefix = "data:image/svg+xml;base64,"
    assert doc["qr_code"].startswith(prefix), doc["qr_code"][:40]
    svg_text = base64.b64decode(doc["qr_code"][len(prefix):], validate=True).decode()
    root = ET.fromstring(svg_text)
    assert root.tag == SVG + "svg", root.tag
    size = int(root.get("viewBox").split()[2])
    assert root.get("viewBox") == f"0 0 {size} {size}"
    modules = size - 8
    # A QR symbol of version v has 17 + 4v modules a side; this URI needs a version from 4 to 10.
    assert (modules - 17) % 4 == 0 and 4 <= (modules - 17) // 4 <= 10, modules
    assert int(root.get("width")) == int(root.get("height")) >= 4 * size
    [path] = root.findall(SVG + "path")
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", path.get("d"))
    assert "".join(f"M{x} {y}h{n}v1h-{m}z" for x, y, n, m in runs) == path.get("d")
    dark = {(int(x) + i, int(y)) for x, y, n, _ in runs for i in range(int(n))}
    assert all(4 <= x < 4 + modules and 4 <= y < 4 + modules for x, y in dark)
    # The three finder patterns' outer rings are dark, their separators light.
    for ox, oy in ((4, 4), (4 + modules - 7, 4), (4, 4 + modules - 7)):
        ring = {(ox + i, oy) for i in range(7)} | {(ox + i, oy + 6) for i in range(7)}
        assert ring <= dark, (ox, oy)
        assert (ox + 1, oy + 1) not in dark and (ox + 2, oy + 2) in dark
    assert 0.3 < len(dark) / modules ** 2 < 0.7  # a QR symbol is about half dark

    # oathtool's codes from the secret confirm the enrollment.
    res = post(srv, "/api/v1/auth/mfa/totp/confirm", {"code": totp(secret)}, bearer(tokens))
    assert res.status == 200, res
