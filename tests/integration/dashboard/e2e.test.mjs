// SPDX-License-Identifier: Apache-2.0
// Issue 9's end-to-end path, on SQLite and PostgreSQL, with every daemon real: an organisation
// and a user through the Admin API; an API, a policy and a key through the Dashboard API; a
// gateway in dashboard mode serves the API within 2 s and the key works through it; the pump
// moves the traffic into the dashboard's database and /api/usage shows it; deleting the API
// stops the gateway serving it within 2 s.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES } from '../lib/dashboard.mjs';
import { startGateway, SECRET } from '../lib/gateway.mjs';
import { startPump, tempDir } from '../lib/pump.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { waitFor } from '../lib/procs.mjs';
import { freePort } from '../lib/ports.mjs';

after(stopSharedPostgres);

function day(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return `${d.getDate()}/${d.getMonth() + 1}/${d.getFullYear()}`;
}
const RANGE = `${day(-1)}/${day(1)}`;

for (const storage of STORAGES) {
  describe(`dashboard end to end (${storage})`, { timeout: 120000 }, () => {
    let redis, dash, gw, pump, up, org;
    before(async () => {
      redis = await startRedis();
      up = await startUpstream((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('hello'); });
      const gwPort = await freePort();
      dash = await startDashboard({
        storage, redis,
        conf: { tyk_api_config: { Host: 'http://127.0.0.1', Port: String(gwPort), Secret: SECRET } },
      });
      gw = await startGateway({
        redis,
        conf: {
          listen_port: gwPort, enable_analytics: true,
          use_db_app_configs: true, db_app_conf_options: { connection_string: dash.url },
          policies: { policy_source: 'service', policy_connection_string: dash.url },
          turnpike_analytics_spool_dir: path.join(tempDir('turnpike-e2e-'), 'spool'),
        },
      });
      const db = dash.conf.storage.main;
      pump = await startPump({
        redis, dir: tempDir('turnpike-e2e-pump-'),
        pumps: {
          sql: { type: 'sql', meta: { type: db.type, connection_string: db.connection_string } },
          agg: { type: 'sql_aggregate', meta: { type: db.type, connection_string: db.connection_string } },
        },
      }).then((p) => p.ready());
    });
    after(async () => {
      await pump?.stop(); await gw?.stop(); await up?.close(); await dash?.stop(); await redis?.stop();
    });

    it('org, user, API, policy and key through the dashboard; traffic in /api/usage; delete', async () => {
      org = await bootstrapOrg(dash, { name: 'E2E Org' });
      const apiId = `e2e${storage}`;
      const lp = `/${apiId}/`;
      const c = await dash.api(org.key, 'POST', '/api/apis', {
        api_definition: {
          name: 'E2E API', api_id: apiId, use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: lp, target_url: up.url, strip_listen_path: true },
        },
      });
      assert.equal(c.status, 200, c.text);
      const dbId = c.json().Meta;
      const t0 = Date.now();
      // served (401 without a key: the API is loaded and protected) within 2 s
      await waitFor(async () => (await gw.get(`${lp}hi`)).status === 401,
        { timeoutMs: 2000, intervalMs: 20, what: 'gateway serves the new API within 2 s' });
      const servedMs = Date.now() - t0;

      const p = await dash.api(org.key, 'POST', '/api/portal/policies', {
        name: 'E2E policy', active: true, rate: 100, per: 1, quota_max: -1,
        access_rights: { [apiId]: { api_id: apiId, api_name: 'E2E API', versions: ['Default'] } },
      });
      assert.equal(p.status, 200, p.text);
      const policyId = p.json().Message;
      await waitFor(async () => (await gw.admin('GET', `/tyk/policies/${policyId}`)).status === 200,
        { timeoutMs: 2000, what: 'gateway has the policy within 2 s' });

      const k = await dash.api(org.key, 'POST', '/api/keys', { alias: 'e2e-key', apply_policies: [policyId] });
      assert.equal(k.status, 200, k.text);
      const key = k.json().key_id;
      for (let i = 0; i < 5; i++) {
        const r = await gw.get(`${lp}hi`, { headers: { Authorization: key } });
        assert.equal(r.status, 200, `request ${i}: ${r.text}`);
        assert.equal(r.text, 'hello');
      }
      assert.equal((await gw.get(`${lp}hi`, { headers: { Authorization: 'nope' } })).status, 403);

      let apis;
      await waitFor(async () => {
        const r = await dash.api(org.key, 'GET', `/api/usage/apis/${RANGE}`);
        assert.equal(r.status, 200, r.text);
        apis = r.json().data;
        const mine = apis.find((a) => a.id.api_id === apiId);
        return mine && mine.hits === 7; // 5 × 200, 1 × 401, 1 × 403
      }, { timeoutMs: 30000, intervalMs: 300, what: 'the traffic in /api/usage/apis' });
      const mine = apis.find((a) => a.id.api_id === apiId);
      assert.equal(mine.success, 5);
      assert.equal(mine.error, 2);

      const d = await dash.api(org.key, 'DELETE', `/api/apis/${dbId}`);
      assert.equal(d.status, 200, d.text);
      const t1 = Date.now();
      await waitFor(async () => (await gw.get(`${lp}hi`, { headers: { Authorization: key } })).status === 404,
        { timeoutMs: 2000, intervalMs: 20, what: 'gateway stops serving the deleted API within 2 s' });
      console.log(`# ${storage}: API served ${servedMs} ms after create, gone ${Date.now() - t1} ms after delete`);
    });
  });
}
