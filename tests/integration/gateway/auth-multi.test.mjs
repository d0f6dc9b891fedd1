// SPDX-License-Identifier: Apache-2.0
// Several auth methods on one API (Tyk's multi-auth): every enabled method must pass (AND), and
// base_identity_provided_by picks whose session the rest of the chain (access rights, quotas)
// uses; unset means the last method to run (AuthKey comes last, as in Tyk's chain).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { murmur32 } from '../lib/murmur.mjs';

const rights = (...ids) => Object.fromEntries(ids.map((id) => [id, { api_id: id, api_name: id, versions: ['Default'] }]));
const b64 = (s) => Buffer.from(s).toString('base64');
const HMAC_SECRET = 'multi-secret';
const MISSING_SESSION = 'Session state is missing or unset! Please make sure that auth headers are properly applied';
const DENIED = 'Access to this API has been disallowed';

function multiApi(api_id, target, def = {}) {
  return {
    name: api_id, api_id, org_id: 'default', use_keyless: false, active: true,
    use_basic_auth: true, use_standard_auth: true,
    auth_configs: { authToken: { auth_header_name: 'X-Api-Key' }, basic: { auth_header_name: 'Authorization' } },
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: `/${api_id}/`, target_url: target, strip_listen_path: true },
    ...def,
  };
}

const BASIC_APIS = ['unset', 'basic', 'token', 'jwtbase', 'hmacbasic'];

