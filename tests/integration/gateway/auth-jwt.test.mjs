// SPDX-License-Identifier: Apache-2.0
// JWT authentication: HMAC/RSA/ECDSA sources, signing-method checks, claim times with skews,
// policies from claims, defaults and scopes, the virtual session Tyk stores, one-to-one keys,
// JWKS key sets fetched over http(s), refetched for an unknown kid, and a JWKS server that is down.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { murmur32 } from '../lib/murmur.mjs';
import { makeCert } from '../lib/certs.mjs';
import { freePort } from '../lib/ports.mjs';

const b64url = (b) => Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const b64 = (s) => Buffer.from(s).toString('base64');
const now = () => Math.floor(Date.now() / 1000);

/* Signs a compact JWS with node:crypto, independently of the gateway's code. */
function sign(alg, key, claims, header = {}) {
  const h = b64url(JSON.stringify({ alg, typ: 'JWT', ...header }));
  const c = b64url(JSON.stringify(claims));
  const input = `${h}.${c}`;
  let sig;
  if (alg.startsWith('HS')) sig = crypto.createHmac(`sha${alg.slice(2)}`, key).update(input).digest();
  else if (alg.startsWith('RS')) sig = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), key);
  else if (alg.startsWith('ES')) sig = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else sig = Buffer.alloc(0);
  return `${input}.${b64url(sig)}`;
}

function virtualId(org, identity) {
  const id = crypto.createHash('md5').update(identity).digest('hex');
  return Buffer.from(`{"org":"${org}","id":"${id}","h":"sha256"}`).toString('base64');
}
const redisName = (token) => `apikey-${crypto.createHash('sha256').update(token).digest('hex')}`;

const SECRET = 'a-shared-hmac-secret';
const APIS = ['hs', 'rs', 'es', 'skew', 'scope', 'one', 'idf', 'hdr', 'jwks-rs', 'jwks-es', 'jwks-rot', 'jwks-down'];

function jwtApi(id, extra = {}, target) {
  return {
    name: id, api_id: id, org_id: 'default', use_keyless: false, active: true, enable_jwt: true,
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: `/${id}/`, target_url: target, strip_listen_path: true },
    ...extra,
  };
}

