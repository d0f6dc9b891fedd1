// SPDX-License-Identifier: Apache-2.0
// Key control API /tyk/keys (spec/gateway.md §6.3, §7.1–7.2, §10.6): create, read, update, delete, list.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { createHash } from 'node:crypto';
import { redisCommand, redisSubscribe } from '../lib/redis.mjs';
import { waitFor } from '../lib/procs.mjs';
import { murmur32, murmur64, murmur128 } from '../lib/murmur.mjs';

/* ---- MurmurHash3 from the published algorithm (seed 0), to name Redis keys independently ---- */

const b64Token = (org, id, h) => Buffer.from(`{"org":"${org}","id":"${id}","h":"${h}"}`).toString('base64');

const OK_ERR = (message) => ({ status: 'error', message });

function assertJson(r, status, body) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  assert.ok(r.text.endsWith('\n'), 'trailing newline');
  if (body !== undefined) assert.deepEqual(r.json(), body);
}

function authApi(id) {
  return keylessApi({ api_id: id, listen_path: `/${id}/`, target_url: 'http://127.0.0.1:9', use_keyless: false });
}

function session(extra = {}) {
  return {
    org_id: 'default',
    rate: 100, per: 1,
    quota_max: 10, quota_renewal_rate: 3600,
    access_rights: { k1: { api_id: 'k1', api_name: 'k1', versions: ['Default'] } },
    meta_data: { who: 'test' },
    ...extra,
  };
}

describe('murmur3 reference vectors (test helper self-check)', () => {
  it('matches the published "hello" values', () => {
    assert.equal(murmur32('hello'), '248bfa47');
    assert.equal(murmur64('hello'), 'cbd8a7b341bd9b02');
    assert.equal(murmur128('hello'), 'cbd8a7b341bd9b025b1e906a48ae1d19');
  });
});

