// SPDX-License-Identifier: Apache-2.0
// Two dashboards on one PostgreSQL database stay consistent under concurrent writes: a listen
// path is won by exactly one API, distinct creates all land exactly once, and concurrent
// updates of one policy leave one whole write (never a mix).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboard, bootstrapOrg, stopSharedPostgres } from '../lib/dashboard.mjs';

after(stopSharedPostgres);

const api = (name, listenPath) => ({
  api_definition: { name, use_keyless: true, proxy: { listen_path: listenPath, target_url: 'http://127.0.0.1:9/' } },
});

describe('two dashboards on one PostgreSQL', () => {
  let d1, d2, A;
  const pick = (i) => (i % 2 ? d2 : d1);

  before(async () => {
    d1 = await startDashboard({ storage: 'postgres', conf: { turnpike_workers: 4 } });
    d2 = await startDashboard({
      storage: 'postgres', postgresUrl: d1.conf.storage.main.connection_string, redis: d1.redis,
      conf: { turnpike_workers: 4 },
    });
    A = await bootstrapOrg(d1, { name: 'Shared' });
    // the user made through one dashboard works on the other
    assert.equal((await d2.api(A.key, 'GET', '/api/apis')).status, 200);
  });
  after(async () => {
    await d2?.stop();
    await d1?.stop();
  });

  it('gives a contested listen path to exactly one API', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      pick(i).api(A.key, 'POST', '/api/apis', api(`Contender ${i}`, '/contested/'))));
    const won = results.filter((r) => r.status === 200);
    const lost = results.filter((r) => r.status !== 200);
    assert.equal(won.length, 1, results.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of lost) {
      assert.equal(r.status, 409, r.text);
      assert.match(r.json().Message, /already used/);
    }
    for (const d of [d1, d2]) {
      const all = (await d.api(A.key, 'GET', '/api/apis?p=0')).json().apis;
      assert.equal(all.filter((w) => w.api_definition.proxy.listen_path === '/contested/').length, 1);
    }
  });

  it('stores 50 concurrent creates with distinct paths exactly once', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      pick(i).api(A.key, 'POST', '/api/apis', api(`Bulk ${i}`, `/bulk-${i}/`))));
    for (const r of results) assert.equal(r.status, 200, r.text);
    const ids = results.map((r) => r.json().ID);
    assert.equal(new Set(ids).size, 50);
    for (const d of [d1, d2]) {
      const all = (await d.api(A.key, 'GET', '/api/apis?p=0')).json().apis;
      const bulk = all.filter((w) => w.api_definition.name.startsWith('Bulk '));
      assert.equal(bulk.length, 50);
      assert.deepEqual(new Set(bulk.map((w) => w.api_definition.api_id)), new Set(ids));
    }
  });

  it('leaves one whole write after concurrent updates of a policy', async () => {
    const target = (await d1.api(A.key, 'POST', '/api/apis', api('Policy target', '/policy-target/'))).json().ID;
    const c = await d1.api(A.key, 'POST', '/api/portal/policies', { name: 'start', rate: 1, per: 1 });
    assert.equal(c.status, 200, c.text);
    const id = c.json().Message;
    const write = (i) => ({
      name: `writer ${i}`, rate: i + 1, per: 60, quota_max: 1000 * (i + 1), tags: [`t${i}`],
      meta_data: { writer: i }, access_rights: { [target]: { versions: [`v${i}`] } },
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      pick(i).api(A.key, 'PUT', `/api/portal/policies/${id}`, write(i))));
    for (const r of results) assert.equal(r.status, 200, r.text);
    const finals = await Promise.all([d1, d2].map(async (d) => (await d.api(A.key, 'GET', `/api/portal/policies/${id}`)).json()));
    assert.deepEqual(finals[0], finals[1], 'both dashboards read the same document');
    const p = finals[0];
    const i = p.meta_data.writer;
    assert.ok(Number.isInteger(i) && i >= 0 && i < 20);
    const w = write(i);
    assert.equal(p.name, w.name);
    assert.equal(p.rate, w.rate);
    assert.equal(p.quota_max, w.quota_max);
    assert.deepEqual(p.tags, w.tags);
    assert.deepEqual(p.access_rights[target].versions, [`v${i}`]);
    assert.equal(p._id, id);
    assert.equal(p.org_id, A.orgId);
  });
});
