// SPDX-License-Identifier: Apache-2.0
// OpenID Connect authentication (use_openid, openid_options) against a real OpenID provider
// (oidc-provider) issuing real id_tokens: issuer discovery and JWKS, client IDs mapped to
// policies, the virtual session Tyk stores, segregate_by_client, JWT claims as context
// variables, and Tyk's 401 "Key not authorised" for every token it cannot accept (wrong
// audience, expired, unknown issuer, garbage, missing), a provider that is down at first use,
// and a provider that rotates its signing key.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { startOidcProvider, rsaJwk, decodeJwt } from '../lib/oidc.mjs';
import { waitFor } from '../lib/procs.mjs';

const b64 = (s) => Buffer.from(s).toString('base64');
const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');
/* Tyk's generateToken(org, keyID) with hash_key_function sha256. */
const sessionId = (org, keyId) => Buffer.from(`{"org":"${org}","id":"${keyId}","h":"sha256"}`).toString('base64');
const redisName = (sid) => `apikey-${crypto.createHash('sha256').update(sid).digest('hex')}`;

const APIS = ['oidc', 'seg', 'down', 'scoped', 'multi'];
const CLIENTS = [
  { id: 'app-gold', secret: 'gold-secret' },
  { id: 'app-silver', secret: 'silver-secret' },
  { id: 'app-short', secret: 'short-secret' }, // id_tokens live 1 s
  { id: 'app-other', secret: 'other-secret' }, // registered at the provider, not at the gateway
  { id: 'app-nopol', secret: 'nopol-secret' }, // mapped to a policy that does not exist
];

function oidcApi(id, providers, target, extra = {}) {
  return {
    name: id, api_id: id, org_id: 'default', use_keyless: false, active: true, use_openid: true,
    openid_options: { providers, segregate_by_client: false },
    version_data: {
      not_versioned: true, default_version: 'Default',
      versions: { Default: { name: 'Default', global_headers: { 'X-Sub': '$tyk_context.jwt_claims_sub' } } },
    },
    enable_context_vars: true,
    proxy: { listen_path: `/${id}/`, target_url: target, strip_listen_path: true },
    ...extra,
  };
}

