// SPDX-License-Identifier: Apache-2.0
// A real OpenID provider (the oidc-provider package) on a free loopback port, for the gateway's
// OpenID Connect tests. ID tokens are genuine: the provider signs them with its own keys and
// issues them through the CIBA poll flow (a backchannel authentication request that the
// provider's "authentication device" approves at once, then the token request), so no browser
// or interaction pages are needed. Keys can be rotated and the server stopped and restarted on
// the same port.
import Provider from 'oidc-provider';
import http from 'node:http';
import crypto from 'node:crypto';
import { freePort } from './ports.mjs';

const CIBA = 'urn:openid:params:grant-type:ciba';

/* A new RSA signing key as a private JWK with @kid. */
export function rsaJwk(kid) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

/*
 * Starts a provider.
 *   clients:  [{ id, secret }] registered confidential clients (the id_token audience is the id)
 *   idTokenTtl: seconds, or a function (clientId) → seconds (read at each issue)
 *   keys:     private JWKs (default: one new RSA key)
 *   claimNames: extra claims the id_token may carry (released with scope openid)
 *   claimsOf: (sub) → values of those claims for a user (e.g. { roles: 'read write' })
 * Returns { issuer, port, idToken(clientId, sub), rotate(newKeys), stop(), start() }.
 */
export async function startOidcProvider({ clients, idTokenTtl = 3600, keys, port, claimNames = [], claimsOf = () => ({}) } = {}) {
  port = port ?? await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  let jwks = keys ?? [rsaJwk(`k-${port}-1`)];
  let provider;
  const ttlOf = (clientId) => (typeof idTokenTtl === 'function' ? idTokenTtl(clientId) : idTokenTtl);

  /* A provider with the current keys; clients and behaviour never change. */
  const make = () => {
    const p = new Provider(issuer, {
      clients: clients.map((c) => ({
        client_id: c.id, client_secret: c.secret, grant_types: [CIBA], response_types: [], redirect_uris: [],
        backchannel_token_delivery_mode: 'poll',
      })),
      jwks: { keys: jwks },
      cookies: { keys: ['turnpike-oidc-test-cookie-key'] },
      features: {
        devInteractions: { enabled: false },
        ciba: {
          enabled: true,
          deliveryModes: ['poll'],
          processLoginHint: async (ctx, hint) => hint,
          processLoginHintToken: async () => undefined,
          validateBindingMessage: async () => undefined,
          validateRequestContext: async () => undefined,
          verifyUserCode: async () => undefined,
          /* The end-user approves on their device at once. */
          triggerAuthenticationDevice: async (ctx, request, account, client) => {
            const grant = new p.Grant({ accountId: account.accountId, clientId: client.clientId });
            grant.addOIDCScope('openid');
            await grant.save();
            await p.backchannelResult(request, grant);
          },
        },
      },
      /* Every claim of the account goes into the id_token (scope openid releases them all). */
      findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, ...claimsOf(sub) }) }),
      claims: { openid: ['sub', ...claimNames] },
      conformIdTokenClaims: false,
      ttl: {
        IdToken: (ctx, token, client) => ttlOf(client.clientId),
        AccessToken: 3600, Grant: 3600, BackchannelAuthenticationRequest: 600, Session: 3600, Interaction: 600,
      },
    });
    p.on('server_error', (ctx, err) => console.error(`# oidc-provider ${issuer}: ${err.stack || err}`));
    return p;
  };
  provider = make();

  let server = null;
  const start = async () => {
    server = http.createServer((req, res) => provider.callback()(req, res));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  };
  const stop = async () => {
    if (!server) return;
    const s = server;
    server = null;
    s.closeAllConnections?.();
    await new Promise((resolve) => s.close(() => resolve()));
  };
  await start();

  const post = async (path, clientId, form) => {
    const c = clients.find((x) => x.id === clientId);
    const r = await fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form),
    });
    const body = await r.json();
    if (r.status !== 200) throw new Error(`oidc-provider ${path}: ${r.status} ${JSON.stringify(body)}`);
    return body;
  };

  return {
    issuer,
    port,
    /* A fresh id_token for @sub, audience @clientId. */
    async idToken(clientId, sub) {
      const { auth_req_id: id } = await post('/backchannel', clientId, { scope: 'openid', login_hint: sub });
      const t = await post('/token', clientId, { grant_type: CIBA, auth_req_id: id });
      return t.id_token;
    },
    /* Replaces the signing keys (the new first key signs from now on; JWKS lists @newKeys). */
    rotate(newKeys) {
      jwks = newKeys;
      provider = make();
    },
    start,
    stop,
  };
}

/* The decoded header and claims of a compact JWS. */
export function decodeJwt(token) {
  const [h, c] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(c, 'base64url')) };
}
