// A real OpenID Provider for the SSO integration tests: npm `oidc-provider` over HTTPS on loopback.
//
//   node oidc_op.mjs CONFIG.json
//
// CONFIG.json (written by the test, re-read on every account lookup so claims can change between
// sign-ins):
//   { "cert": "op.pem", "key": "op.key",            TLS certificate (from the test's CA) and key
//     "issuer": "https://127.0.0.1:<port>",          optional: the issuer when a proxy fronts the OP
//     "clients": [{client_id, client_secret, redirect_uris, backchannel_logout_uri,
//                  backchannel_logout_session_required, id_token_signed_response_alg}],
//     "accounts": {"<account id = subject>": {"email": ..., "groups": [...], ...}} }
//
// Prints one line `{"issuer": "https://127.0.0.1:<port>", "admin": "http://127.0.0.1:<port>"}`
// when ready. The admin port (plain HTTP, loopback) takes:
//   POST /rotate {"alg": "RS256"|"ES256", "keep_old": bool}  -> {"kid": new kid}
//   GET  /jwks                                               -> the private JWKS (for forging)
// A rotation rebuilds the provider with the new keys; sessions and grants survive it (the memory
// adapter is shared by every instance in the process).
//
// Test-only settings: devInteractions (login pages a test drives with form posts), back-channel
// logout allowed to call loopback (the default SSRF guard refuses special-use addresses).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const configPath = process.argv[2];
const readConfig = () => JSON.parse(readFileSync(configPath, 'utf8'));
const initial = readConfig();

async function newKey(alg) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`;
  jwk.alg = alg;
  jwk.use = 'sig';
  return jwk;
}

let keys = [await newKey('RS256'), await newKey('ES256')];
const cookieKeys = [randomBytes(32).toString('hex')];

let issuer = '';
let provider;

function build() {
  const p = new Provider(issuer, {
    clients: readConfig().clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks: { keys },
    cookies: { keys: cookieKeys },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'hd', 'tid', 'oid', 'preferred_username'],
      groups: ['groups', '_claim_names', '_claim_sources'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    features: {
      devInteractions: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // The default dispatcher refuses loopback (SSRF guard); the tests' Bulwark is on loopback.
    fetch: (url, options) => {
      delete options.dispatcher;
      return globalThis.fetch(url, options);
    },
    async findAccount(ctx, id) {
      if (!readConfig().accounts[id]) return undefined;
      return {
        accountId: id,
        async claims() {
          return { ...readConfig().accounts[id], sub: id };
        },
      };
    },
    renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  p.proxy = false;
  return p;
}

const server = https.createServer({
  cert: readFileSync(initial.cert),
  key: readFileSync(initial.key),
}, (req, res) => provider.callback()(req, res));

server.listen(0, '127.0.0.1', () => {
  // A test that puts a proxy in front of the OP names the proxy as the issuer.
  issuer = initial.issuer ?? `https://127.0.0.1:${server.address().port}`;
  provider = build();
  const admin = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    try {
      if (req.method === 'POST' && req.url === '/rotate') {
        const { alg = 'RS256', keep_old: keepOld = false } = JSON.parse(body || '{}');
        const fresh = await newKey(alg);
        keys = keepOld ? [fresh, ...keys] : [fresh, ...keys.filter((k) => k.alg !== alg)];
        provider = build();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kid: fresh.kid }));
      } else if (req.method === 'GET' && req.url === '/jwks') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys }));
      } else {
        res.writeHead(404);
        res.end();
      }
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  admin.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({
      issuer,
      listening: `https://127.0.0.1:${server.address().port}`,
      admin: `http://127.0.0.1:${admin.address().port}`,
    })}\n`);
  });
});
