// SPDX-License-Identifier: Apache-2.0
// Bad input on every write endpoint of the dashboard, on SQLite and PostgreSQL: malformed JSON,
// a body of the wrong JSON type, an empty body and an oversized body each get a clear 4xx with
// Tyk's error envelope, and nothing anywhere changes (every list reads the same afterwards).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES } from '../lib/dashboard.mjs';

after(stopSharedPostgres);

const LISTS = ['/api/users', '/api/usergroups', '/api/apis', '/api/portal/policies', '/api/hooks'];

for (const storage of STORAGES) {
  describe(`dashboard bad input (${storage})`, { timeout: 90000 }, () => {
    let dash, org, ids;
    const snapshot = async () => {
      const out = {};
      for (const p of LISTS) out[p] = (await dash.api(org.key, 'GET', p)).text;
      out.orgs = (await dash.admin('GET', '/admin/organisations')).text;
      return out;
    };

    before(async () => {
      dash = await startDashboard({ storage });
      org = await bootstrapOrg(dash);
      const g = await dash.api(org.key, 'POST', '/api/usergroups', { name: 'g1', user_permissions: { apis: 'read' } });
      const a = await dash.api(org.key, 'POST', '/api/apis', {
        api_definition: {
          name: 'bi', api_id: `bi${storage}`, use_keyless: true, active: true,
          version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: '/bi/', target_url: 'http://127.0.0.1:9/', strip_listen_path: true },
        },
      });
      const p = await dash.api(org.key, 'POST', '/api/portal/policies', { name: 'p1', rate: 1, per: 1, access_rights: {} });
      const h = await dash.api(org.key, 'POST', '/api/hooks', { name: 'h1', method: 'POST', target_path: 'http://127.0.0.1:9/x' });
      for (const r of [g, a, p, h]) assert.equal(r.status, 200, r.text);
      ids = { group: g.json().Meta, api: a.json().Meta, policy: p.json().Message, hook: h.json().Meta };
    });
    after(async () => { await dash?.stop(); });

    const writes = () => [
      ['api', 'POST', '/api/users'],
      ['api', 'PUT', `/api/users/${org.userId}`],
      ['api', 'POST', '/api/usergroups'],
      ['api', 'PUT', `/api/usergroups/${ids.group}`],
      ['api', 'POST', '/api/apis'],
      ['api', 'PUT', `/api/apis/${ids.api}`],
      ['api', 'POST', '/api/apis/oas'],
      ['api', 'POST', '/api/portal/policies'],
      ['api', 'PUT', `/api/portal/policies/${ids.policy}`],
      ['api', 'POST', '/api/hooks'],
      ['api', 'PUT', `/api/hooks/${ids.hook}`],
      ['api', 'POST', `/api/users/${org.userId}/actions/reset`],
      ['admin', 'POST', '/admin/organisations'],
      ['admin', 'PUT', `/admin/organisations/${org.orgId}`],
      ['admin', 'POST', '/admin/organisations/import'],
      ['admin', 'POST', '/admin/users'],
      ['admin', 'PUT', `/admin/users/${org.userId}`],
      ['admin', 'POST', '/admin/apis/import'],
      ['admin', 'POST', '/admin/policies/import'],
    ];
    const send = (who, m, p, body) => {
      const headers = { 'Content-Type': 'application/json' };
      return who === 'admin' ? dash.admin(m, p, body, { headers }) : dash.api(org.key, m, p, body, { headers });
    };

    it('malformed JSON, wrong JSON types and empty bodies get 400 and change nothing', async () => {
      const before1 = await snapshot();
      for (const [who, m, p] of writes()) {
        for (const body of ['{"name": "x",', '[1, 2, 3]', '"just a string"', '', '{"name": "x"} trailing']) {
          const r = await send(who, m, p, body);
          assert.ok(r.status >= 400 && r.status < 500, `${m} ${p} with ${JSON.stringify(body)}: ${r.status} ${r.text}`);
          const j = r.json();
          assert.equal(j.Status, 'Error', `${m} ${p}: ${r.text}`);
          assert.ok(j.Message.length > 0);
        }
      }
      assert.deepEqual(await snapshot(), before1, 'nothing stored or changed');
      // and the caller's key and password still work
      assert.equal((await dash.api(org.key, 'GET', '/api/users/me')).status, 200);
    });

    it('an oversized body gets 413 on every write endpoint and changes nothing', async () => {
      const before1 = await snapshot();
      const big = JSON.stringify({ name: 'x'.repeat(11 * 1024 * 1024) });
      for (const [who, m, p] of writes()) {
        const r = await send(who, m, p, big);
        assert.equal(r.status, 413, `${m} ${p}`);
      }
      assert.deepEqual(await snapshot(), before1);
    });
  });
}
