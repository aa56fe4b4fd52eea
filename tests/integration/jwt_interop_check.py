#!/usr/bin/python3
"""Checks a Bulwark access token with an independent implementation (PyJWT, Debian python3-jwt).

Usage:
    jwt_interop_check.py JWKS_FILE TOKEN [--issuer ISS] [--audience AUD] [--leeway SECONDS]

JWKS_FILE is the document Bulwark publishes (identity::JwksJson), TOKEN the compact JWS (or "-"
to read it from stdin). The key is picked by the token's "kid" from the JWKS only, built with
jwt.algorithms.OKPAlgorithm.from_jwk (no network, no PyJWKClient), and the token is verified with
algorithms=["EdDSA"] and exp/iat required. On success the claims are printed as JSON and the exit
status is 0; on any failure the reason goes to stderr and the exit status is 1.

Not collected by pytest (the name does not start with test_): it is a tool for interop checks.
"""
import argparse
import json
import sys

import jwt
from jwt.algorithms import OKPAlgorithm


def load_key(jwks_path, kid):
    with open(jwks_path, encoding="utf-8") as f:
        jwks = json.load(f)
    matches = [k for k in jwks.get("keys", []) if k.get("kid") == kid]
    if len(matches) != 1:
        raise ValueError(f"the JWKS has {len(matches)} keys with kid {kid!r}")
    jwk = matches[0]
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or jwk.get("alg") != "EdDSA":
        raise ValueError("the JWK is not an Ed25519 EdDSA key")
    return OKPAlgorithm.from_jwk(json.dumps(jwk))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jwks_file")
    ap.add_argument("token")
    ap.add_argument("--issuer")
    ap.add_argument("--audience")
    ap.add_argument("--leeway", type=int, default=0)
    args = ap.parse_args()

    token = sys.stdin.read().strip() if args.token == "-" else args.token
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "EdDSA":
            raise ValueError("the header's alg is not EdDSA")
        key = load_key(args.jwks_file, header.get("kid"))
        options = {"require": ["exp", "iat"], "verify_aud": args.audience is not None}
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            audience=args.audience,
            issuer=args.issuer,
            leeway=args.leeway,
            options=options,
        )
    except (jwt.PyJWTError, ValueError, OSError) as e:
        print(f"invalid: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"header": header, "claims": claims}, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
