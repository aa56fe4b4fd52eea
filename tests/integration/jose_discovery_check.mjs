#!/usr/bin/env node
// A resource server built on jose (tests/peers/node_modules/jose), configured from the issuer URL
// alone: it fetches ISSUER/.well-known/openid-configuration, checks that the document names that
// issuer, takes the keys from its jwks_uri and the algorithms from the document, and verifies
// TOKEN as an RFC 9068 access token (typ at+jwt) for AUDIENCE, issuer checked.
//
// Usage: node jose_discovery_check.mjs ISSUER TOKEN AUDIENCE
// Prints {"header":...,"claims":...} and exits 0 when the token is valid; otherwise prints
// "invalid: <jose error code>: <message>" on stderr and exits 1.
//
// Not collected by pytest: test_token_discovery.py runs it.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(new URL('../peers/package.json', import.meta.url));
const { createRemoteJWKSet, jwtVerify } = await import(pathToFileURL(require.resolve('jose')).href);

const [issuer, token, audience] = process.argv.slice(2);
try {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw Object.assign(new Error(`discovery answered ${res.status}`), { code: 'DISCOVERY' });
  const meta = await res.json();
  if (meta.issuer !== issuer) {
    throw Object.assign(new Error(`the document names ${meta.issuer}`), { code: 'DISCOVERY' });
  }
  const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: meta.issuer,
    audience,
    algorithms: meta.id_token_signing_alg_values_supported,
    typ: 'at+jwt',
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'client_id'],
  });
  process.stdout.write(JSON.stringify({ header: protectedHeader, claims: payload }) + '\n');
} catch (e) {
  process.stderr.write(`invalid: ${e.code}: ${e.message}\n`);
  process.exit(1);
}
