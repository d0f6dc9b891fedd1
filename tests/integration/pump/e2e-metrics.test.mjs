// SPDX-License-Identifier: Apache-2.0
// The analytics path into metrics stores, all real: turnpike-gateway → Redis → turnpike-pump →
// a private influxd 1.6 (influx sink) and a private Prometheus scraping the pump's prometheus
// sink. Every request through the gateway must show up as an influx point with Tyk's tags and
// fields, and in Prometheus's tyk_http_status counter.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startInflux } from '../lib/influx.mjs';
import { startPrometheus } from '../lib/prometheus.mjs';
import { freePort } from '../lib/ports.mjs';
import { startPump, tempDir } from '../lib/pump.mjs';
import { waitFor } from '../lib/procs.mjs';

const API = 'metrics-e2e';
const OK = 12;   // requests the upstream answers 200
const FAIL = 3;  // requests it answers 503

describe('analytics end to end: gateway → Redis → pump → influxd and Prometheus', { timeout: 120000 }, () => {
  let up, redis, influx, prom, gw, pump, promPort;
  before(async () => {
    up = await startUpstream((req, res) => {
      const status = req.url.includes('/fail-') ? 503 : 200;
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'down');
    });
    redis = await startRedis();
    influx = await startInflux();
    promPort = await freePort();
    gw = await startGateway({
      redis,
      conf: { enable_analytics: true },
      apis: [keylessApi({ api_id: API, name: 'Metrics', org_id: 'org1', listen_path: '/m/', target_url: up.url })],
    });
    pump = await startPump({
      redis,
      dir: tempDir('turnpike-e2e-metrics-'),
      pumps: {
        influx: { type: 'influx', meta: { address: influx.url, database_name: 'tyk_analytics', tags: ['api_id', 'response_code', 'org_id'] } },
        prometheus: { type: 'prometheus', meta: { listen_address: `127.0.0.1:${promPort}`, path: '/metrics' } },
      },
    }).then((p) => p.ready());
    prom = await startPrometheus({ targets: [`127.0.0.1:${promPort}`] });
  });
  after(async () => {
    await pump?.stop(); await gw?.stop(); await prom?.stop(); await influx?.stop();
    await up?.close(); await redis?.stop();
  });

  it('every request becomes an influx point and counts in tyk_http_status', async () => {
    for (let i = 0; i < OK; i++) {
      assert.equal((await gw.get(`/m/ok-${i}`, { headers: { 'User-Agent': 'e2e-metrics' } })).status, 200);
    }
    for (let i = 0; i < FAIL; i++) assert.equal((await gw.get(`/m/fail-${i}`)).status, 503);

    // influx: one point per request, tags and fields as Tyk's influx pump writes them
    const rows = await waitFor(async () => {
      const r = await influx.rows('tyk_analytics', 'SELECT * FROM analytics ORDER BY time').catch(() => []);
      return r.length >= OK + FAIL && r;
    }, { timeoutMs: 30000, intervalMs: 250, what: `${OK + FAIL} points in influxd` });
    assert.equal(rows.length, OK + FAIL);
    // (whether the listen path stays in Path is the gateway's business, not this test's)
    const ok0 = rows.find((r) => r.path.endsWith('/ok-0'));
    assert.ok(ok0, 'a point for /ok-0');
    assert.equal(ok0.method, 'GET');
    assert.equal(ok0.response_code, 200);          // field (integer)
    assert.equal(ok0.response_code_1, '200');      // tag of the same name
    assert.equal(ok0.api_id_1, API);               // tag
    assert.equal(ok0.api_id, API);                 // field
    assert.equal(ok0.org_id_1, 'org1');
    assert.equal(typeof ok0.request_time, 'number');
    assert.match(ok0.time_stamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    assert.ok(Math.abs(ok0.time / 1e6 - Date.now()) < 120000, 'point time is the request time');
    assert.deepEqual(rows.filter((r) => r.response_code === 503).map((r) => r.path.replace(/^.*\//, '')).sort(),
      Array.from({ length: FAIL }, (_, i) => `fail-${i}`).sort());
    const byTag = await influx.query('tyk_analytics',
      `SELECT count(method) FROM analytics WHERE "api_id"::tag = '${API}' GROUP BY "response_code"`);
    const counts = Object.fromEntries(byTag.results[0].series.map((s) => [s.tags.response_code, s.values[0][1]]));
    assert.deepEqual(counts, { 200: OK, 503: FAIL });

    // Prometheus: the scraped counters equal the requests
    const value = async (code) => {
      const r = await prom.query(`tyk_http_status{api="${API}",code="${code}"}`);
      return r.length === 1 ? Number(r[0].value[1]) : null;
    };
    await waitFor(async () => (await value(200)) === OK && (await value(503)) === FAIL,
      { timeoutMs: 30000, intervalMs: 500, what: `tyk_http_status{api="${API}"} = ${OK}/${FAIL} in Prometheus` });
    assert.equal(await value(200), OK);
    assert.equal(await value(503), FAIL);
    const per = await prom.query(`sum(tyk_http_status_per_path{api="${API}"})`);
    assert.equal(Number(per[0].value[1]), OK + FAIL);

    const st = await pump.stats();
    assert.equal(st.sinks.INFLUX.written, OK + FAIL);
    assert.equal(st.sinks.PROMETHEUS.written, OK + FAIL);
    assert.equal(st.sinks.INFLUX.dead_lettered, 0);
  });
});
