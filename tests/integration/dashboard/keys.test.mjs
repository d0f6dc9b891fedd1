// SPDX-License-Identifier: Apache-2.0
// Dashboard keys (/api/keys..., /api/apis/.../keys...) written through a real gateway's control
// API and used through that gateway, on SQLite and PostgreSQL: create, use, update (rate limit
// visible), delete (then refused), validation of access rights, organisation isolation, RBAC,
// and a gateway that is down.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES } from '../lib/dashboard.mjs';
import net from 'node:net';
import { SECRET, deepMerge, startGateway } from '../lib/gateway.mjs';
import { freePort } from '../lib/ports.mjs';
import { sleep, waitFor } from '../lib/procs.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startDashWithGateway, authApi, addApi } from './gateway-env.mjs';

after(stopSharedPostgres);

const rights = (apiId) => ({ [apiId]: { api_id: apiId, api_name: apiId, versions: ['Default'] } });

for (const storage of STORAGES) {
  describe(`dashboard keys through a gateway (${storage})`, () => {
    let env, up, A, B, apiA, apiB;
    const use = (path, key) => env.gw.get(path, { headers: { Authorization: key } });

    before(async () => {
      up = await startUpstream();
      // Hashed keys, as Tyk ships them: listings show hashes, and the dashboard opts in to them.
      env = await startDashWithGateway(storage, {
        gwConf: { hash_keys: true, hash_key_function: 'murmur64' },
        dashConf: { enable_hashed_keys_listing: true, enable_update_key_by_hash: true, enable_delete_key_by_hash: true },
      });
      A = await bootstrapOrg(env.dash, { name: 'Org A' });
      B = await bootstrapOrg(env.dash, { name: 'Org B' });
      apiA = `keysa${storage}`;
      apiB = `keysb${storage}`;
      await addApi(env, A, authApi(A, apiA, `/${apiA}/`, up.url));
      await addApi(env, B, authApi(B, apiB, `/${apiB}/`, up.url));
    });
    after(async () => { await env?.stop(); await up?.close(); });

    it('creates a key that works at the gateway, updates its rate limit, deletes it', async () => {
      const c = await env.dash.api(A.key, 'POST', '/api/keys',
        { alias: 'alpha', rate: 1000, per: 1, quota_max: -1, access_rights: rights(apiA), org_id: B.orgId });
      assert.equal(c.status, 200, c.text);
      const kd = c.json();
      assert.ok(kd.key_id, 'key_id');
      assert.deepEqual(kd.api_model, {});
      assert.equal(kd.data.org_id, A.orgId, 'the org is always the caller\'s');
      assert.ok(kd.data.access_rights[apiA]);
      const key = kd.key_id;
      assert.match(kd.key_hash, /^[0-9a-f]{16}$/, 'murmur64 hash of the key');
      assert.equal((await use(`/${apiA}/x`, key)).status, 200);
      const byHash = await env.dash.api(A.key, 'GET', `/api/keys/${kd.key_hash}?hashed=true`);
      assert.equal(byHash.status, 200, byHash.text);
      assert.equal(byHash.json().data.alias, 'alpha');
      assert.equal((await use(`/${apiA}/x`, 'nonsense')).status, 403);

      const g = await env.dash.api(A.key, 'GET', `/api/keys/${key}`);
      assert.equal(g.status, 200, g.text);
      assert.equal(g.json().data.alias, 'alpha');

      // The gateway's rate limiter keys its buckets by last_updated (seconds, as Tyk does), so
      // an update in the same second as the create would keep the old bucket.
      await sleep(1100);
      const u = await env.dash.api(A.key, 'PUT', `/api/keys/${key}`,
        { ...kd.data, rate: 1, per: 60 });
      assert.equal(u.status, 200, u.text);
      assert.equal(u.json().data.rate, 1);
      assert.equal((await env.dash.api(A.key, 'GET', `/api/keys/${key}`)).json().data.per, 60);
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await use(`/${apiA}/x`, key)).status);
      assert.ok(codes.includes(429), `rate limit of 1/60s applies: ${codes}`);

      const d = await env.dash.api(A.key, 'DELETE', `/api/keys/${key}`);
      assert.equal(d.status, 200, d.text);
      assert.deepEqual(d.json(), { Status: 'OK', Message: 'Key deleted successfully.', Meta: null });
      await waitFor(async () => (await use(`/${apiA}/x`, key)).status === 403,
        { timeoutMs: 5000, what: 'deleted key refused by the gateway' });
      assert.equal((await env.dash.api(A.key, 'GET', `/api/keys/${key}`)).status, 404);
      assert.equal((await env.dash.api(A.key, 'DELETE', `/api/keys/${key}`)).status, 404);
    });

    it('creates a custom key and a basic auth user', async () => {
      const c = await env.dash.api(A.key, 'POST', `/api/keys/custom${storage}`,
        { rate: 100, per: 1, access_rights: rights(apiA) });
      assert.equal(c.status, 200, c.text);
      const key = c.json().key_id;
      // Tyk's token for a custom id: base64 of {"org":<org>,"id":<id>,"h":<hash>}.
      assert.deepEqual(JSON.parse(Buffer.from(key, 'base64').toString()),
        { org: A.orgId, id: `custom${storage}`, h: 'murmur64' });
      assert.equal((await use(`/${apiA}/y`, key)).status, 200);
      const b = await env.dash.api(A.key, 'POST', `/api/apis/keys/basic/bob${storage}`,
        { rate: 100, per: 1, access_rights: rights(apiA), basic_auth_data: { password: 'pw-123' } });
      assert.equal(b.status, 200, b.text);
      assert.equal(b.json().data.org_id, A.orgId);
      const nopw = await env.dash.api(A.key, 'POST', '/api/apis/keys/basic/carol', { access_rights: rights(apiA) });
      assert.equal(nopw.status, 400);
    });

    it('refuses access rights to unknown or foreign APIs, foreign policies, and no rights at all', async () => {
      const cases = [
        [{ access_rights: rights('no-such-api') }, /does not exist in your organisation/],
        [{ access_rights: rights(apiB) }, /does not exist in your organisation/],
        [{ access_rights: rights("x' OR '1'='1") }, /does not exist in your organisation/],
        [{ access_rights: { [apiA]: { api_id: apiB } } }, /names another API/],
        [{ access_rights: [] }, /access_rights must be an object/],
        [{ apply_policies: ['nope'] }, /Policy nope does not exist/],
        [{ rate: 5 }, /at least one Access Rights/],
      ];
      for (const [body, msg] of cases) {
        const r = await env.dash.api(A.key, 'POST', '/api/keys', body);
        assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
        assert.equal(r.json().Status, 'Error');
        assert.match(r.json().Message, msg);
      }
      for (const raw of ['{"access_rights":', '[1]', '']) {
        const r = await env.dash.api(A.key, 'POST', '/api/keys', raw, { headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, raw);
      }
      const typ = await env.dash.api(A.key, 'POST', '/api/keys', { rate: 'fast', access_rights: rights(apiA) });
      assert.equal(typ.status, 400, typ.text);
      // Preview: the same checks, the session as it would be stored, nothing written.
      const keysBefore = (await env.dash.api(A.key, 'GET', '/api/apis/keys')).json().data.keys.length;
      const pv = await env.dash.api(A.key, 'POST', '/api/keys/preview', { alias: 'pv', rate: 7, access_rights: rights(apiA) });
      assert.equal(pv.status, 200, pv.text);
      assert.equal(pv.json().rate, 7);
      assert.equal(pv.json().org_id, A.orgId);
      assert.equal((await env.dash.api(A.key, 'POST', '/api/keys/preview', { access_rights: rights(apiB) })).status, 400);
      assert.equal((await env.dash.api(A.key, 'GET', '/api/apis/keys')).json().data.keys.length, keysBefore);
    });

    it('keeps organisations apart', async () => {
      const c = await env.dash.api(A.key, 'POST', '/api/keys', { alias: 'secret-a', access_rights: rights(apiA) });
      assert.equal(c.status, 200, c.text);
      const key = c.json().key_id;
      const hash = c.json().key_hash;
      for (const m of ['GET', 'DELETE']) {
        const r = await env.dash.api(B.key, m, `/api/keys/${key}`);
        assert.equal(r.status, 404, `${m} by org B: ${r.text}`);
        const h = await env.dash.api(B.key, m, `/api/keys/${hash}?hashed=true`);
        assert.equal(h.status, 404, `${m} by hash by org B: ${h.text}`);
      }
      const put = await env.dash.api(B.key, 'PUT', `/api/keys/${key}`, { access_rights: rights(apiB) });
      assert.equal(put.status, 404);
      assert.equal((await use(`/${apiA}/z`, key)).status, 200, 'org B did not touch it');
      const la = (await env.dash.api(A.key, 'GET', '/api/apis/keys')).json();
      assert.ok(la.data.keys.includes(hash), JSON.stringify(la));
      const lb = (await env.dash.api(B.key, 'GET', '/api/apis/keys')).json();
      assert.ok(!lb.data.keys.includes(hash));
      const det = (await env.dash.api(A.key, 'GET', '/api/keys/detailed?q=SECRET-A')).json();
      assert.deepEqual(det.keys.map((k) => k.key_id), [hash]);
      assert.equal(det.keys[0].data.alias, 'secret-a');
      assert.equal((await env.dash.api(B.key, 'GET', '/api/keys/detailed?q=secret-a')).json().keys.length, 0);
      // Keys of one API, and a key through its API's path.
      const byApi = (await env.dash.api(A.key, 'GET', `/api/apis/${apiA}/keys`)).json();
      assert.ok(byApi.data.keys.includes(hash));
      const ga = await env.dash.api(A.key, 'GET', `/api/apis/${apiA}/keys/${key}`);
      assert.equal(ga.status, 200, ga.text);
      assert.equal((await env.dash.api(B.key, 'GET', `/api/apis/${apiA}/keys`)).status, 404);
      assert.equal((await env.dash.api(A.key, 'GET', `/api/apis/${encodeURIComponent("x' OR '1'='1")}/keys`)).status, 404);
      assert.equal((await env.dash.api(B.key, 'GET', `/api/apis/${apiA}/keys/${key}`)).status, 404);
      const ua = await env.dash.api(A.key, 'PUT', `/api/apis/${apiA}/keys/${key}`,
        { alias: 'renamed', access_rights: rights(apiA) });
      assert.equal(ua.status, 200, ua.text);
      assert.equal(ua.json().data.alias, 'renamed');
      assert.equal((await env.dash.api(A.key, 'DELETE', `/api/apis/${apiA}/keys/${key}`)).status, 200);
    });

    it('pages key listings', async () => {
      const made = [];
      for (let i = 0; i < 11; i++) {
        const r = await env.dash.api(B.key, 'POST', '/api/keys', { alias: `page-${i}`, access_rights: rights(apiB) });
        assert.equal(r.status, 200, r.text);
        made.push(r.json().key_hash);
      }
      const all = (await env.dash.api(B.key, 'GET', '/api/apis/keys')).json().data.keys;
      for (const k of made) assert.ok(all.includes(k));
      const p1 = (await env.dash.api(B.key, 'GET', '/api/apis/keys?p=1')).json();
      assert.equal(p1.data.keys.length, 10);
      assert.equal(p1.pages, Math.ceil(all.length / 10));
      const p2 = (await env.dash.api(B.key, 'GET', `/api/apis/keys?p=${p1.pages}`)).json();
      assert.equal(p2.data.keys.length, all.length - 10 * (p1.pages - 1));
      assert.ok(!p2.data.keys.some((k) => p1.data.keys.includes(k)));
    });

    it('follows the enable_*_by_hash settings (a second dashboard on the same data)', async () => {
      const main = env.dash.conf.storage.main;
      const plain = await startDashboard({
        storage, redis: env.redis, postgresUrl: storage === 'postgres' ? main.connection_string : undefined,
        conf: { storage: { main }, tyk_api_config: env.dash.conf.tyk_api_config },
      });
      try {
        const c = await plain.api(A.key, 'POST', '/api/keys', { alias: 'via-plain', access_rights: rights(apiA) });
        assert.equal(c.status, 200, c.text);
        const { key_id: key, key_hash: hash } = c.json();
        const l = await plain.api(A.key, 'GET', '/api/apis/keys');
        assert.equal(l.status, 404);
        assert.match(l.json().Message, /enable_hashed_keys_listing/);
        assert.equal((await plain.api(A.key, 'GET', `/api/keys/${hash}?hashed=true`)).status, 200);
        const u = await plain.api(A.key, 'PUT', `/api/keys/${hash}?hashed=true`, { access_rights: rights(apiA) });
        assert.equal(u.status, 400);
        assert.match(u.json().Message, /enable_update_key_by_hash/);
        const d = await plain.api(A.key, 'DELETE', `/api/keys/${hash}?hashed=true`);
        assert.equal(d.status, 400);
        assert.match(d.json().Message, /enable_delete_key_by_hash/);
        // The first dashboard may do both.
        const u2 = await env.dash.api(A.key, 'PUT', `/api/keys/${hash}?hashed=true`, { alias: 'by-hash', access_rights: rights(apiA) });
        assert.equal(u2.status, 200, u2.text);
        assert.equal((await plain.api(A.key, 'GET', `/api/keys/${key}`)).json().data.alias, 'by-hash');
        assert.equal((await env.dash.api(A.key, 'DELETE', `/api/keys/${hash}?hashed=true`)).status, 200);
        await waitFor(async () => (await use(`/${apiA}/h`, key)).status === 403, { timeoutMs: 5000, what: 'key gone' });
      } finally {
        await plain.stop();
      }
    });

    it('enforces the keys permission', async () => {
      const u = await env.dash.api(A.key, 'POST', '/api/users', {
        first_name: 'R', last_name: 'O', email_address: `ro-${storage}@example.com`, active: true,
        user_permissions: { keys: 'read' }, password: 'Read-only-123',
      });
      if (u.status === 404 || u.status === 405) return; // /api/users is another helper's work
      assert.equal(u.status, 200, u.text);
      const got = await env.dash.api(A.key, 'GET', `/api/users/${u.json().Meta}`);
      assert.equal(got.status, 200, got.text);
      const ro = got.json().access_key;
      assert.equal((await env.dash.api(ro, 'GET', '/api/apis/keys')).status, 200);
      const w = await env.dash.api(ro, 'POST', '/api/keys', { access_rights: rights(apiA) });
      assert.equal(w.status, 403);
      assert.equal(w.json().Status, 'Error');
    });
  });
}