describe('keys API, hash_keys on, murmur64 tokens', () => {
  let gw;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(gw.redis.port, ...a);

  before(async () => {
    gw = await startGateway({
      conf: { hash_keys: true, hash_key_function: 'murmur64', enable_hashed_keys_listing: true },
      apis: [authApi('k1')],
    });
  });
  after(async () => { await gw?.stop(); });

  it('POST /tyk/keys/create generates a b64-JSON token and stores apikey-<murmur64>', T(async () => {
    const r = await gw.admin('POST', '/tyk/keys/create', session());
    assertJson(r, 200);
    const b = r.json();
    assert.deepEqual(Object.keys(b), ['key', 'status', 'action', 'key_hash']);
    assert.equal(b.status, 'ok');
    assert.equal(b.action, 'added');
    assert.match(b.key, /^ey/);
    const tok = JSON.parse(Buffer.from(b.key, 'base64').toString());
    assert.equal(tok.org, 'default');
    assert.match(tok.id, /^[0-9a-f]{32}$/);
    assert.equal(tok.h, 'murmur64');
    assert.equal(Buffer.from(b.key, 'base64').toString(), `{"org":"default","id":"${tok.id}","h":"murmur64"}`);
    assert.equal(b.key_hash, murmur64(b.key));
    const raw = await rc('GET', `apikey-${murmur64(b.key)}`);
    assert.ok(raw, 'session stored under apikey-<hash>');
    const s = JSON.parse(raw);
    assert.equal(s.org_id, 'default');
    assert.equal(s.quota_max, 10);
    assert.equal(s.rate, 100);
    assert.ok(s.access_rights.k1);
    assert.deepEqual(s.meta_data, { who: 'test' });
    assert.match(s.date_created, /^\d{4}-\d{2}-\d{2}T/);
    assert.match(String(s.last_updated), /^\d+$/);
    assert.ok(s.quota_renews > Date.now() / 1000, 'quota_renews = now + renewal rate');
    assert.equal(await rc('TTL', `apikey-${murmur64(b.key)}`), -1, 'no lifetime → no TTL');
  }));

  it('POST /tyk/keys/{custom} stores generateToken(org, custom)', T(async () => {
    const r = await gw.admin('POST', '/tyk/keys/my-custom-key-1', session());
    assertJson(r, 200);
    const want = b64Token('default', 'my-custom-key-1', 'murmur64');
    assert.deepEqual(r.json(), { key: want, status: 'ok', action: 'added', key_hash: murmur64(want) });
    assert.ok(await rc('GET', `apikey-${murmur64(want)}`));
    // org prefix in the custom id is stripped (Tyk's generateToken)
    const r2 = await gw.admin('POST', '/tyk/keys/defaultXYZ123', session());
    assertJson(r2, 200);
    assert.equal(r2.json().key, b64Token('default', 'XYZ123', 'murmur64'));
  }));

  it('POST /tyk/keys generates a key too', T(async () => {
    const r = await gw.admin('POST', '/tyk/keys', session());
    assertJson(r, 200);
    assert.equal(r.json().action, 'added');
    assert.ok(await rc('EXISTS', `apikey-${r.json().key_hash}`));
  }));

  it('GET /tyk/keys/{key} returns the session with quota_remaining from the counter', T(async () => {
    const { key, key_hash: hash } = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    await rc('SET', `quota-${hash}`, '3');
    let r = await gw.admin('GET', `/tyk/keys/${key}`);
    assertJson(r, 200);
    assert.equal(r.json().quota_remaining, 7);
    assert.equal(r.json().org_id, 'default');
    assert.ok(r.json().access_rights.k1);
    r = await gw.admin('GET', `/tyk/keys/${hash}?hashed=true`);
    assertJson(r, 200);
    assert.equal(r.json().quota_remaining, 7);
    await rc('SET', `quota-${hash}`, '50');
    r = await gw.admin('GET', `/tyk/keys/${key}`);
    assert.equal(r.json().quota_remaining, 0, 'never negative');
    assertJson(await gw.admin('GET', '/tyk/keys/nosuchkey000'), 404, OK_ERR('Key not found'));
    assertJson(await gw.admin('GET', '/tyk/keys/0123456789abcdef?hashed=true'), 404, OK_ERR('Key not found'));
  }));

  it('PUT: suppress_reset=1 keeps the quota counter, a plain PUT resets it', T(async () => {
    const { key, key_hash: hash } = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    const before = JSON.parse(await rc('GET', `apikey-${hash}`));
    await rc('SET', `quota-${hash}`, '5');
    let r = await gw.admin('PUT', `/tyk/keys/${key}?suppress_reset=1`, session({ rate: 7 }));
    assertJson(r, 200, { key, status: 'ok', action: 'modified' });
    assert.equal(await rc('GET', `quota-${hash}`), '5', 'quota kept');
    let s = JSON.parse(await rc('GET', `apikey-${hash}`));
    assert.equal(s.rate, 7);
    assert.equal(s.date_created, before.date_created, 'date_created preserved');
    assert.equal(String(s.last_updated), String(before.last_updated), 'last_updated kept with suppress_reset');
    r = await gw.admin('PUT', `/tyk/keys/${key}`, session({ rate: 8 }));
    assertJson(r, 200, { key, status: 'ok', action: 'modified' });
    assert.equal(await rc('EXISTS', `quota-${hash}`), 0, 'quota reset');
    s = JSON.parse(await rc('GET', `apikey-${hash}`));
    assert.equal(s.rate, 8);
    assertJson(await gw.admin('PUT', '/tyk/keys/nosuchkey000', session()), 404, OK_ERR('Key is not found'));
    assertJson(await gw.admin('PUT', `/tyk/keys/${key}`, '{bad'), 400, OK_ERR('Request malformed'));
  }));

  it('DELETE removes the session and its quota counter', T(async () => {
    const { key, key_hash: hash } = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    await rc('SET', `quota-${hash}`, '2');
    const r = await gw.admin('DELETE', `/tyk/keys/${key}`);
    assertJson(r, 200, { key, status: 'ok', action: 'deleted' });
    assert.equal(await rc('EXISTS', `apikey-${hash}`), 0);
    assert.equal(await rc('EXISTS', `quota-${hash}`), 0);
    assertJson(await gw.admin('DELETE', `/tyk/keys/${key}`), 404, OK_ERR('There is no such key found'));
    assertJson(await gw.admin('GET', `/tyk/keys/${key}`), 404, OK_ERR('Key not found'));
    // by hash
    const k2 = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    assertJson(await gw.admin('DELETE', `/tyk/keys/${k2.key_hash}?hashed=1`), 200,
      { key: k2.key_hash, status: 'ok', action: 'deleted' });
    assert.equal(await rc('EXISTS', `apikey-${k2.key_hash}`), 0);
  }));

  it('GET /tyk/keys lists hashes when enable_hashed_keys_listing', T(async () => {
    const { key_hash: hash } = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    const r = await gw.admin('GET', '/tyk/keys');
    assertJson(r, 200);
    assert.ok(Array.isArray(r.json().keys));
    assert.ok(r.json().keys.includes(hash), r.text);
    assert.ok(!r.json().keys.some((k) => k.startsWith('apikey-')));
  }));

  it('errors: malformed bodies, no access rights, unknown method', T(async () => {
    assertJson(await gw.admin('POST', '/tyk/keys/create', '{nope'), 500, OK_ERR('Unmarshalling failed'));
    assertJson(await gw.admin('POST', '/tyk/keys', '{nope'), 400, OK_ERR('Request malformed'));
    assertJson(await gw.admin('POST', '/tyk/keys/create', session({ access_rights: {} })), 400,
      OK_ERR('Failed to create key, keys must have at least one Access Rights record set.'));
    assertJson(await gw.admin('POST', '/tyk/keys', session({ access_rights: {} })), 500,
      OK_ERR('Failed to create key, ensure security settings are correct.'));
    assertJson(await gw.admin('PATCH', '/tyk/keys'), 405, OK_ERR('Method not supported'));
  }));

  it('POST /tyk/keys/preview returns the session without storing it', T(async () => {
    const n0 = (await gw.admin('GET', '/tyk/keys')).json().keys.length;
    const r = await gw.admin('POST', '/tyk/keys/preview', session({ rate: 42 }));
    assertJson(r, 200);
    assert.equal(r.json().rate, 42);
    assert.match(r.json().date_created, /^\d{4}-/);
    assert.equal((await gw.admin('GET', '/tyk/keys')).json().keys.length, n0);
  }));

  it('POST /tyk/keys/policy/{hash} sets apply_policies', T(async () => {
    const { key, key_hash: hash } = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    const r = await gw.admin('POST', `/tyk/keys/policy/${hash}`, { apply_policies: ['p1', 'p2'] });
    assertJson(r, 200, { key: hash, status: 'ok', action: 'updated' });
    assert.deepEqual(JSON.parse(await rc('GET', `apikey-${hash}`)).apply_policies, ['p1', 'p2']);
    assertJson(await gw.admin('POST', '/tyk/keys/policy/ffffffffffffffff', { apply_policies: [] }), 404,
      OK_ERR('Key not found'));
    assert.ok(key);
  }));

  it('updates and deletes publish a signed KeySpaceUpdateNotification with the hashed key', T(async () => {
    const { key, key_hash: hash } = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    const sub = await redisSubscribe(gw.redis.port, 'tyk.cluster.notifications');
    try {
      const isKs = (x) => { try { const m = JSON.parse(x.message); return m.command === 'KeySpaceUpdateNotification' && m.payload === hash; } catch { return false; } };
      assertJson(await gw.admin('PUT', `/tyk/keys/${key}`, session()), 200);
      const m = JSON.parse((await sub.waitFor(isKs, 5000)).message);
      assert.equal(m.algorithm, 5);
      assert.equal(m.signature, createHash('sha256').update(`KeySpaceUpdateNotification${hash}node-secret`).digest('hex'));
      sub.messages.length = 0;
      assertJson(await gw.admin('DELETE', `/tyk/keys/${key}`), 200);
      await sub.waitFor(isKs, 5000);
    } finally { sub.close(); }
  }));

  it('Redis down → 503 (never a fake 404), then recovery', T(async () => {
    const { key } = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    await gw.redis.stop();
    try {
      await waitFor(async () => (await gw.admin('GET', `/tyk/keys/${key}`)).status === 503,
        { timeoutMs: 10000, intervalMs: 100, what: '503 while Redis is down' });
      const r = await gw.admin('GET', `/tyk/keys/${key}`);
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json().status, 'error');
      assert.match(r.json().message, /Redis/);
      assert.equal((await gw.admin('POST', '/tyk/keys/create', session())).status, 503);
      assert.equal((await gw.admin('DELETE', `/tyk/keys/${key}`)).status, 503);
      assert.equal((await gw.admin('GET', '/tyk/keys')).status, 503);
    } finally {
      await gw.redis.restart();
    }
    // the data was lost with the non-persistent Redis: the key is now really absent
    await waitFor(async () => (await gw.admin('GET', `/tyk/keys/${key}`)).status === 404,
      { timeoutMs: 15000, intervalMs: 200, what: 'recovery after Redis restart' });
    const c = await gw.admin('POST', '/tyk/keys/create', session());
    assertJson(c, 200);
    assertJson(await gw.admin('GET', `/tyk/keys/${c.json().key}`), 200);
  }));
});

