// SPDX-License-Identifier: Apache-2.0
// Dashboard API policies (/api/portal/policies) on SQLite and PostgreSQL: CRUD, paging,
// search, validation (nothing stored on a refusal), explicit ids, SQL-ish text, cross-org
// isolation, RBAC and the signed PolicyChanged notification.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES, DASH_NODE_SECRET } from '../lib/dashboard.mjs';
import { redisSubscribe } from '../lib/redis.mjs';

after(stopSharedPostgres);

let seq = 0;
async function makeApi(dash, who) {
  const n = ++seq;
  const r = await dash.api(who.key, 'POST', '/api/apis', {
    api_definition: {
      name: `Policy target ${n}`, use_keyless: false,
      proxy: { listen_path: `/pol-${n}/`, target_url: 'http://127.0.0.1:9/' },
    },
  });
  assert.equal(r.status, 200, r.text);
  return r.json().ID;
}

for (const storage of STORAGES) {
  describe(`dashboard policies (${storage})`, () => {
    let dash, A, B, apiA, apiA2, apiB;
    const count = async (who = A) => (await dash.api(who.key, 'GET', '/api/portal/policies?p=0')).json().Data.length;
    const policy = (over = {}) => ({
      name: `Policy ${++seq}`, rate: 100, per: 60, quota_max: 1000, quota_renewal_rate: 3600,
      active: true, tags: ['gold'],
      access_rights: { [apiA]: { api_id: apiA, versions: ['Default'], allowed_urls: [{ url: '/users/{id}', methods: ['GET'] }] } },
      ...over,
    });

    before(async () => {
      dash = await startDashboard({ storage, conf: { notify_on_change: true } });
      A = await bootstrapOrg(dash, { name: 'Org A' });
      B = await bootstrapOrg(dash, { name: 'Org B' });
      apiA = await makeApi(dash, A);
      apiA2 = await makeApi(dash, A);
      apiB = await makeApi(dash, B);
    });
    after(async () => { await dash?.stop(); });

    it('creates, gets, updates and deletes a policy', async () => {
      const sub = await redisSubscribe(dash.redis.port, 'tyk.cluster.notifications');
      try {
        const p = policy({ org_id: 'not-mine', id: 'chosen-id', meta_data: { team: 'x' } });
        const c = await dash.api(A.key, 'POST', '/api/portal/policies', p);
        assert.equal(c.status, 200, c.text);
        assert.equal(c.json().Status, 'OK');
        const id = c.json().Message;
        assert.match(id, /^[0-9a-f]{24}$/);
        const g = await dash.api(A.key, 'GET', `/api/portal/policies/${id}`);
        assert.equal(g.status, 200);
        const got = g.json();
        assert.equal(got._id, id);
        assert.equal(got.id, id, 'the id is generated unless allow_explicit_policy_id');
        assert.equal(got.org_id, A.orgId);
        assert.equal(got.rate, 100);
        assert.deepEqual(got.meta_data, { team: 'x' });
        assert.equal(got.access_rights[apiA].api_id, apiA);
        assert.match(got.access_rights[apiA].api_name, /^Policy target \d+$/, 'api_name filled from the API');
        assert.ok(got.date_created);
        const changed = await sub.waitFor((m) => JSON.parse(m.message).command === 'PolicyChanged');
        const msg = JSON.parse(changed.message);
        assert.equal(msg.payload, id);
        assert.equal(msg.algorithm, 5);
        assert.equal(msg.signature, crypto.createHash('sha256').update(msg.command + msg.payload + DASH_NODE_SECRET).digest('hex'));

        const upd = { ...got, name: 'Renamed policy', rate: 5, access_rights: { [apiA2]: { versions: ['Default'] } } };
        const u = await dash.api(A.key, 'PUT', `/api/portal/policies/${id}`, upd);
        assert.equal(u.status, 200, u.text);
        assert.deepEqual(u.json(), { Status: 'OK', Message: 'Data updated', Meta: '' });
        const after1 = (await dash.api(A.key, 'GET', `/api/portal/policies/${id}`)).json();
        assert.equal(after1.name, 'Renamed policy');
        assert.equal(after1.rate, 5);
        assert.deepEqual(Object.keys(after1.access_rights), [apiA2]);
        assert.equal(after1.date_created, got.date_created);
        assert.equal(after1._id, id);
        await waitCount(sub, 2);

        const d = await dash.api(A.key, 'DELETE', `/api/portal/policies/${id}`);
        assert.equal(d.status, 200);
        assert.deepEqual(d.json(), { Status: 'OK', Message: 'Data deleted', Meta: null });
        await waitCount(sub, 3);
        const gone = await dash.api(A.key, 'GET', `/api/portal/policies/${id}`);
        assert.equal(gone.status, 404);
        assert.deepEqual(gone.json(), { Status: 'Error', Message: 'Could not retrieve portal object.', Meta: null });
        assert.equal((await dash.api(A.key, 'DELETE', `/api/portal/policies/${id}`)).status, 404);
        assert.equal((await dash.api(A.key, 'PUT', `/api/portal/policies/${id}`, upd)).status, 404);
      } finally { sub.close(); }
    });

    it('pages and searches policies', async () => {
      const tag = `Tier${Date.now()}`;
      for (let i = 0; i < 12; i++) {
        assert.equal((await dash.api(A.key, 'POST', '/api/portal/policies', policy({ name: `${tag} ${i}` }))).status, 200);
      }
      const total = await count();
      const p1 = (await dash.api(A.key, 'GET', '/api/portal/policies?p=1')).json();
      assert.equal(p1.Data.length, 10);
      assert.equal(p1.Pages, Math.ceil(total / 10));
      const p2 = (await dash.api(A.key, 'GET', '/api/portal/policies?p=2')).json();
      assert.equal(p2.Data.length, Math.min(10, total - 10));
      const s = (await dash.api(A.key, 'GET', `/api/portal/policies/search?q=${tag.toLowerCase()}`)).json();
      assert.equal(s.Data.length, 12);
      const one = (await dash.api(A.key, 'GET', `/api/portal/policies/search?q=${encodeURIComponent(`${tag} 3`)}`)).json();
      assert.deepEqual(one.Data.map((p) => p.name), [`${tag} 3`]);
    });

    it('refuses invalid policies with a clear 400 and stores nothing', async () => {
      const cases = [
        ['malformed JSON', '{"name":', /JSON|json/],
        ['rate as a string', policy({ rate: 'fast' }), /rate must be a number/],
        ['per as a string', policy({ per: '60' }), /per must be a number/],
        ['a fractional quota_max', policy({ quota_max: 1.5 }), /quota_max must be an integer/],
        ['a negative per', policy({ per: -5 }), /per must be -1 .* or at least 0/],
        ['access_rights as an array', policy({ access_rights: [] }), /access_rights must be an object/],
        ['an access_rights entry that is not an object', policy({ access_rights: { [apiA]: true } }), /must be an object/],
        ['an unknown API', policy({ access_rights: { deadbeef: { versions: ['Default'] } } }), /no API with api_id "deadbeef"/],
        ['another org\'s API', policy({ access_rights: { [apiB]: { versions: ['Default'] } } }), /no API with api_id/],
        ['a mismatched inner api_id', policy({ access_rights: { [apiA]: { api_id: apiA2 } } }), /must equal its key/],
        ['versions with a number', policy({ access_rights: { [apiA]: { versions: [1] } } }), /versions\[0\] must be a string/],
        ['a bad allowed_urls regex', policy({ access_rights: { [apiA]: { allowed_urls: [{ url: '/a/[', methods: ['GET'] }] } } }), /allowed_urls\[0\]\.url/],
        ['tags with a number', policy({ tags: [1] }), /tags\[0\] must be a string/],
        ['active as a string', policy({ active: 'true' }), /active must be a boolean/],
        ['name as a number', policy({ name: 42 }), /name must be a string/],
      ];
      const n0 = await count();
      for (const [what, body, msg] of cases) {
        const r = await dash.api(A.key, 'POST', '/api/portal/policies', body, typeof body === 'string' ? { headers: { 'Content-Type': 'application/json' } } : undefined);
        assert.equal(r.status, 400, `${what}: ${r.text}`);
        assert.equal(r.json().Status, 'Error');
        assert.match(r.json().Message, msg, what);
      }
      assert.equal(await count(), n0, 'nothing was stored');
      // a refused update leaves the stored policy as it was
      const id = (await dash.api(A.key, 'POST', '/api/portal/policies', policy({ name: 'Stable' }))).json().Message;
      assert.equal((await dash.api(A.key, 'PUT', `/api/portal/policies/${id}`, policy({ name: 'Broken', rate: 'x' }))).status, 400);
      assert.equal((await dash.api(A.key, 'GET', `/api/portal/policies/${id}`)).json().name, 'Stable');
    });

    it('stores SQL-ish text verbatim', async () => {
      const evil = "p'); DELETE FROM tyk_policies; --";
      const c = await dash.api(A.key, 'POST', '/api/portal/policies', policy({ name: evil, tags: ["' OR 1=1"] }));
      assert.equal(c.status, 200);
      const got = (await dash.api(A.key, 'GET', `/api/portal/policies/${c.json().Message}`)).json();
      assert.equal(got.name, evil);
      assert.deepEqual(got.tags, ["' OR 1=1"]);
      assert.equal((await dash.api(A.key, 'GET', `/api/portal/policies/search?q=${encodeURIComponent("' OR '1'='1")}`)).json().Data.length, 0);
      assert.equal((await dash.api(A.key, 'GET', `/api/portal/policies/${encodeURIComponent("' OR 1=1 --")}`)).status, 404);
      assert.ok((await count()) > 1);
    });

    it('isolates organisations', async () => {
      const id = (await dash.api(A.key, 'POST', '/api/portal/policies', policy({ name: 'A only' }))).json().Message;
      assert.equal((await dash.api(B.key, 'GET', `/api/portal/policies/${id}`)).status, 404);
      assert.equal((await dash.api(B.key, 'PUT', `/api/portal/policies/${id}`, { name: 'taken over' })).status, 404);
      assert.equal((await dash.api(B.key, 'DELETE', `/api/portal/policies/${id}`)).status, 404);
      const listB = (await dash.api(B.key, 'GET', '/api/portal/policies?p=0')).json().Data;
      assert.ok(!listB.some((p) => p._id === id));
      assert.ok(listB.every((p) => p.org_id === B.orgId));
      assert.equal((await dash.api(B.key, 'GET', '/api/portal/policies/search?q=A%20only')).json().Data.length, 0);
      assert.equal((await dash.api(A.key, 'GET', `/api/portal/policies/${id}`)).json().name, 'A only');
    });

    it('enforces the policy permission', async () => {
      const R = await bootstrapOrg(dash, { name: 'Policy readers', permissions: { policy: 'read' } });
      assert.equal((await dash.api(R.key, 'GET', '/api/portal/policies')).status, 200);
      const r = await dash.api(R.key, 'POST', '/api/portal/policies', { name: 'nope' });
      assert.equal(r.status, 403);
      assert.match(r.json().Message, /^access denied: You do not have permission to access\s+\/api\/portal\/policies$/);
    });

    it('keeps a chosen id only with allow_explicit_policy_id', async () => {
      const d2 = await startDashboard({ storage, conf: { allow_explicit_policy_id: true } });
      try {
        const O = await bootstrapOrg(d2, { name: 'Sync' });
        const c = await d2.api(O.key, 'POST', '/api/portal/policies', { name: 'Synced', id: 'tyk-sync-policy-1', rate: 1, per: 1 });
        assert.equal(c.status, 200, c.text);
        const byId = await d2.api(O.key, 'GET', '/api/portal/policies/tyk-sync-policy-1');
        assert.equal(byId.status, 200);
        assert.equal(byId.json()._id, c.json().Message);
        assert.equal(byId.json().id, 'tyk-sync-policy-1');
        const dup = await d2.api(O.key, 'POST', '/api/portal/policies', { name: 'Again', id: 'tyk-sync-policy-1' });
        assert.equal(dup.status, 409);
      } finally { await d2.stop(); }
    });
  });
}

async function waitCount(sub, n) {
  const deadline = Date.now() + 5000;
  while (sub.messages.filter((m) => JSON.parse(m.message).command === 'PolicyChanged').length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} PolicyChanged messages, got ${JSON.stringify(sub.messages)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
