// SPDX-License-Identifier: Apache-2.0
// Dashboard analytics (/api/usage, /api/activity, /api/logs) over what the real pump wrote:
// gateway → Redis → pump (sql + sql_aggregate sinks into the dashboard's own database) →
// dashboard, on SQLite and PostgreSQL. Known traffic (7 × 200 and 3 × 404 through a keyed API
// with 2 keys) must show up with exactly those counts per API, key, code and path, only to its
// own organisation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES } from '../lib/dashboard.mjs';
import { startGateway } from '../lib/gateway.mjs';
import { startPump, tempDir } from '../lib/pump.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { waitFor } from '../lib/procs.mjs';

after(stopSharedPostgres);

/* dd/mm/yyyy of today + @days in local time (the processes share the time zone). */
function day(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return `${d.getDate()}/${d.getMonth() + 1}/${d.getFullYear()}`;
}
const RANGE = `${day(-1)}/${day(1)}`;
const sum = (items, f) => items.reduce((a, x) => a + x[f], 0);

for (const storage of STORAGES) {
  describe(`dashboard analytics (${storage})`, { timeout: 90000 }, () => {
    let redis, dash, up, gw, pump, orgA, orgB, keys;
    const get = async (who, p) => {
      const r = await dash.api(who.key, 'GET', p);
      assert.equal(r.status, 200, `${p}: ${r.status} ${r.text}`);
      return r.json();
    };

    before(async () => {
      redis = await startRedis();
      dash = await startDashboard({ storage, redis, conf: { page_size: 4 } });
      orgA = await bootstrapOrg(dash, { name: 'Org A' });
      orgB = await bootstrapOrg(dash, { name: 'Org B' });
      up = await startUpstream((req, res) => {
        const status = req.url.startsWith('/missing') ? 404 : 200;
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end(status === 200 ? 'ok' : 'nope');
      });
      gw = await startGateway({
        redis,
        conf: { enable_analytics: true, hash_keys: true, turnpike_analytics_spool_dir: path.join(tempDir('turnpike-d5-'), 'spool') },
        apis: [{
          name: 'Keyed', api_id: 'keyed', org_id: orgA.orgId, use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true },
        }],
      });
    });
    after(async () => {
      await pump?.stop(); await gw?.stop(); await up?.close(); await dash?.stop(); await redis?.stop();
    });

    it('answers empty data before the pump ever wrote anything', async () => {
      assert.deepEqual(await get(orgA, `/api/usage/${RANGE}`), { data: [], pages: 1 });
      assert.deepEqual(await get(orgA, `/api/activity/api/${RANGE}`), { data: [], pages: 1 });
      const now = Math.floor(Date.now() / 1000);
      assert.deepEqual(await get(orgA, `/api/logs?start=${now - 60}&end=${now}`), { data: [], pages: 1 });
    });

    it('refuses bad dates, ranges and options with 400', async () => {
      const bad = [
        ['/api/usage/31/2/2024/1/3/2024', /start date 31\/02\/2024/],
        ['/api/usage/1/1/2024/aa/1/2024', /end date/],
        ['/api/usage/1/13/2024/1/1/2025', /start date/],
        ['/api/activity/errors/2/1/2024/1/1/2024', /end date is before the start/],
        ['/api/usage/apis/1/1/2023/2/1/2024', /longer than a year/],
        [`/api/usage/${RANGE}?res=week`, /res/],
        [`/api/activity/api/${RANGE}?by=colour`, /by/],
        [`/api/activity/api/${RANGE}?sort=up`, /sort/],
        ['/api/logs?end=10', /start is required/],
        ['/api/logs?start=1&end=x', /end is required/],
        ['/api/logs?start=100&end=10', /end is before start/],
        ['/api/logs?start=1&end=10&status=abc', /status/],
      ];
      for (const [p, msg] of bad) {
        const r = await dash.api(orgA.key, 'GET', p);
        assert.equal(r.status, 400, `${p}: ${r.status} ${r.text}`);
        assert.equal(r.json().Status, 'Error');
        assert.match(r.json().Message, msg, p);
      }
      // a whole leap year is fine
      assert.equal((await dash.api(orgA.key, 'GET', '/api/usage/1/1/2024/31/12/2024')).status, 200);
    });

    it('refuses a user without the analytics permission with 403', async () => {
      const viewer = await bootstrapOrg(dash, { permissions: { apis: 'read' } });
      const r = await dash.api(viewer.key, 'GET', `/api/usage/${RANGE}`);
      assert.equal(r.status, 403);
      assert.equal((await dash.api(viewer.key, 'GET', '/api/logs?start=0&end=1')).status, 403);
      assert.equal((await dash.api('not-a-key', 'GET', `/api/usage/${RANGE}`)).status, 401);
    });

    it('shows the gateway traffic the pump stored, per API, key, code and path', async () => {
      keys = [];
      for (let i = 0; i < 2; i++) {
        const r = await gw.admin('POST', '/tyk/keys/create', {
          org_id: orgA.orgId, alias: `user${i}`,
          access_rights: { keyed: { api_id: 'keyed', api_name: 'Keyed', versions: ['Default'] } },
        });
        assert.equal(r.status, 200, r.text);
        assert.match(r.json().key_hash, /^[0-9a-f]+$/);
        keys.push({ key: r.json().key, hash: r.json().key_hash });
      }
      // key 0: 4 × 200 + 2 × 404; key 1: 3 × 200 + 1 × 404
      const plan = [[0, '/ok', 4], [0, '/missing', 2], [1, '/ok', 3], [1, '/missing', 1]];
      for (const [k, p, n] of plan) {
        for (let i = 0; i < n; i++) {
          const r = await gw.get(`/keyed${p}`, { headers: { Authorization: keys[k].key } });
          assert.equal(r.status, p === '/ok' ? 200 : 404);
        }
      }
      const conn = storage === 'postgres'
        ? { type: 'postgres', connection_string: dash.conf.storage.main.connection_string }
        : { type: 'sqlite', connection_string: dash.conf.storage.main.connection_string };
      pump = await startPump({
        redis, dir: tempDir('turnpike-d5-pump-'),
        pumps: {
          sql: { type: 'sql', meta: { ...conn } },
          agg: { type: 'sql_aggregate', meta: { ...conn, track_all_paths: true } },
        },
      }).then((p) => p.ready());

      let total;
      await waitFor(async () => {
        total = await get(orgA, `/api/usage/${RANGE}`);
        return sum(total.data, 'hits') === 10;
      }, { timeoutMs: 30000, intervalMs: 300, what: 'aggregates of 10 requests' });
      const now = Math.floor(Date.now() / 1000);
      await waitFor(async () => (await get(orgA, `/api/logs?start=${now - 600}&end=${now + 60}`)).pages === 3,
        { timeoutMs: 30000, intervalMs: 300, what: '10 raw records' });

      // traffic over time: one day, 7 good, 3 errors
      assert.equal(total.data.length, 1);
      const today = new Date();
      assert.deepEqual([total.data[0].id.day, total.data[0].id.month, total.data[0].id.year],
        [today.getDate(), today.getMonth() + 1, today.getFullYear()]);
      assert.equal(total.data[0].success, 7);
      assert.equal(total.data[0].error, 3);
      assert.match(total.data[0].last_hit, /^\d{4}-\d\d-\d\dT/);
      assert.ok(total.data[0].latency >= 0 && total.data[0].max_latency >= total.data[0].min_latency);
      const hourly = await get(orgA, `/api/usage/${RANGE}?res=hour`);
      assert.equal(sum(hourly.data, 'hits'), 10);
      assert.ok(hourly.data.every((x) => typeof x.id.hour === 'number'));
      assert.equal(sum((await get(orgA, `/api/usage/${RANGE}?api_id=keyed`)).data, 'hits'), 10);
      assert.deepEqual((await get(orgA, `/api/usage/${RANGE}?api_id=other`)).data, []);

      // per API
      for (const p of [`/api/usage/apis/${RANGE}`, `/api/activity/api/${RANGE}`]) {
        const apis = (await get(orgA, p)).data;
        assert.equal(apis.length, 1, p);
        assert.deepEqual(apis[0].id, { api_id: 'keyed', api_name: 'Keyed' });
        assert.deepEqual([apis[0].hits, apis[0].success, apis[0].error], [10, 7, 3]);
      }
      assert.equal(sum((await get(orgA, `/api/usage/apis/keyed/${RANGE}`)).data, 'hits'), 10);

      // per key, over time and per endpoint
      const k0 = (await get(orgA, `/api/usage/keys/${keys[0].hash}/${RANGE}`)).data;
      assert.deepEqual([sum(k0, 'hits'), sum(k0, 'success'), sum(k0, 'error')], [6, 4, 2]);
      const k1 = (await get(orgA, `/api/activity/keys/${keys[1].hash}/${RANGE}`)).data;
      assert.deepEqual([sum(k1, 'hits'), sum(k1, 'success'), sum(k1, 'error')], [4, 3, 1]);
      const both = (await get(orgA, `/api/activity/keys/aggregate/${keys[0].hash},${keys[1].hash}/${RANGE}`)).data;
      assert.equal(sum(both, 'hits'), 10);
      const ke = (await get(orgA, `/api/activity/keys/endpoint/${keys[0].hash}/${RANGE}`)).data;
      assert.deepEqual(ke.map((x) => [x.id.key, x.id.api_id, x.id.path, x.hits]),
        [[keys[0].hash, 'keyed', '/ok', 4], [keys[0].hash, 'keyed', '/missing', 2]]);

      // per response code
      const errors = (await get(orgA, `/api/activity/errors/${RANGE}`)).data;
      assert.deepEqual(errors.map((x) => [x.id.code, x.hits]), [[404, 3]]);
      assert.equal(sum((await get(orgA, `/api/usage/errors/${RANGE}`)).data, 'hits'), 3);

      // per endpoint, most hits first unless sort=1
      const eps = (await get(orgA, `/api/activity/endpoint/${RANGE}`)).data;
      assert.deepEqual(eps.map((x) => [x.id.api_id, x.id.path, x.hits, x.error]),
        [['keyed', '/ok', 7, 0], ['keyed', '/missing', 3, 3]]);
      const asc = (await get(orgA, `/api/activity/api/keyed/${RANGE}?by=hits&sort=1`)).data;
      assert.deepEqual(asc.map((x) => x.id.path), ['/missing', '/ok']);
      assert.deepEqual((await get(orgA, `/api/activity/endpoint/${RANGE}?api_id=nope`)).data, []);

      // paging (page_size 4): p=1 and p=2 of 2 endpoints → one page of both
      const pg = await get(orgA, `/api/activity/endpoint/${RANGE}?p=1`);
      assert.equal(pg.pages, 1);
      assert.equal(pg.data.length, 2);
    });

    it('browses raw records newest first, filtered and paged', async () => {
      const now = Math.floor(Date.now() / 1000);
      const q = `start=${now - 600}&end=${now + 60}`;
      const p1 = await get(orgA, `/api/logs?${q}`);
      assert.equal(p1.pages, 3); // 10 records, 4 a page
      assert.equal(p1.data.length, 4);
      const all = [...p1.data, ...(await get(orgA, `/api/logs?${q}&p=2`)).data,
        ...(await get(orgA, `/api/logs?${q}&p=3`)).data];
      assert.equal(all.length, 10);
      const times = all.map((r) => Date.parse(r.timestamp));
      assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
      const r = all.find((x) => x.response_code === 404);
      assert.equal(r.method, 'GET');
      assert.equal(r.api_id, 'keyed');
      assert.equal(r.org_id, orgA.orgId);
      assert.ok([keys[0].hash, keys[1].hash].includes(r.api_key));
      assert.equal(typeof r.latency.total, 'number');
      assert.ok(Array.isArray(r.tags));
      const e404 = await get(orgA, `/api/logs?${q}&status=404`);
      assert.equal(e404.pages, 1);
      assert.equal(e404.data.length, 3);
      assert.ok(e404.data.every((x) => x.response_code === 404));
      const byKey = await get(orgA, `/api/logs?${q}&key=${keys[1].hash}&api=keyed`);
      assert.equal(byKey.data.length, 4);
      assert.equal((await get(orgA, `/api/logs?${q}&api=other`)).data.length, 0);
      assert.equal((await get(orgA, `/api/logs?start=${now - 7200}&end=${now - 3600}`)).data.length, 0);
    });

    it("keeps one organisation's analytics from another", async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const p of [`/api/usage/${RANGE}`, `/api/usage/apis/${RANGE}`, `/api/activity/api/${RANGE}`,
        `/api/activity/endpoint/${RANGE}`, `/api/activity/errors/${RANGE}`,
        `/api/usage/keys/${keys[0].hash}/${RANGE}`, `/api/activity/keys/endpoint/${keys[0].hash}/${RANGE}`,
        `/api/logs?start=${now - 600}&end=${now + 60}`]) {
        assert.deepEqual((await get(orgB, p)).data, [], p);
      }
    });

    it('treats SQL-ish path and query values as plain text', async () => {
      const evil = encodeURIComponent("x' OR '1'='1");
      assert.deepEqual((await get(orgA, `/api/usage/keys/${evil}/${RANGE}`)).data, []);
      assert.deepEqual((await get(orgA, `/api/activity/keys/endpoint/${evil}%25/${RANGE}`)).data, []);
      const now = Math.floor(Date.now() / 1000);
      assert.deepEqual((await get(orgA, `/api/logs?start=0&end=${now + 60}&key=${evil}`)).data, []);
      assert.equal(sum((await get(orgA, `/api/usage/${RANGE}`)).data, 'hits'), 10);
    });

    it("reads the pump's day tables too (table_sharding)", async () => {
      await pump.stop();
      const conn = { type: storage, connection_string: dash.conf.storage.main.connection_string };
      pump = await startPump({
        redis, dir: tempDir('turnpike-d5-pump-'),
        pumps: {
          sqlday: { type: 'sql', meta: { ...conn, table_sharding: true } },
          aggday: { type: 'sql_aggregate', meta: { ...conn, table_sharding: true, track_all_paths: true } },
        },
      }).then((p) => p.ready());
      for (const p of ['/ok', '/ok', '/missing']) {
        await gw.get(`/keyed${p}`, { headers: { Authorization: keys[0].key } });
      }
      const tables = storage === 'sqlite'
        ? () => execFileSync('sqlite3', [conn.connection_string, "SELECT name FROM sqlite_master WHERE name LIKE 'tyk_%'"]).toString()
        : () => dash.pg.query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'tyk_%'", /\/(\w+)\?/.exec(conn.connection_string)[1]);
      await waitFor(() => /tyk_aggregated_\d{8}/.test(tables()) && /tyk_analytics_\d{8}/.test(tables()),
        { timeoutMs: 30000, intervalMs: 300, what: 'day tables' });
      await waitFor(async () => sum((await get(orgA, `/api/usage/${RANGE}`)).data, 'hits') === 13,
        { timeoutMs: 30000, intervalMs: 300, what: 'aggregates over both tables' });
      const eps = (await get(orgA, `/api/activity/endpoint/${RANGE}`)).data;
      assert.deepEqual(eps.map((x) => [x.id.path, x.hits]), [['/ok', 9], ['/missing', 4]]);
      const now = Math.floor(Date.now() / 1000);
      const q = `start=${now - 600}&end=${now + 60}`;
      await waitFor(async () => (await get(orgA, `/api/logs?${q}`)).pages === 4,
        { timeoutMs: 30000, intervalMs: 300, what: '13 raw records' });
      const last = await get(orgA, `/api/logs?${q}&p=4`);
      assert.equal(last.data.length, 1); // 13 records, 4 a page
      const newest = (await get(orgA, `/api/logs?${q}&p=1`)).data[0];
      assert.equal(newest.path, '/missing', 'the newest record (in a day table) comes first');
      assert.equal((await get(orgA, `/api/logs?${q}&status=404`)).data.length, 4);
    });
  });
}