describe('several auth methods and base_identity_provided_by', () => {
  let gw, up, redis, tokenA, tokenB;
  const T = withLogs(() => gw);
  const get = (p, headers = {}) => gw.get(p, { headers });
  const expectErr = (r, status, msg) => {
    assert.equal(r.status, status, r.text);
    assert.equal(JSON.parse(r.text).error, msg);
  };
  const user = (name, pw) => ({ Authorization: `Basic ${b64(`${name}:${pw}`)}` });

  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { hash_keys: true, hash_key_function: 'murmur64', local_session_cache: { cached_session_timeout: 60 } },
      apis: [
        multiApi('unset', up.url),
        multiApi('basic', up.url, { base_identity_provided_by: 'basic_auth_user' }),
        multiApi('token', up.url, { base_identity_provided_by: 'auth_token' }),
        multiApi('jwtbase', up.url, { base_identity_provided_by: 'jwt_claim' }), // JWT not enabled
        // Basic + HMAC (Signature in its own header), identity from HMAC.
        multiApi('hmacbasic', up.url, { use_standard_auth: false, enable_signature_checking: true,
          base_identity_provided_by: 'hmac_key',
          auth_configs: { hmac: { auth_header_name: 'X-Signature' }, basic: { auth_header_name: 'Authorization' } } }),
        // One method only, but the base names another: nobody provides the identity.
        multiApi('single', up.url, { use_standard_auth: false, base_identity_provided_by: 'auth_token' }),
      ],
    });
    // The basic user may use every API, with a quota of 100; the token key only "token".
    let r = await gw.admin('POST', '/tyk/keys/multiuser', { org_id: 'default', quota_max: 100, quota_renewal_rate: 3600,
      access_rights: rights(...BASIC_APIS, 'single'), basic_auth_data: { password: 'pw' } });
    assert.equal(r.status, 200, r.text);
    r = await gw.admin('POST', '/tyk/keys', { org_id: 'default', quota_max: 5, quota_renewal_rate: 3600,
      access_rights: rights('token') });
    assert.equal(r.status, 200, r.text);
    tokenA = JSON.parse(r.text).key;
    r = await gw.admin('POST', '/tyk/keys', { org_id: 'default',
      access_rights: rights(...BASIC_APIS.filter((a) => a !== 'token')) });
    assert.equal(r.status, 200, r.text);
    tokenB = JSON.parse(r.text).key;
    await redisCommand(redis.port, 'SET', `apikey-${murmur32('hmacmulti')}`, JSON.stringify({ org_id: 'default', hmac_enabled: true,
      hmac_string: HMAC_SECRET, quota_max: 7, quota_renewal_rate: 3600, access_rights: rights('hmacbasic') }));
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
  });

  it('every method must pass: a missing or wrong credential of either fails', T(async () => {
    expectErr(await get('/basic/x', user('multiuser', 'pw')), 401, 'Authorization field missing');
    expectErr(await get('/basic/x', { 'X-Api-Key': tokenB }), 401, 'Authorization field missing');
    expectErr(await get('/basic/x', { ...user('multiuser', 'nope'), 'X-Api-Key': tokenB }), 401, 'User not authorised');
    expectErr(await get('/basic/x', { ...user('multiuser', 'pw'), 'X-Api-Key': 'unknown-key' }), 403, DENIED);
    assert.equal((await get('/basic/x', { ...user('multiuser', 'pw'), 'X-Api-Key': tokenB })).status, 200);
  }));

  it('basic_auth_user: access rights and quota come from the basic user, not the token', T(async () => {
    // tokenA has no right to "basic"; the basic user has.
    const r = await get('/basic/x', { ...user('multiuser', 'pw'), 'X-Api-Key': tokenA });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-ratelimit-limit'], '100');
  }));

  it('auth_token: the token key\'s session decides', T(async () => {
    const r = await get('/token/x', { ...user('multiuser', 'pw'), 'X-Api-Key': tokenA });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-ratelimit-limit'], '5');
    // tokenB has no quota: the basic user's 100 does not show through.
    const r2 = await get('/token/x', { ...user('multiuser', 'pw'), 'X-Api-Key': tokenB });
    expectErr(r2, 403, DENIED); // tokenB has no right to "token"
  }));

  it('unset: the last method (AuthKey) provides the session', T(async () => {
    expectErr(await get('/unset/x', { ...user('multiuser', 'pw'), 'X-Api-Key': tokenA }), 403, DENIED);
    const r = await get('/unset/x', { ...user('multiuser', 'pw'), 'X-Api-Key': tokenB });
    assert.equal(r.status, 200, r.text);
  }));

  it('hmac_key with basic: the HMAC key\'s session is kept', T(async () => {
    const date = new Date().toUTCString();
    const sig = encodeURIComponent(crypto.createHmac('sha1', HMAC_SECRET).update(`date: ${date}`).digest('base64'));
    const h = { ...user('multiuser', 'pw'), Date: date,
      'X-Signature': `Signature keyId="hmacmulti",algorithm="hmac-sha1",signature="${sig}"` };
    const r = await get('/hmacbasic/x', h);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-ratelimit-limit'], '7');
    const { Authorization: _omit, ...noBasic } = h;
    expectErr(await get('/hmacbasic/x', noBasic), 401, 'Authorization field missing');
  }));

  it('a base method that is not enabled leaves no session: 400 from KeyExpired', T(async () => {
    expectErr(await get('/jwtbase/x', { ...user('multiuser', 'pw'), 'X-Api-Key': tokenB }), 400, MISSING_SESSION);
    expectErr(await get('/single/x', user('multiuser', 'pw')), 400, MISSING_SESSION);
  }));

  it('quota is counted against the base identity only', T(async () => {
    const h = { ...user('multiuser', 'pw'), 'X-Api-Key': tokenA };
    const first = await get('/token/x', h);
    const second = await get('/token/x', h);
    assert.equal(Number(first.headers['x-ratelimit-remaining']) - 1, Number(second.headers['x-ratelimit-remaining']));
    const b1 = await get('/basic/x', h);
    const b2 = await get('/basic/x', h);
    assert.equal(Number(b1.headers['x-ratelimit-remaining']) - 1, Number(b2.headers['x-ratelimit-remaining']));
    // Spending on "basic" (basic user's quota) left tokenA's quota where it was.
    const third = await get('/token/x', h);
    assert.equal(Number(third.headers['x-ratelimit-remaining']), Number(second.headers['x-ratelimit-remaining']) - 1);
  }));

  it('many requests leave no leaked sessions (clean stop under ASan)', T(async () => {
    for (let i = 0; i < 20; i++) {
      await get('/unset/x', { ...user('multiuser', 'pw'), 'X-Api-Key': tokenB });
      await get('/basic/x', { ...user('multiuser', 'pw'), 'X-Api-Key': 'nope' });
    }
    const g = gw;
    await g.stop();
    gw = null;
    assert.deepEqual(g.stderrLines.filter((l) => /Sanitizer|runtime error|leak/i.test(l)), []);
    assert.equal(g.proc.exitCode, 0);
  }));
});