describe('JWT authentication', () => {
  let gw, up, redis, polDir, keyDir, rsaPriv, rsaPub, ecPriv, ecPub, rsa2Priv, rsa2Pub, jwksSrv, jwksTls;
  /* What the JWKS servers answer, by path; changed by the rotation test. */
  const jwksDocs = {};
  const jwk = (pem, kid) => ({ ...crypto.createPublicKey(pem).export({ format: 'jwk' }), kid });
  const T = withLogs(() => gw);
  const get = (p, token, headers = {}) => gw.get(p, { headers: token === undefined ? headers : { Authorization: token, ...headers } });
  const errOf = (r) => JSON.parse(r.text).error;
  /* The stored virtual session of @identity (written without blocking the request), polled until
   * @ok accepts it. */
  const stored = async (identity, ok = () => true) => {
    let s = null;
    for (let i = 0; i < 50; i++) {
      const raw = await redisCommand(redis.port, 'GET', redisName(virtualId('default', identity)));
      s = raw ? JSON.parse(raw) : null;
      if (s && ok(s)) return s;
      await new Promise((res) => setTimeout(res, 20));
    }
    return s;
  };

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-jwtkeys-'));
    const k = (n) => path.join(keyDir, n);
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', k('rsa.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', k('rsa.pem'), '-pubout', '-out', k('rsa.pub')], { stdio: 'ignore' });
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', k('ec.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', k('ec.pem'), '-pubout', '-out', k('ec.pub')], { stdio: 'ignore' });
    rsaPriv = fs.readFileSync(k('rsa.pem'), 'utf8'); rsaPub = fs.readFileSync(k('rsa.pub'), 'utf8');
    ecPriv = fs.readFileSync(k('ec.pem'), 'utf8'); ecPub = fs.readFileSync(k('ec.pub'), 'utf8');
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', k('rsa2.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', k('rsa2.pem'), '-pubout', '-out', k('rsa2.pub')], { stdio: 'ignore' });
    rsa2Priv = fs.readFileSync(k('rsa2.pem'), 'utf8'); rsa2Pub = fs.readFileSync(k('rsa2.pub'), 'utf8');

    jwksDocs['/rs.json'] = { keys: [jwk(ecPub, 'ec-1'), jwk(rsaPub, 'rsa-1')] };
    jwksDocs['/es.json'] = { keys: [jwk(ecPub, 'ec-1')] };
    jwksDocs['/rot.json'] = { keys: [jwk(rsaPub, 'k1')] };
    const serveJwks = (req, res) => {
      const doc = jwksDocs[req.url];
      res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' });
      res.end(doc ? JSON.stringify(doc) : '{}');
    };
    jwksSrv = await startUpstream(serveJwks, { name: 'jwks' });
    const cert = makeCert(path.join(keyDir, 'tls'));
    jwksTls = await startUpstream(serveJwks, { name: 'jwks-tls', tls: { key: cert.key, cert: cert.cert } });
    const deadPort = await freePort(); // nothing listens here

    up = await startUpstream();
    redis = await startRedis();
    polDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-pol-'));
    const rights = Object.fromEntries(APIS.map((a) => [a, { api_id: a, api_name: a, versions: ['Default'] }]));
    const pol = (id, extra = {}) => fs.writeFileSync(path.join(polDir, `${id}.json`), JSON.stringify({
      id, name: id, org_id: 'default', active: true, rate: 1000, per: 1, quota_max: -1, access_rights: rights, ...extra,
    }));
    pol('gold', { tags: ['gold'] });
    pol('silver', { tags: ['silver'] });
    pol('bronze', { tags: ['bronze'] });
    pol('foreign', { org_id: 'other-org' });
    pol('narrow', { access_rights: { hs: rights.hs } });

    const hmac = { jwt_signing_method: 'hmac', jwt_source: b64(SECRET) };
    gw = await startGateway({
      redis,
      conf: {
        hash_keys: true, hash_key_function: 'sha256',
        policies: { policy_source: 'file', policy_path: polDir },
        local_session_cache: { cached_session_timeout: 1 },
        jwt_ssl_insecure_skip_verify: true, // the https JWKS server's certificate is self-signed
      },
      apis: [
        jwtApi('hs', { ...hmac, jwt_policy_field_name: 'pol', jwt_default_policies: ['gold'] }, up.url),
        jwtApi('rs', { jwt_signing_method: 'rsa', jwt_source: b64(rsaPub), jwt_policy_field_name: 'pol' }, up.url),
        jwtApi('es', { jwt_signing_method: 'ecdsa', jwt_source: b64(ecPub), jwt_default_policies: ['gold'] }, up.url),
        jwtApi('skew', { ...hmac, jwt_default_policies: ['gold'], jwt_expires_at_validation_skew: 1000,
          jwt_not_before_validation_skew: 1000, jwt_issued_at_validation_skew: 1000 }, up.url),
        jwtApi('scope', { ...hmac, jwt_default_policies: ['gold'],
          scopes: { jwt: { scope_claim_name: 'perms.list', scope_to_policy: { read: 'silver', write: 'bronze' } } } }, up.url),
        jwtApi('one', { jwt_signing_method: 'hmac' }, up.url),
        jwtApi('idf', { ...hmac, jwt_identity_base_field: 'user.email', jwt_default_policies: ['gold'] }, up.url),
        jwtApi('hdr', { ...hmac, jwt_default_policies: ['gold'], auth_configs: { jwt: { auth_header_name: 'X-JWT' } } }, up.url),
        jwtApi('jwks-rs', { jwt_signing_method: 'rsa', jwt_source: `${jwksSrv.url.replace('127.0.0.1', 'localhost')}/rs.json` /* via evdns */, jwt_default_policies: ['gold'] }, up.url),
        jwtApi('jwks-es', { jwt_signing_method: 'ecdsa', jwt_source: b64(`${jwksTls.url}/es.json`), jwt_default_policies: ['gold'] }, up.url),
        jwtApi('jwks-rot', { jwt_signing_method: 'rsa', jwt_default_policies: ['gold'],
          jwt_jwks_uris: [{ url: `${jwksSrv.url}/rot.json`, cache_timeout: 300 }] }, up.url),
        jwtApi('jwks-down', { jwt_signing_method: 'rsa', jwt_default_policies: ['gold'],
          jwt_jwks_uris: [{ url: `http://127.0.0.1:${deadPort}/jwks.json` }] }, up.url),
      ],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop(); await jwksSrv?.close(); await jwksTls?.close();
    for (const d of [polDir, keyDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
    // ASan/UBSan builds report leaks and errors on exit.
    assert.doesNotMatch(gw?.logs() ?? '', /Sanitizer|runtime error/);
  });

  it('missing token → 400 "Authorization field missing"', T(async () => {
    const r = await get('/hs/x');
    assert.equal(r.status, 400);
    assert.equal(errOf(r), 'Authorization field missing');
  }));

  it('HS256 with the right secret passes (Bearer stripped); a wrong secret → 403', T(async () => {
    const ok = await get('/hs/x', `Bearer ${sign('HS256', SECRET, { sub: 'alice', exp: now() + 600 })}`);
    assert.equal(ok.status, 200, ok.text);
    const bad = await get('/hs/x', sign('HS256', 'not-the-secret', { sub: 'alice' }));
    assert.equal(bad.status, 403);
    assert.equal(errOf(bad), 'Key not authorized');
  }));

  it('the credential source follows auth_configs.jwt', T(async () => {
    const tok = sign('HS256', SECRET, { sub: 'hdr-user' });
    assert.equal((await get('/hdr/x', undefined, { 'X-JWT': tok })).status, 200);
    assert.equal((await get('/hdr/x', tok)).status, 400);
  }));

  it('RS256 with a PEM public key source; ES256 with an EC key', T(async () => {
    const r = await get('/rs/x', sign('RS256', rsaPriv, { sub: 'bob', pol: 'gold' }));
    assert.equal(r.status, 200, r.text);
    const e = await get('/es/x', sign('ES256', ecPriv, { sub: 'carol' }));
    assert.equal(e.status, 200, e.text);
    const forged = await get('/es/x', sign('ES256', ecPriv, { sub: 'carol' }).replace(/\.[^.]+$/, `.${b64url(Buffer.alloc(64, 7))}`));
    assert.equal(forged.status, 403);
  }));

  it('an algorithm outside jwt_signing_method → 403 "Unexpected signing method"; alg none rejected', T(async () => {
    const r = await get('/rs/x', sign('HS256', SECRET, { sub: 'bob', pol: 'gold' }));
    assert.equal(r.status, 403);
    assert.equal(errOf(r), 'Key not authorized: Unexpected signing method');
    const e = await get('/hs/x', sign('ES256', ecPriv, { sub: 'x' }));
    assert.equal(errOf(e), 'Key not authorized: Unexpected signing method');
    const none = await get('/hs/x', sign('none', null, { sub: 'x' }));
    assert.equal(none.status, 403);
    assert.equal(errOf(none), 'Key not authorized: Unexpected signing method');
  }));

  it('expired → 401 unless within jwt_expires_at_validation_skew', T(async () => {
    const tok = sign('HS256', SECRET, { sub: 'dave', exp: now() - 60 });
    const r = await get('/hs/x', tok);
    assert.equal(r.status, 401);
    assert.equal(errOf(r), 'Key not authorized: token has expired');
    // Within the skew the token passes, but as in Tyk a new virtual session takes the token's
    // exp as its expiry, so the key-expiry check refuses it...
    const fresh = await get('/skew/x', tok);
    assert.equal(fresh.status, 401);
    assert.equal(errOf(fresh), 'Key has expired, please renew');
    // ...while a session that already lives longer keeps its expiry (exp never shortens it).
    assert.equal((await get('/skew/x', sign('HS256', SECRET, { sub: 'dave2', exp: now() + 600 }))).status, 200);
    assert.equal((await get('/skew/x', sign('HS256', SECRET, { sub: 'dave2', exp: now() - 60 }))).status, 200);
    const old = await get('/skew/x', sign('HS256', SECRET, { sub: 'dave', exp: now() - 5000 }));
    assert.equal(old.status, 401);
  }));

  it('nbf / iat in the future → 401, unless within the skews', T(async () => {
    const nbf = sign('HS256', SECRET, { sub: 'erin', nbf: now() + 300 });
    const r = await get('/hs/x', nbf);
    assert.equal(r.status, 401);
    assert.equal(errOf(r), 'Key not authorized: token is not valid yet');
    assert.equal((await get('/skew/x', nbf)).status, 200);
    const iat = await get('/hs/x', sign('HS256', SECRET, { sub: 'erin', iat: now() + 300 }));
    assert.equal(iat.status, 401);
    assert.equal(errOf(iat), 'Key not authorized: token used before issued');
  }));

  it('malformed and oversized tokens are refused with Tyk\'s error; the gateway stays up', T(async () => {
    for (const t of ['abc', 'a.b', 'a.b.c.d', '!!!.@@@.###', `${b64url('{"alg":"HS256"')}.${b64url('{}')}.x`]) {
      const r = await get('/hs/x', t);
      assert.equal(r.status, 403, t);
      assert.equal(errOf(r), 'Key not authorized');
    }
    const big = sign('HS256', SECRET, { sub: 'big', pad: 'x'.repeat(20000) });
    const r = await get('/hs/x', big); // over the 16 KiB token cap, under the 32 KiB head limit
    assert.equal(r.status, 403);
    assert.equal(errOf(r), 'Key not authorized');
    const huge = await get('/hs/x', sign('HS256', SECRET, { sub: 'big', pad: 'x'.repeat(40000) }));
    assert.equal(huge.status, 431);
    assert.equal((await get('/hs/x', sign('HS256', SECRET, { sub: 'alive' }))).status, 200);
  }));

  it('the virtual session is stored as Tyk names it, with alias, TykJWTSessionID and exp', T(async () => {
    const exp = now() + 86400;
    const r = await get('/hs/x', sign('HS256', SECRET, { sub: 'frank', exp }));
    assert.equal(r.status, 200, r.text);
    const sid = virtualId('default', 'frank');
    let raw = null;
    for (let i = 0; i < 50 && !raw; i++) {
      raw = await redisCommand(redis.port, 'GET', redisName(sid));
      if (!raw) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(raw, 'session stored under apikey-<sha256(session id)>');
    const s = JSON.parse(raw);
    assert.equal(s.alias, 'frank');
    assert.equal(s.meta_data.TykJWTSessionID, sid);
    assert.deepEqual(s.apply_policies, ['gold']);
    assert.equal(s.org_id, 'default');
    assert.equal(s.expires, exp);
    assert.ok(s.access_rights.hs);
  }));

  it('identity from a dotted jwt_identity_base_field, else sub', T(async () => {
    assert.equal((await get('/idf/x', sign('HS256', SECRET, { user: { email: 'g@x.io' } }))).status, 200);
    assert.ok(await stored('g@x.io'));
    assert.equal((await get('/idf/x', sign('HS256', SECRET, { sub: 'henry' }))).status, 200);
    const none = await get('/idf/x', sign('HS256', SECRET, { name: 'nobody' }));
    assert.equal(none.status, 403);
    assert.equal(errOf(none), 'no suitable claims for user ID were found');
    const empty = await get('/idf/x', sign('HS256', SECRET, { user: { email: '' }, sub: 'x' }));
    assert.equal(errOf(empty), 'found an empty user ID in predefined base field claim user.email');
  }));

  it('policy from the claim; a policy change in a later token updates the session', T(async () => {
    assert.equal((await get('/hs/x', sign('HS256', SECRET, { sub: 'ivy', pol: 'narrow' }))).status, 200);
    assert.deepEqual((await stored('ivy')).apply_policies, ['narrow']);
    assert.equal((await get('/hs/x', sign('HS256', SECRET, { sub: 'ivy', pol: 'silver' }))).status, 200);
    assert.deepEqual((await stored('ivy', (x) => x.apply_policies[0] === 'silver')).apply_policies, ['silver']);
  }));

  it('no policy → 403; unknown or foreign-org policy → 403 "no matching policy"', T(async () => {
    const r = await get('/rs/x', sign('RS256', rsaPriv, { sub: 'jack' }));
    assert.equal(r.status, 403);
    assert.equal(errOf(r), 'key not authorized: no matching policy found');
    const u = await get('/rs/x', sign('RS256', rsaPriv, { sub: 'jack', pol: 'no-such-policy' }));
    assert.equal(u.status, 403);
    assert.equal(errOf(u), 'key not authorized: no matching policy');
    const f = await get('/rs/x', sign('RS256', rsaPriv, { sub: 'jack2', pol: 'foreign' }));
    assert.equal(f.status, 403);
    assert.equal(errOf(f), 'key not authorized: no matching policy');
  }));

  it('policy claim as an array applies every policy', T(async () => {
    const r = await get('/rs/x', sign('RS256', rsaPriv, { sub: 'kate', pol: ['gold', 'silver'] }));
    assert.equal(r.status, 200, r.text);
    const s = await stored('kate');
    assert.deepEqual(s.apply_policies, ['gold', 'silver']);
  }));

  it('scope claim maps to policies (nested claim name, space-separated or array)', T(async () => {
    const r = await get('/scope/x', sign('HS256', SECRET, { sub: 'liam', perms: { list: 'read write unknown' } }));
    assert.equal(r.status, 200, r.text);
    const s = await stored('liam');
    assert.deepEqual([...s.apply_policies].sort(), ['bronze', 'silver']);
    const a = await get('/scope/x', sign('HS256', SECRET, { sub: 'mia', perms: { list: ['read'] } }));
    assert.equal(a.status, 200);
    const s2 = await stored('mia');
    assert.deepEqual(s2.apply_policies, ['silver']);
    const none = await get('/scope/x', sign('HS256', SECRET, { sub: 'noah', perms: { list: 'admin' } }));
    assert.equal(none.status, 403);
    assert.equal(errOf(none), 'key not authorized: no matching policy found in scope claim');
    // no scope claim at all: the default policies stand
    assert.equal((await get('/scope/x', sign('HS256', SECRET, { sub: 'olga' }))).status, 200);
  }));

  it('one-to-one: kid names a Tyk key whose jwt_data.secret verifies the token', T(async () => {
    const key = 'onetoonekey1234';
    // a plain (non-b64-JSON) key hashes with murmur32 whatever hash_key_function says
    await redisCommand(redis.port, 'SET', `apikey-${murmur32(key)}`, JSON.stringify({
      org_id: 'default', jwt_data: { secret: 'per-key-secret' },
      access_rights: { one: { api_id: 'one', api_name: 'one', versions: ['Default'] } },
    }));
    const ok = await get('/one/x', sign('HS256', 'per-key-secret', { sub: 'x' }, { kid: key }));
    assert.equal(ok.status, 200, ok.text);
    const bad = await get('/one/x', sign('HS256', 'other', { sub: 'x' }, { kid: key }));
    assert.equal(bad.status, 403);
    assert.equal(errOf(bad), 'Key not authorized');
    const unknown = await get('/one/x', sign('HS256', 'per-key-secret', { sub: 'x' }, { kid: 'nosuchkey999' }));
    assert.equal(unknown.status, 403);
    const bysub = await get('/one/x', sign('HS256', 'per-key-secret', { sub: key }));
    assert.equal(bysub.status, 200, bysub.text);
  }));

  it('JWKS over http (plain URL source): RS256 by kid; unknown kid, wrong key or no kid → 403', T(async () => {
    const ok = await get('/jwks-rs/x', `Bearer ${sign('RS256', rsaPriv, { sub: 'jw1', exp: now() + 60 }, { kid: 'rsa-1' })}`);
    assert.equal(ok.status, 200, ok.text);
    const again = await get('/jwks-rs/x', sign('RS256', rsaPriv, { sub: 'jw1' }, { kid: 'rsa-1' }));
    assert.equal(again.status, 200, again.text);
    const unknown = await get('/jwks-rs/x', sign('RS256', rsaPriv, { sub: 'jw1' }, { kid: 'nope' }));
    assert.equal(unknown.status, 403);
    assert.equal(errOf(unknown), 'Key not authorized');
    const wrong = await get('/jwks-rs/x', sign('RS256', rsa2Priv, { sub: 'jw1' }, { kid: 'rsa-1' }));
    assert.equal(wrong.status, 403);
    const nokid = await get('/jwks-rs/x', sign('RS256', rsaPriv, { sub: 'jw1' }));
    assert.equal(nokid.status, 403);
    const expired = await get('/jwks-rs/x', sign('RS256', rsaPriv, { sub: 'jw1', exp: now() - 100 }, { kid: 'rsa-1' }));
    assert.equal(expired.status, 401);
    assert.equal(errOf(expired), 'Key not authorized: token has expired');
  }));

  it('JWKS over https (base64 URL source): ES256 by kid; parallel first requests share the download', T(async () => {
    const tok = sign('ES256', ecPriv, { sub: 'jw2' }, { kid: 'ec-1' });
    const rs = await Promise.all(Array.from({ length: 6 }, () => get('/jwks-es/x', tok)));
    for (const r of rs) assert.equal(r.status, 200, r.text);
    // Two workers: at most one download each for the six requests.
    assert.ok(jwksTls.requests.filter((q) => q.url === '/es.json').length <= 2);
  }));

  it('JWKS rotation: a token with a new kid is accepted once the set is refetched', T(async () => {
    const ok = await get('/jwks-rot/x', sign('RS256', rsaPriv, { sub: 'jw3' }, { kid: 'k1' }));
    assert.equal(ok.status, 200, ok.text);
    jwksDocs['/rot.json'] = { keys: [jwk(rsa2Pub, 'k2')] };
    const tok2 = sign('RS256', rsa2Priv, { sub: 'jw3' }, { kid: 'k2' });
    let r;
    const deadline = Date.now() + 12000; // refetches for unknown kids are spaced by a few seconds
    do {
      r = await get('/jwks-rot/x', tok2);
      if (r.status === 200) break;
      assert.equal(r.status, 403, r.text);
      await new Promise((res) => setTimeout(res, 500));
    } while (Date.now() < deadline);
    assert.equal(r.status, 200, r.text);
    // Unknown kids do not hammer the JWKS server.
    const before = jwksSrv.requests.filter((q) => q.url === '/rot.json').length;
    for (let i = 0; i < 10; i++) {
      const bad = await get('/jwks-rot/x', sign('RS256', rsa2Priv, { sub: 'jw3' }, { kid: `bad${i}` }));
      assert.equal(bad.status, 403);
    }
    assert.ok(jwksSrv.requests.filter((q) => q.url === '/rot.json').length - before <= 2);
  }));

  it('JWKS server down → 403 "Key not authorized"; the gateway keeps serving', T(async () => {
    const r = await get('/jwks-down/x', sign('RS256', rsaPriv, { sub: 'jw4' }, { kid: 'k1' }));
    assert.equal(r.status, 403);
    assert.equal(errOf(r), 'Key not authorized');
    const r2 = await get('/jwks-down/x', sign('RS256', rsaPriv, { sub: 'jw4' }, { kid: 'k1' }));
    assert.equal(r2.status, 403);
    const hs = await get('/hs/x', sign('HS256', SECRET, { sub: 'still-up' }));
    assert.equal(hs.status, 200, hs.text);
  }));
});
