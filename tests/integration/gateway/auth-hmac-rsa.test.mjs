// SPDX-License-Identifier: Apache-2.0
// RSA HTTP signatures (enable_signature_checking with algorithm "rsa-sha256"): the key's session
// has enable_http_signature_validation and rsa_certificate_id naming a public key in the
// certificate store (POST /tyk/certs), an inline PEM or a file; PKCS#1 v1.5 over SHA-256, plain
// base64 signature. Tyk answers 400 for bad signatures, 500 when the key is missing or not RSA.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';

const MSG = 'Authorization field missing, malformed or invalid';
const rights = (...ids) => Object.fromEntries(ids.map((id) => [id, { api_id: id, api_name: id, versions: ['Default'] }]));

function hmacApi(api_id, target, def = {}) {
  return {
    name: api_id, api_id, org_id: 'default', use_keyless: false, active: true,
    enable_signature_checking: true,
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: `/${api_id}/`, target_url: target, strip_listen_path: true },
    ...def,
  };
}

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pubPem = (kp) => kp.publicKey.export({ type: 'spki', format: 'pem' });
const derSha = (kp) => crypto.createHash('sha256').update(kp.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');

function signed(keyId, { key = rsa.privateKey, algorithm = 'rsa-sha256', date = new Date().toUTCString(),
  headers, extra = {}, method = 'GET', path: p = '/', mangle = (s) => s } = {}) {
  const lines = (headers || 'date').split(' ').map((h) => (h === '(request-target)'
    ? `(request-target): ${method.toLowerCase()} ${p}` : h === 'date' ? `date: ${date}` : `${h}: ${extra[h]}`));
  const sig = mangle(crypto.sign('sha256', Buffer.from(lines.join('\n')), key).toString('base64'));
  const hdr = [`keyId="${keyId}"`, `algorithm="${algorithm}"`];
  if (headers) hdr.push(`headers="${headers}"`);
  hdr.push(`signature="${sig}"`);
  return { Date: date, ...extra, Authorization: `Signature ${hdr.join(',')}` };
}

describe('HMAC middleware with rsa-sha256 signatures', () => {
  let gw, up, redis, dir, certId, ecId, certFileId;
  const T = withLogs(() => gw);
  const store = (key, session) => redisCommand(redis.port, 'SET', `apikey-${key}`, JSON.stringify(session));
  const get = (p, headers = {}, method = 'GET') => gw.get(p, { headers, method });
  const expectErr = (r, status, msg) => {
    assert.equal(r.status, status, r.text);
    assert.equal(JSON.parse(r.text).error, msg);
  };
  const session = (rsa_certificate_id, more = {}) => ({ org_id: 'default', enable_http_signature_validation: true,
    rsa_certificate_id, access_rights: rights('rsa', 'skew', 'algs'), ...more });

  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    dir = makeTempDir('turnpike-rsa-');
    certFileId = path.join(dir, 'pub.pem');
    fs.writeFileSync(certFileId, pubPem(rsa));
    gw = await startGateway({
      redis,
      conf: { hash_keys: false },
      apis: [
        hmacApi('rsa', up.url),
        hmacApi('skew', up.url, { hmac_allowed_clock_skew: 5000 }),
        hmacApi('algs', up.url, { hmac_allowed_algorithms: ['hmac-sha256'] }),
      ],
    });
    // Public keys go into the store with an empty org: their ID is then the bare (hex) SHA-256.
    let r = await gw.admin('POST', '/tyk/certs', pubPem(rsa));
    assert.equal(r.status, 200, r.text);
    certId = JSON.parse(r.text).id;
    assert.equal(certId, derSha(rsa));
    r = await gw.admin('POST', '/tyk/certs', pubPem(ec));
    assert.equal(r.status, 200, r.text);
    ecId = JSON.parse(r.text).id;
    await store('rsakey1', session(certId));
    await store('rsafile1', session(certFileId));
    await store('rsainline1', session(pubPem(rsa)));
    await store('rsaec1', session(ecId));
    await store('rsamissing1', session('ab'.repeat(32)));
    await store('rsaorg1', session(`default${certId}`)); // not hex: Tyk reads it as a file path
    await store('rsaoff1', session(certId, { enable_http_signature_validation: false, hmac_enabled: true }));
    await store('rsanoid1', session(''));
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a signature by the stored public key\'s private key passes', T(async () => {
    const r = await get('/rsa/x', signed('rsakey1'));
    assert.equal(r.status, 200, r.text);
    const r2 = await get('/rsa/x', signed('rsakey1', { algorithm: 'rsa-sha512' })); // any rsa* hashes SHA-256
    assert.equal(r2.status, 200, r2.text);
  }));

  it('signing (request-target) and other headers works; the signing string must match', T(async () => {
    const h = signed('rsakey1', { headers: '(request-target) date x-extra', extra: { 'x-extra': 'v1' }, path: '/rsa/y' });
    assert.equal((await get('/rsa/y', h)).status, 200);
    expectErr(await get('/rsa/z', h), 400, MSG);
    expectErr(await get('/rsa/y', { ...h, 'x-extra': 'v2' }), 400, MSG);
  }));

  it('rsa_certificate_id may be an inline PEM or a file path', T(async () => {
    assert.equal((await get('/rsa/x', signed('rsainline1'))).status, 200);
    assert.equal((await get('/rsa/x', signed('rsafile1'))).status, 200);
  }));

  it('a signature by another key, garbage, or a URL-escaped signature is 400', T(async () => {
    expectErr(await get('/rsa/x', signed('rsakey1', { key: other.privateKey })), 400, MSG);
    expectErr(await get('/rsa/x', signed('rsakey1', { mangle: () => 'bm90IGEgc2lnbmF0dXJl' })), 400, MSG);
    expectErr(await get('/rsa/x', signed('rsakey1', { mangle: (s) => `${s}!` })), 400, MSG);
    // Unlike hmac-*, the RSA signature is plain base64: url.QueryEscape'd text does not verify.
    expectErr(await get('/rsa/x', signed('rsakey1', { mangle: encodeURIComponent })), 400, MSG);
  }));

  it('keys without enable_http_signature_validation or rsa_certificate_id are 400', T(async () => {
    expectErr(await get('/rsa/x', signed('rsaoff1')), 400, MSG);
    expectErr(await get('/rsa/x', signed('rsanoid1')), 400, MSG);
    expectErr(await get('/rsa/x', signed('nosuchkey')), 400, MSG);
  }));

  it('a public key that is not in the store is 500 "Certificate not found"', T(async () => {
    expectErr(await get('/rsa/x', signed('rsamissing1')), 500, 'Certificate not found');
    expectErr(await get('/rsa/x', signed('rsaorg1')), 500, 'Certificate not found');
  }));

  it('a non-RSA public key is 500 "Certificate doesn\'t contain RSA Public key"', T(async () => {
    expectErr(await get('/rsa/x', signed('rsaec1')), 500, "Certificate doesn't contain RSA Public key");
  }));

  it('the date is checked after the signature: clock skew and a missing date are 400', T(async () => {
    const old = new Date(Date.now() - 60000).toUTCString();
    assert.equal((await get('/rsa/x', signed('rsakey1', { date: old }))).status, 200); // no bound set
    expectErr(await get('/skew/x', signed('rsakey1', { date: old })), 400, MSG);
    assert.equal((await get('/skew/x', signed('rsakey1'))).status, 200);
    // A bad date with a missing public key: the key error wins (Tyk's order).
    expectErr(await get('/skew/x', signed('rsamissing1', { date: old })), 500, 'Certificate not found');
  }));

  it('hmac_allowed_algorithms without rsa-sha256 refuses RSA signatures', T(async () => {
    expectErr(await get('/algs/x', signed('rsakey1')), 400, MSG);
  }));

  it('a deleted public key stops verifying at once (no stale copy)', T(async () => {
    await store('rsadel1', session(derSha(other)));
    const r = await gw.admin('POST', '/tyk/certs', pubPem(other));
    assert.equal(r.status, 200, r.text);
    assert.equal((await get('/rsa/x', signed('rsadel1', { key: other.privateKey }))).status, 200);
    const d = await gw.admin('DELETE', `/tyk/certs/${derSha(other)}`);
    assert.equal(d.status, 200, d.text);
    expectErr(await get('/rsa/x', signed('rsadel1', { key: other.privateKey })), 500, 'Certificate not found');
  }));
});