describe('OpenID Connect authentication', () => {
  let gw, up, rx, redis, polDir, idp, stranger, downIdp, badDisc;
  const T = withLogs(() => gw);
  const get = (p, auth) => gw.get(p, { headers: auth === undefined ? {} : { Authorization: auth } });
  const errOf = (r) => JSON.parse(r.text).error;
  const stored = async (sid) => {
    let s = null;
    await waitFor(async () => {
      const raw = await redisCommand(redis.port, 'GET', redisName(sid));
      s = raw ? JSON.parse(raw) : null;
      return s !== null;
    }, { timeoutMs: 5000, what: `session ${sid} in Redis` });
    return s;
  };
  /* Log lines are written asynchronously: wait for @re. */
  const logged = (re) => waitFor(() => re.test(gw.logs()), { timeoutMs: 3000, what: `log line ${re}` });
  const expectDenied = async (p, auth, what) => {
    const r = await get(p, auth);
    assert.equal(r.status, 401, `${what}: ${r.text}`);
    assert.equal(errOf(r), 'Key not authorised', what);
  };

  before(async () => {
    const ROLES = { kate: 'reader', leo: ['reader', 'admin'] };
    idp = await startOidcProvider({ clients: CLIENTS, idTokenTtl: (c) => (c === 'app-short' ? 1 : 3600),
      claimNames: ['roles'], claimsOf: (sub) => (ROLES[sub] ? { roles: ROLES[sub] } : {}) });
    stranger = await startOidcProvider({ clients: CLIENTS }); // real tokens, issuer not configured
    downIdp = await startOidcProvider({ clients: CLIENTS });
    up = await startUpstream();
    rx = await startUpstream(undefined, { name: 'webhooks' });
    // An "issuer" whose discovery document has no jwks_uri.
    badDisc = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: badDisc.url, token_endpoint: `${badDisc.url}/token` }));
    }, { name: 'bad-discovery' });
    redis = await startRedis();
    polDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-oidcpol-'));
    const rights = Object.fromEntries(APIS.map((a) => [a, { api_id: a, api_name: a, versions: ['Default'] }]));
    const pol = (id, extra = {}) => fs.writeFileSync(path.join(polDir, `${id}.json`), JSON.stringify({
      id, name: id, org_id: 'default', active: true, rate: 1000, per: 1, quota_max: -1, access_rights: rights, ...extra,
    }));
    pol('gold', { tags: ['gold'] });
    pol('silver', { rate: 2, per: 60, tags: ['silver'] });
    const clientIds = { [b64('app-gold')]: 'gold', [b64('app-silver')]: 'silver', [b64('app-short')]: 'gold', [b64('app-nopol')]: 'no-such-policy' };
    gw = await startGateway({
      redis,
      conf: {
        hash_keys: true, hash_key_function: 'sha256',
        policies: { policy_source: 'file', policy_path: polDir },
        local_session_cache: { cached_session_timeout: 1 },
        turnpike_workers: 1, // one JWKS copy: the rotation cases below are deterministic
      },
      apis: [
        oidcApi('oidc', [{ issuer: idp.issuer, client_ids: clientIds }], up.url, { event_handlers: { events: { AuthFailure: [{
          handler_name: 'eh_web_hook_handler',
          handler_meta: { method: 'POST', target_path: `${rx.url}/auth-failure`, template_path: '', header_map: {}, event_timeout: 60 },
        }] } } }),
        oidcApi('seg', [{ issuer: idp.issuer, client_ids: clientIds }], up.url,
          { openid_options: { providers: [{ issuer: idp.issuer, client_ids: clientIds }], segregate_by_client: true } }),
        oidcApi('down', [{ issuer: downIdp.issuer, client_ids: clientIds }], up.url),
        oidcApi('scoped', [{ issuer: idp.issuer, client_ids: clientIds }], up.url,
          { scopes: { oidc: { scope_claim_name: 'roles', scope_to_policy: { reader: 'silver', admin: 'gold' } } } }),
        oidcApi('baddisc', [{ issuer: badDisc.url, client_ids: clientIds }], up.url),
        // OIDC and an auth token together; the rest of the chain uses OIDC's session
        oidcApi('multi', [{ issuer: idp.issuer, client_ids: clientIds }], up.url, {
          use_standard_auth: true, base_identity_provided_by: 'oidc_user',
          auth_configs: { authToken: { auth_header_name: 'X-Api-Key' } },
        }),
      ],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await rx?.close(); await badDisc?.close(); await redis?.stop();
    await idp?.stop(); await stranger?.stop(); await downIdp?.stop();
    if (polDir) fs.rmSync(polDir, { recursive: true, force: true });
  });

  it('a valid id_token reaches the upstream; the session is built from the client\'s policy and stored', T(async () => {
    const tok = await idp.idToken('app-gold', 'alice');
    assert.equal(decodeJwt(tok).claims.iss, idp.issuer);
    up.reset();
    const r = await get('/oidc/hello', `Bearer ${tok}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0].url, '/hello');
    assert.equal(up.requests[0].headers['x-sub'], 'alice', 'jwt_claims_sub context variable');

    const sid = sessionId('default', md5('alice'));
    const s = await stored(sid);
    assert.deepEqual(s.apply_policies, ['gold']);
    assert.equal(s.rate, 1000);
    assert.equal(s.org_id, 'default');
    assert.deepEqual(s.meta_data, { TykJWTSessionID: sid, ClientID: 'app-gold' });
    assert.equal(s.alias, 'app-gold:alice');
    const k = await gw.admin('GET', `/tyk/keys/${sid}?api_id=oidc`);
    assert.equal(k.status, 200, k.text);
    assert.deepEqual(JSON.parse(k.text).apply_policies, ['gold']);

    const again = await get('/oidc/again', `Bearer ${tok}`);
    assert.equal(again.status, 200, again.text);
  }));

  it('two client IDs map to two policies: the silver client gets silver\'s rate limit', T(async () => {
    const tok = await idp.idToken('app-silver', 'bob');
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await get('/oidc/x', `Bearer ${tok}`)).status);
    assert.deepEqual(codes, [200, 200, 429]);
    const s = await stored(sessionId('default', md5('bob')));
    assert.deepEqual(s.apply_policies, ['silver']);
    assert.equal(s.rate, 2);
    assert.equal(s.per, 60);
    // Another user of the gold client is unaffected.
    const carol = await idp.idToken('app-gold', 'carol');
    for (let i = 0; i < 3; i++) assert.equal((await get('/oidc/x', `Bearer ${carol}`)).status, 200);
  }));

  it('scopes.oidc: the policies come from the scope claim instead of the client', T(async () => {
    const kate = await idp.idToken('app-gold', 'kate');
    assert.equal(decodeJwt(kate).claims.roles, 'reader');
    assert.equal((await get('/scoped/a', `Bearer ${kate}`)).status, 200);
    const sk = await stored(sessionId('default', md5('kate')));
    assert.deepEqual(sk.apply_policies, ['silver'], 'reader → silver, not the client\'s gold');
    assert.equal(sk.rate, 2);
    assert.deepEqual(sk.meta_data, { TykJWTSessionID: sessionId('default', md5('kate')), ClientID: 'app-gold' });
    const leo = await idp.idToken('app-silver', 'leo');
    assert.equal((await get('/scoped/a', `Bearer ${leo}`)).status, 200);
    assert.deepEqual((await stored(sessionId('default', md5('leo')))).apply_policies, ['silver', 'gold']);
  }));

  it('segregate_by_client: one user gets one session per client', T(async () => {
    const gold = await idp.idToken('app-gold', 'dave');
    const silver = await idp.idToken('app-silver', 'dave');
    assert.equal((await get('/seg/a', `Bearer ${gold}`)).status, 200);
    assert.equal((await get('/seg/a', `Bearer ${silver}`)).status, 200);
    const sg = await stored(sessionId('default', md5('app-gold') + md5('dave')));
    const ss = await stored(sessionId('default', md5('app-silver') + md5('dave')));
    assert.deepEqual(sg.apply_policies, ['gold']);
    assert.deepEqual(ss.apply_policies, ['silver']);
    assert.equal(ss.alias, 'app-silver:dave');
    assert.equal(await redisCommand(redis.port, 'GET', redisName(sessionId('default', md5('dave')))), null);
  }));

  it('with an auth token too, both are required and base_identity_provided_by oidc_user keeps OIDC\'s session', T(async () => {
    const c = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', rate: 1000, per: 1, quota_max: -1,
      access_rights: { multi: { api_id: 'multi', api_name: 'multi', versions: ['Default'] } },
    });
    assert.equal(c.status, 200, c.text);
    const key = c.json().key;
    const tok = await idp.idToken('app-silver', 'mona'); // silver: 2 requests a minute
    const both = (t, k) => gw.get('/multi/x', { headers: { ...(t ? { Authorization: `Bearer ${t}` } : {}), ...(k ? { 'X-Api-Key': k } : {}) } });
    assert.notEqual((await both(tok, null)).status, 200, 'the auth token is required too');
    assert.equal((await both(null, key)).status, 401, 'the id_token is required too');
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await both(tok, key)).status);
    assert.deepEqual(codes, [200, 200, 429], 'the rate limit is silver\'s (the OIDC session), not the key\'s');
  }));

  it('wrong audience, unknown issuer, garbage and missing tokens → 401 "Key not authorised" and AuthFailure', T(async () => {
    up.reset();
    const good = await idp.idToken('app-gold', 'erin');
    const [h, c, sig] = good.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(good).claims, sub: 'mallory' })).toString('base64url');
    const cases = {
      audience: `Bearer ${await idp.idToken('app-other', 'erin')}`, // registered at the provider only
      issuer: `Bearer ${await stranger.idToken('app-gold', 'erin')}`, // a real provider not configured
      garbage: 'Bearer not-a-jwt',
      segments: 'Bearer a.b.c',
      signature: `Bearer ${h}.${c}.${Buffer.from('forged').toString('base64url')}`,
      claims: `Bearer ${h}.${forged}.${sig}`, // claims changed after signing
      scheme: good, // no "Bearer "
      lower: `bearer ${good}`,
      missing: undefined,
    };
    for (const [name, auth] of Object.entries(cases)) await expectDenied(`/oidc/${name}`, auth, name);
    await logged(/api=oidc openid: token rejected: audience is no client ID/);
    await logged(/api=oidc openid: token rejected: issuer not configured/);
    await logged(/api=oidc openid: token from \S+ rejected: signature is invalid/);
    assert.equal(up.requests.length, 0, 'nothing reached the upstream');
    assert.equal(await redisCommand(redis.port, 'GET', redisName(sessionId('default', md5('mallory')))), null);
    // Each failure fired AuthFailure with Tyk's key for a token that did not validate, "[JWT]".
    const want = Object.keys(cases).map((n) => `/oidc/${n}`).sort();
    const events = () => rx.requests.map((q) => JSON.parse(q.body.toString()));
    await waitFor(() => want.every((p) => events().some((e) => e.path === p)), { what: 'an AuthFailure webhook per case' });
    for (const e of events().filter((x) => want.includes(x.path))) {
      assert.equal(e.event, 'AuthFailure');
      assert.equal(e.key, '[JWT]', e.path);
    }
  }));

  it('a client mapped to a missing policy → 403 "Key not authorized: no matching policy"', T(async () => {
    const r = await get('/oidc/nopol', `Bearer ${await idp.idToken('app-nopol', 'ivan')}`);
    assert.equal(r.status, 403, r.text);
    assert.equal(errOf(r), 'Key not authorized: no matching policy');
    const sid = sessionId('default', md5('ivan'));
    await waitFor(() => rx.requests.some((q) => JSON.parse(q.body.toString()).path === '/oidc/nopol'), { what: 'AuthFailure webhook' });
    const e = rx.requests.map((q) => JSON.parse(q.body.toString())).find((x) => x.path === '/oidc/nopol');
    assert.equal(e.key, sid, 'the event names the generated session ID');
    assert.equal(await redisCommand(redis.port, 'GET', redisName(sid)), null);
  }));

  it('an expired id_token → 401 "Key not authorised"', T(async () => {
    const tok = await idp.idToken('app-short', 'frank');
    const { exp } = decodeJwt(tok).claims;
    await waitFor(() => Date.now() / 1000 > exp + 1, { timeoutMs: 5000, what: 'token expiry' });
    await expectDenied('/oidc/x', `Bearer ${tok}`, 'expired');
    await logged(/api=oidc openid: token from \S+ rejected: token has expired/);
  }));

  it('a provider down at first use: 401 and the gateway keeps serving; works once it is back', T(async () => {
    const tok = await downIdp.idToken('app-gold', 'gina');
    await downIdp.stop();
    await expectDenied('/down/x', `Bearer ${tok}`, 'provider down');
    assert.equal(gw.exited(), false);
    assert.equal((await get('/oidc/x', `Bearer ${await idp.idToken('app-gold', 'alice')}`)).status, 200);
    await logged(/openid: failed to fetch http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration/);
    await downIdp.start();
    // Refetches are rate limited (5 s per source and worker).
    await waitFor(async () => (await get('/down/x', `Bearer ${tok}`)).status === 200,
      { timeoutMs: 15000, intervalMs: 500, what: 'provider back' });
  }));

  it('a discovery document without jwks_uri: 401, and the log says why', T(async () => {
    // The token never gets to its signature check, so a self-made one serves.
    const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const tok = `${part({ alg: 'RS256', kid: 'x' })}.${part({ iss: badDisc.url, aud: 'app-gold', sub: 'jill', exp: Math.floor(Date.now() / 1000) + 600 })}.c2ln`;
    await expectDenied('/baddisc/x', `Bearer ${tok}`, 'no jwks_uri');
    assert.deepEqual(badDisc.requests.map((q) => q.url), ['/.well-known/openid-configuration']);
    await logged(/openid: discovery document http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration unusable: no http\(s\) jwks_uri/);
  }));

  it('key rotation: a token signed with a new kid makes the gateway refetch the JWKS', T(async () => {
    assert.equal((await get('/oidc/x', `Bearer ${await idp.idToken('app-gold', 'hank')}`)).status, 200);
    idp.rotate([rsaJwk('rotated-2')]);
    const tok = await idp.idToken('app-gold', 'hank');
    assert.equal(decodeJwt(tok).header.kid, 'rotated-2');
    await waitFor(async () => (await get('/oidc/x', `Bearer ${tok}`)).status === 200,
      { timeoutMs: 15000, intervalMs: 500, what: 'new key accepted' });
    // A new key under the same kid: the signature fails once, the key set is fetched again.
    idp.rotate([rsaJwk('rotated-2')]);
    const same = await idp.idToken('app-gold', 'hank');
    assert.equal(decodeJwt(same).header.kid, 'rotated-2');
    await waitFor(async () => (await get('/oidc/x', `Bearer ${same}`)).status === 200,
      { timeoutMs: 15000, intervalMs: 500, what: 'replaced key accepted' });
  }));
});