describe('keys API, legacy tokens without hashing', () => {
  let gw;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(gw.redis.port, ...a);

  before(async () => {
    gw = await startGateway({ conf: { hash_keys: false, hash_key_function: '' }, apis: [authApi('k1')] });
  });
  after(async () => { await gw?.stop(); });

  it('create: key = org + uuid hex, stored as apikey-<key>, no key_hash', T(async () => {
    const r = await gw.admin('POST', '/tyk/keys/create', session());
    assertJson(r, 200);
    assert.deepEqual(Object.keys(r.json()), ['key', 'status', 'action']);
    assert.match(r.json().key, /^default[0-9a-f]{32}$/);
    assert.ok(await rc('GET', `apikey-${r.json().key}`));
    const c = await gw.admin('POST', '/tyk/keys/abcdef123', session());
    assertJson(c, 200, { key: 'defaultabcdef123', status: 'ok', action: 'added' });
    assert.ok(await rc('GET', 'apikey-defaultabcdef123'));
    // the custom id can be read back as given (org form tried first, as Tyk's SessionDetail)
    const g = await gw.admin('GET', '/tyk/keys/defaultabcdef123');
    assertJson(g, 200);
    assertJson(await gw.admin('GET', '/tyk/keys/x?hashed=true'), 400,
      OK_ERR('Key requested by hash but key hashing is not enabled'));
  }));

  it('list with and without ?filter=', T(async () => {
    const { key } = (await gw.admin('POST', '/tyk/keys/create', session())).json();
    const other = (await gw.admin('POST', '/tyk/keys/create', session({ org_id: 'otherorg' }))).json().key;
    let r = await gw.admin('GET', '/tyk/keys');
    assertJson(r, 200);
    assert.ok(r.json().keys.includes(key));
    assert.ok(r.json().keys.includes(other));
    r = await gw.admin('GET', '/tyk/keys?filter=otherorg');
    assertJson(r, 200);
    assert.ok(r.json().keys.includes(other));
    assert.ok(!r.json().keys.includes(key));
    assertJson(await gw.admin('GET', '/tyk/keys?api_id=k1'), 400,
      OK_ERR("The 'filter' parameter (Org ID) is required when filtering by 'api_id' in legacy mode"));
  }));
});

describe('keys API, hash_keys on with legacy (murmur32) keys, listing disabled', () => {
  let gw;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(gw.redis.port, ...a);

  before(async () => {
    gw = await startGateway({ conf: { hash_keys: true, hash_key_function: '' }, apis: [authApi('k1')] });
  });
  after(async () => { await gw?.stop(); });

  it('stores apikey-<murmur32(key)> and refuses hashed listing', T(async () => {
    const r = await gw.admin('POST', '/tyk/keys/create', session());
    assertJson(r, 200);
    const { key, key_hash: hash } = r.json();
    assert.match(key, /^default[0-9a-f]{32}$/);
    assert.equal(hash, murmur32(key));
    assert.ok(await rc('GET', `apikey-${murmur32(key)}`));
    assertJson(await gw.admin('GET', '/tyk/keys'), 404,
      OK_ERR('Hashed key listing is disabled in config (enable_hashed_keys_listing)'));
  }));
});
