// SPDX-License-Identifier: Apache-2.0
// Organisation sessions: the /tyk/org/keys control API and OrganizationMonitor (spec/gateway.md §6.6, §9.2, §10.8).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { murmur32 } from '../lib/murmur.mjs';

const MSG_QUOTA = 'This organisation quota has been exceeded, please contact your API administrator';
const MSG_RATE = 'This organisation rate limit has been exceeded, please contact your API administrator';
const MSG_INACTIVE = 'this organisation access has been disabled, please contact your API administrator';

function assertJson(r, status, body) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  if (body !== undefined) assert.deepEqual(r.json(), body);
}

const orgApi = (id, org, target, extra = {}) =>
  keylessApi({ api_id: id, org_id: org, listen_path: `/${id}/`, target_url: target, ...extra });

function keyedApi(id, org, target) {
  return orgApi(id, org, target, { use_keyless: false });
}

describe('org sessions with enforce_org_quotas', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(redis.port, ...a);
  const status = async (p, headers = {}) => (await gw.get(p, { headers })).status;

  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { enforce_org_quotas: true, hash_keys: true, hash_key_function: 'murmur32' },
      apis: [
        orgApi('crud', 'crudorg', up.url),
        orgApi('quota', 'quotaorg', up.url),
        keyedApi('keyed', 'keyorg', up.url),
        orgApi('rate', 'rateorg', up.url),
        orgApi('off', 'offorg', up.url),
        orgApi('none', 'noneorg', up.url),
        orgApi('late', 'lateorg', up.url),
        orgApi('down', 'downorg', up.url),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await redis?.stop(); });

  it('POST stores the session at orgkey.<org> (unhashed), GET returns it, PUT modifies', T(async () => {
    const r = await gw.admin('POST', '/tyk/org/keys/crudorg', { org_id: 'crudorg', quota_max: 7, rate: 0, per: 0 });
    assertJson(r, 200, { key: 'crudorg', status: 'ok', action: 'added' });
    const raw = await rc('GET', 'orgkey.crudorg');
    assert.ok(raw, 'stored under orgkey.crudorg');
    assert.equal(JSON.parse(raw).quota_max, 7);
    const g = await gw.admin('GET', '/tyk/org/keys/crudorg');
    assertJson(g, 200);
    assert.equal(g.json().org_id, 'crudorg');
    assert.equal(g.json().quota_max, 7);
    const p = await gw.admin('PUT', '/tyk/org/keys/crudorg', { org_id: 'crudorg', quota_max: 9 });
    assertJson(p, 200, { key: 'crudorg', status: 'ok', action: 'modified' });
    assert.equal((await gw.admin('GET', '/tyk/org/keys/crudorg')).json().quota_max, 9);
  }));

  it('GET /tyk/org/keys lists org ids (minus quota-/rate-limit- names), ?filter= is a prefix', T(async () => {
    await rc('SET', 'orgkey.quota-xyz', '1');
    const all = await gw.admin('GET', '/tyk/org/keys');
    assertJson(all, 200);
    assert.ok(all.json().keys.includes('crudorg'), all.text);
    assert.ok(!all.json().keys.some((k) => k.startsWith('quota-')), all.text);
    const f = await gw.admin('GET', '/tyk/org/keys?filter=crud');
    assertJson(f, 200, { keys: ['crudorg'] });
    const none = await gw.admin('GET', '/tyk/org/keys?filter=nothing-here');
    assertJson(none, 200, { keys: [] });
  }));

  it('malformed body → 400 "Request malformed"; unknown org → 404 "Org not found"; 405', T(async () => {
    const bad = await gw.admin('POST', '/tyk/org/keys/crudorg', '{not json');
    assertJson(bad, 400, { status: 'error', message: 'Request malformed' });
    const missing = await gw.admin('GET', '/tyk/org/keys/no-such-org');
    assertJson(missing, 404, { status: 'error', message: 'Org not found' });
    const m = await gw.admin('PATCH', '/tyk/org/keys/crudorg', {});
    assert.equal(m.status, 405);
  }));

  it('DELETE removes it; deleting again → 400 "Failed to remove the key"', T(async () => {
    const d = await gw.admin('DELETE', '/tyk/org/keys/crudorg');
    assertJson(d, 200, { key: 'crudorg', status: 'ok', action: 'deleted' });
    assert.equal(await rc('GET', 'orgkey.crudorg'), null);
    assertJson(await gw.admin('GET', '/tyk/org/keys/crudorg'), 404, { status: 'error', message: 'Org not found' });
    const again = await gw.admin('DELETE', '/tyk/org/keys/crudorg');
    assertJson(again, 400, { status: 'error', message: 'Failed to remove the key' });
  }));

  it('?reset_quota=1 deletes quota-<HashKey(org)> and sets quota_renews', T(async () => {
    const qk = `quota-${murmur32('crudorg')}`;
    await rc('SET', qk, '5');
    const before = Math.floor(Date.now() / 1000);
    const r = await gw.admin('POST', '/tyk/org/keys/crudorg?reset_quota=1',
      { org_id: 'crudorg', quota_max: 5, quota_renewal_rate: 3600 });
    assertJson(r, 200, { key: 'crudorg', status: 'ok', action: 'added' });
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(await rc('GET', qk), null);
    const s = JSON.parse(await rc('GET', 'orgkey.crudorg'));
    assert.ok(s.quota_renews >= before + 3600 && s.quota_renews <= before + 3602, String(s.quota_renews));
    // without reset_quota the counter stays
    await rc('SET', qk, '2');
    await gw.admin('PUT', '/tyk/org/keys/crudorg', { org_id: 'crudorg', quota_max: 5 });
    assert.equal(await rc('GET', qk), '2');
  }));

  it('org quota 3 on a keyless API: the 4th request → 403 with the org quota message', T(async () => {
    await gw.admin('POST', '/tyk/org/keys/quotaorg?reset_quota=1',
      { org_id: 'quotaorg', quota_max: 3, quota_renewal_rate: 3600 });
    const codes = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await gw.get('/quota/x');
      codes.push(last.status);
    }
    assert.deepEqual(codes, [200, 200, 200, 403, 403]);
    assert.deepEqual(JSON.parse(last.text), { error: MSG_QUOTA });
    assert.equal(await rc('GET', `quota-${murmur32('quotaorg')}`), '5');
    // resetting the org quota lets traffic through again
    await gw.admin('POST', '/tyk/org/keys/quotaorg?reset_quota=1',
      { org_id: 'quotaorg', quota_max: 3, quota_renewal_rate: 3600 });
    assert.equal(await status('/quota/x'), 200);
  }));

  it('org quota 2 on an authenticated API counts every key of the org', T(async () => {
    const rights = { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } };
    for (const k of ['keyorgkeyA1', 'keyorgkeyB2']) {
      await rc('SET', `apikey-${murmur32(k)}`, JSON.stringify({ org_id: 'keyorg', access_rights: rights }));
    }
    await gw.admin('POST', '/tyk/org/keys/keyorg?reset_quota=1',
      { org_id: 'keyorg', quota_max: 2, quota_renewal_rate: 3600 });
    assert.equal(await status('/keyed/a', { Authorization: 'keyorgkeyA1' }), 200);
    assert.equal(await status('/keyed/a', { Authorization: 'keyorgkeyB2' }), 200);
    const r = await gw.get('/keyed/a', { headers: { Authorization: 'keyorgkeyA1' } });
    assert.equal(r.status, 403);
    assert.deepEqual(JSON.parse(r.text), { error: MSG_QUOTA });
    // it runs before auth, so even a request without a key gets the org answer
    const anon = await gw.get('/keyed/a');
    assert.deepEqual([anon.status, JSON.parse(anon.text).error], [403, MSG_QUOTA]);
  }));

  it('org rate 2 per 60 s: the 3rd request → 403 with the org rate message', T(async () => {
    await gw.admin('POST', '/tyk/org/keys/rateorg', { org_id: 'rateorg', rate: 2, per: 60, quota_max: -1 });
    const codes = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await gw.get('/rate/x');
      codes.push(last.status);
    }
    assert.deepEqual(codes, [200, 200, 403, 403]);
    assert.deepEqual(JSON.parse(last.text), { error: MSG_RATE });
  }));

  it('inactive org → 403 "this organisation access has been disabled..."', T(async () => {
    await gw.admin('POST', '/tyk/org/keys/offorg', { org_id: 'offorg', is_inactive: true });
    const r = await gw.get('/off/x');
    assert.equal(r.status, 403);
    assert.deepEqual(JSON.parse(r.text), { error: MSG_INACTIVE });
    // reactivated through the API: the cached copy is dropped
    await gw.admin('PUT', '/tyk/org/keys/offorg', { org_id: 'offorg', is_inactive: false });
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(await status('/off/x'), 200);
  }));

  it('no org session → traffic flows; a session added later is enforced', T(async () => {
    for (let i = 0; i < 4; i++) assert.equal(await status('/none/x'), 200);
    for (let i = 0; i < 2; i++) assert.equal(await status('/late/x'), 200);
    await gw.admin('POST', '/tyk/org/keys/lateorg', { org_id: 'lateorg', is_inactive: true });
    await new Promise((res) => setTimeout(res, 100));
    for (let i = 0; i < 2; i++) {
      const r = await gw.get('/late/x');
      assert.deepEqual([r.status, JSON.parse(r.text).error], [403, MSG_INACTIVE]);
    }
  }));

  it('Redis down: org limits are not enforced falsely (never an org 403)', { timeout: 30000 }, T(async () => {
    await gw.admin('POST', '/tyk/org/keys/downorg?reset_quota=1',
      { org_id: 'downorg', quota_max: 100, quota_renewal_rate: 3600 });
    assert.equal(await status('/down/x'), 200);
    await redis.stop();
    try {
      for (let i = 0; i < 3; i++) assert.equal(await status('/down/x'), 200);
      assert.equal(await status('/none/x'), 200);
    } finally {
      await redis.restart();
    }
  }));
});

describe('org sessions without enforce_org_quotas', () => {
  let gw, up;
  const T = withLogs(() => gw);

  before(async () => {
    up = await startUpstream();
    gw = await startGateway({ conf: { hash_keys: false, suppress_default_org_store: true },
      apis: [orgApi('plain', 'plainorg', up.url)] });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('the API still stores org sessions (legacy quota key name) but requests are not limited', T(async () => {
    await redisCommand(gw.redis.port, 'SET', 'quota-plainorg', '9');
    const r = await gw.admin('POST', '/tyk/org/keys/plainorg?reset_quota=1', { org_id: 'plainorg', quota_max: 1 });
    assertJson(r, 200, { key: 'plainorg', status: 'ok', action: 'added' });
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(await redisCommand(gw.redis.port, 'GET', 'quota-plainorg'), null);
    for (let i = 0; i < 3; i++) assert.equal((await gw.get('/plain/x')).status, 200);
  }));
});
