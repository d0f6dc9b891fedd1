// SPDX-License-Identifier: Apache-2.0
// HMAC request signing (enable_signature_checking): signatures made here with node:crypto the way
// Tyk clients make them, and every failure answered 400 with Tyk's one message.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';

const MSG = 'Authorization field missing, malformed or invalid';
const SECRET = '9879879878787878';

function hmacApi(api_id, target, def = {}) {
  return {
    name: api_id, api_id, org_id: 'default', use_keyless: false, active: true,
    enable_signature_checking: true,
    auth: { auth_header_name: 'Authorization' },
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: `/${api_id}/`, target_url: target, strip_listen_path: true },
    ...def,
  };
}

const HASHES = { 'hmac-sha1': 'sha1', 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512' };

/* base64(HMAC(secret, signing string)), as a Tyk client computes it (unknown algorithm → SHA-1). */
function sign(str, algorithm, secret = SECRET) {
  return crypto.createHmac(HASHES[algorithm] || 'sha1', secret).update(str).digest('base64');
}

function authHeader({ keyId, algorithm, headers, signature }) {
  const parts = [`keyId="${keyId}"`];
  if (algorithm !== undefined) parts.push(`algorithm="${algorithm}"`);
  if (headers !== undefined) parts.push(`headers="${headers}"`);
  parts.push(`signature="${signature}"`);
  return `Signature ${parts.join(',')}`;
}

/* Headers for a request signed over `date: <now>` only (Tyk's default header list). */
function signedDate(keyId, algorithm, { secret, date = new Date().toUTCString(), escape = encodeURIComponent } = {}) {
  const signature = escape(sign(`date: ${date}`, algorithm, secret));
  return { Date: date, Authorization: authHeader({ keyId, algorithm, signature }) };
}

const rights = (...ids) => Object.fromEntries(ids.map((id) => [id, { api_id: id, api_name: id, versions: ['Default'] }]));

describe('HMAC request signing', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  const store = (key, session) => redisCommand(redis.port, 'SET', `apikey-${key}`, JSON.stringify(session));
  const get = (p, headers = {}, method = 'GET') => gw.get(p, { headers, method });
  const ALL = ['hmac', 'skew', 'algs', 'hdr'];
  const expect400 = (r) => {
    assert.equal(r.status, 400, r.text);
    assert.equal(JSON.parse(r.text).error, MSG);
  };

  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { hash_keys: false, local_session_cache: { cached_session_timeout: 60 } },
      apis: [
        hmacApi('hmac', up.url),
        hmacApi('skew', up.url, { hmac_allowed_clock_skew: 5000 }),
        hmacApi('algs', up.url, { hmac_allowed_algorithms: ['hmac-sha512', 'hmac-sha384'] }),
        hmacApi('hdr', up.url, { auth_configs: { hmac: { auth_header_name: 'X-Signature' } } }),
      ],
    });
    await store('hmackey1', { org_id: 'default', hmac_enabled: true, hmac_string: SECRET, access_rights: rights(...ALL) });
    await store('sigkey1', { org_id: 'default', enable_http_signature_validation: true, hmac_string: SECRET,
      access_rights: rights(...ALL) });
    await store('nohmac1', { org_id: 'default', hmac_enabled: false, hmac_string: SECRET, access_rights: rights(...ALL) });
    await store('nosecret1', { org_id: 'default', hmac_enabled: true, hmac_string: '', access_rights: rights(...ALL) });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
  });

  for (const alg of ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']) {
    it(`${alg}: a good signature over the Date header → 200`, T(async () => {
      const r = await get('/hmac/ok', signedDate('hmackey1', alg));
      assert.equal(r.status, 200, r.text);
      assert.equal(JSON.parse(r.text).url, '/ok');
    }));
  }

  it('no algorithm, or an unknown one, means hmac-sha1', T(async () => {
    const date = new Date().toUTCString();
    const signature = encodeURIComponent(sign(`date: ${date}`, 'hmac-sha1'));
    let r = await get('/hmac/a', { Date: date, Authorization: authHeader({ keyId: 'hmackey1', signature }) });
    assert.equal(r.status, 200, r.text);
    r = await get('/hmac/a', { Date: date, Authorization: authHeader({ keyId: 'hmackey1', algorithm: 'hmac-md5', signature }) });
    assert.equal(r.status, 200, r.text);
  }));

  it('enable_http_signature_validation also enables a key', T(async () => {
    const r = await get('/hmac/a', signedDate('sigkey1', 'hmac-sha256'));
    assert.equal(r.status, 200, r.text);
  }));

  it('the leading word may be "signature" or absent', T(async () => {
    const h = signedDate('hmackey1', 'hmac-sha256');
    const bare = h.Authorization.replace(/^Signature /, '');
    assert.equal((await get('/hmac/a', { ...h, Authorization: `signature ${bare}` })).status, 200);
    assert.equal((await get('/hmac/a', { ...h, Authorization: bare })).status, 200);
  }));

  it('(request-target) and extra headers: lower-case method, full decoded path, trimmed values', T(async () => {
    const date = new Date().toUTCString();
    const str = `(request-target): post /hmac/a b\ndate: ${date}\nx-test-1: hello\nx-test-2: world`;
    const signature = encodeURIComponent(sign(str, 'hmac-sha256'));
    const headers = {
      Date: date, 'X-Test-1': 'hello', 'X-Test-2': '  world',
      Authorization: authHeader({ keyId: 'hmackey1', algorithm: 'hmac-sha256',
        headers: '(request-target) date x-test-1 x-test-2', signature }),
    };
    const r = await get('/hmac/a%20b', headers, 'POST');
    assert.equal(r.status, 200, r.text);
    // A different method or header value breaks it.
    expect400(await get('/hmac/a%20b', headers, 'PUT'));
    expect400(await get('/hmac/a%20b', { ...headers, 'X-Test-1': 'bye' }, 'POST'));
  }));

  it('a listed header that is absent signs as "name: "', T(async () => {
    const date = new Date().toUTCString();
    const signature = encodeURIComponent(sign(`date: ${date}\nx-missing: `, 'hmac-sha1'));
    const r = await get('/hmac/a', { Date: date,
      Authorization: authHeader({ keyId: 'hmackey1', algorithm: 'hmac-sha1', headers: 'date x-missing', signature }) });
    assert.equal(r.status, 200, r.text);
  }));

  it('x-aux-date is preferred over Date, and its name is what is signed', T(async () => {
    const aux = new Date().toUTCString();
    const signature = encodeURIComponent(sign(`x-aux-date: ${aux}`, 'hmac-sha1'));
    const r = await get('/skew/a', { Date: 'Mon, 02 Jan 2006 15:04:05 GMT', 'X-Aux-Date': aux,
      Authorization: authHeader({ keyId: 'hmackey1', algorithm: 'hmac-sha1', signature }) });
    assert.equal(r.status, 200, r.text);
    // Signed as "date: ..." while x-aux-date is present → mismatch.
    const wrong = encodeURIComponent(sign(`date: ${aux}`, 'hmac-sha1'));
    expect400(await get('/hmac/a', { Date: aux, 'X-Aux-Date': aux,
      Authorization: authHeader({ keyId: 'hmackey1', algorithm: 'hmac-sha1', signature: wrong }) }));
  }));

  it('signature escaping: Tyk compares url.QueryEscape(base64); lower-case %xx accepted, raw base64 not', T(async () => {
    // Find a date whose SHA-256 signature has escapable characters (always: 44 chars end in "=").
    const date = new Date().toUTCString();
    const b64 = sign(`date: ${date}`, 'hmac-sha256');
    assert.ok(b64.endsWith('='));
    const upper = encodeURIComponent(b64);
    const lower = upper.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
    const with_ = (signature) => ({ Date: date, Authorization: authHeader({ keyId: 'hmackey1', algorithm: 'hmac-sha256', signature }) });
    assert.equal((await get('/hmac/a', with_(upper))).status, 200);
    assert.equal((await get('/hmac/a', with_(lower))).status, 200);
    expect400(await get('/hmac/a', with_(b64)));
  }));

  it('wrong secret → 400', T(async () => {
    expect400(await get('/hmac/a', signedDate('hmackey1', 'hmac-sha256', { secret: 'not-the-secret' })));
  }));

  it('unknown keyId → 400 (not 403), both before and after a cached key', T(async () => {
    expect400(await get('/hmac/a', signedDate('no-such-key', 'hmac-sha256')));
    // Cached session for hmackey1, then a bad signature with it (cache-hit path).
    assert.equal((await get('/hmac/a', signedDate('hmackey1', 'hmac-sha1'))).status, 200);
    expect400(await get('/hmac/a', signedDate('hmackey1', 'hmac-sha1', { secret: 'x' })));
  }));

  it('keys without hmac_enabled / without a secret → 400', T(async () => {
    expect400(await get('/hmac/a', signedDate('nohmac1', 'hmac-sha1')));
    expect400(await get('/hmac/a', signedDate('nosecret1', 'hmac-sha1', { secret: '' })));
  }));

  it('missing or malformed Authorization → 400', T(async () => {
    const date = new Date().toUTCString();
    expect400(await get('/hmac/a', { Date: date }));
    const good = signedDate('hmackey1', 'hmac-sha1', { date });
    expect400(await get('/hmac/a', { ...good, Authorization: good.Authorization + ',extra="1"' }));
    expect400(await get('/hmac/a', { ...good, Authorization: good.Authorization.replace(/"$/, '') }));
    expect400(await get('/hmac/a', { ...good, Authorization: 'Signature keyId="hmackey1"' }));
    expect400(await get('/hmac/a', { ...good, Authorization: 'Bearer hmackey1' }));
  }));

  it('a missing or unparsable date → 400 even without a skew bound', T(async () => {
    const sig = encodeURIComponent(sign(': ', 'hmac-sha1'));
    expect400(await get('/hmac/a', { Authorization: authHeader({ keyId: 'hmackey1', algorithm: 'hmac-sha1', signature: sig }) }));
    const date = new Date().toISOString();
    expect400(await get('/hmac/a', signedDate('hmackey1', 'hmac-sha1', { date })));
  }));

  it('hmac_allowed_clock_skew: old or future dates → 400; numeric zone accepted', T(async () => {
    const old = new Date(Date.now() - 3600e3).toUTCString();
    expect400(await get('/skew/a', signedDate('hmackey1', 'hmac-sha1', { date: old })));
    const future = new Date(Date.now() + 60e3).toUTCString();
    expect400(await get('/skew/a', signedDate('hmackey1', 'hmac-sha1', { date: future })));
    // Without a bound the same old date is fine.
    assert.equal((await get('/hmac/a', signedDate('hmackey1', 'hmac-sha1', { date: old }))).status, 200);
    assert.equal((await get('/skew/a', signedDate('hmackey1', 'hmac-sha1'))).status, 200);
    const numeric = new Date().toUTCString().replace('GMT', '+00');
    assert.equal((await get('/skew/a', signedDate('hmackey1', 'hmac-sha1', { date: numeric }))).status, 200);
  }));

  it('hmac_allowed_algorithms restricts (exact names)', T(async () => {
    assert.equal((await get('/algs/a', signedDate('hmackey1', 'hmac-sha512'))).status, 200);
    assert.equal((await get('/algs/a', signedDate('hmackey1', 'hmac-sha384'))).status, 200);
    expect400(await get('/algs/a', signedDate('hmackey1', 'hmac-sha256')));
    expect400(await get('/algs/a', signedDate('hmackey1', undefined)));
  }));

  it('auth_configs.hmac.auth_header_name picks the header', T(async () => {
    const h = signedDate('hmackey1', 'hmac-sha256');
    assert.equal((await get('/hdr/a', { Date: h.Date, 'X-Signature': h.Authorization })).status, 200);
    expect400(await get('/hdr/a', h));
  }));
});