describe('dashboard keys when the gateway is down, hangs or refuses the secret', () => {
  let gw, hang, held = [], down, slow, wrong, A;
  const dashFor = (port, extra = {}) => startDashboard({ storage: 'sqlite', conf: deepMerge({
    enable_master_keys: true,
    enable_hashed_keys_listing: true,
    tyk_api_config: { Host: 'http://127.0.0.1', Port: String(port), Secret: SECRET },
  }, extra) });
  before(async () => {
    gw = await startGateway();
    hang = net.createServer((sock) => { held.push(sock); }); // accepts, never answers
    await new Promise((r) => hang.listen(0, '127.0.0.1', r));
    down = await dashFor(await freePort()); // nothing listens there
    slow = await dashFor(hang.address().port, { turnpike_gateway_timeout: 1 });
    wrong = await dashFor(gw.port, { tyk_api_config: { Secret: 'not-the-secret' } });
    A = { down: await bootstrapOrg(down), slow: await bootstrapOrg(slow), wrong: await bootstrapOrg(wrong) };
  });
  after(async () => {
    for (const d of [down, slow, wrong]) await d?.stop();
    for (const s of held) s.destroy();
    await new Promise((r) => (hang ? hang.close(r) : r()));
    await gw?.stop();
  });

  it('answers 502 naming the gateway when nothing listens, and lists nothing', async () => {
    const r = await down.api(A.down.key, 'POST', '/api/keys', { rate: 1 });
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json().Status, 'Error');
    assert.match(r.json().Message, /Could not reach the gateway at http:\/\/127\.0\.0\.1:\d+/);
    assert.deepEqual((await down.api(A.down.key, 'GET', '/api/apis/keys')).json().data.keys, []);
    for (const m of ['GET', 'DELETE']) {
      const g = await down.api(A.down.key, m, '/api/keys/somekey');
      assert.equal(g.status, 502, g.text);
    }
  });

  it('gives up on a gateway that never answers after turnpike_gateway_timeout', async () => {
    const t0 = Date.now();
    const r = await slow.api(A.slow.key, 'GET', '/api/keys/somekey');
    const took = Date.now() - t0;
    assert.equal(r.status, 502, r.text);
    assert.match(r.json().Message, /Could not reach the gateway/);
    assert.ok(took >= 900 && took < 8000, `took ${took} ms`);
  });

  it('says so when the gateway refuses the dashboard\'s secret', async () => {
    const r = await wrong.api(A.wrong.key, 'POST', '/api/keys', { rate: 1 });
    assert.equal(r.status, 502, r.text);
    assert.match(r.json().Message, /refused the dashboard's secret \(tyk_api_config\.Secret\)/);
  });
});
