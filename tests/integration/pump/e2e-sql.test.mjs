// SPDX-License-Identifier: Apache-2.0
// The whole analytics path with real parts: turnpike-gateway → Redis → turnpike-pump →
// PostgreSQL and SQLite. Records arrive with Tyk's columns, aggregates add up, and under load
// neither a pump killed with -9, nor PostgreSQL stopped for a minute, nor Redis going away loses
// or doubles a single request's record (counted row by row).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startGateway, keylessApi } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startPostgres } from '../lib/postgres.mjs';
import { startPump, tempDir, exited } from '../lib/pump.mjs';
import { request } from '../lib/http.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

const PG_DOWN_S = Number(process.env.TURNPIKE_E2E_PG_DOWN_S || 60);

function sqlite(db, sql) {
  return execFileSync('sqlite3', [db, sql]).toString().trim();
}

/* Sends n requests with `conc` in flight; every one must succeed. Returns when all answered. */
async function load(gw, prefix, n, conc = 8, onProgress = () => {}) {
  let next = 0, done = 0;
  const failures = [];
  async function worker() {
    while (next < n) {
      const i = next++;
      const r = await request(`${gw.url}/open/${prefix}-${i}`, { timeoutMs: 10000 }).catch((e) => ({ status: String(e) }));
      if (r.status !== 200) failures.push(`${i}: ${r.status}`);
      done++;
      await onProgress(done);
    }
  }
  await Promise.all(Array.from({ length: conc }, worker));
  assert.deepEqual(failures.slice(0, 5), [], 'every request answered 200');
}

describe('analytics end to end: gateway → Redis → pump → SQL', { timeout: 240000 }, () => {
  let up, redis, pg, gw, pump, dir, sqliteDb;
  const pumps = () => ({
    pg: { type: 'sql', meta: { type: 'postgres', connection_string: pg.dsn(), batch_size: 500 } },
    pgagg: { type: 'sql_aggregate', meta: { type: 'postgres', connection_string: pg.dsn() } },
    lite: { type: 'sql', meta: { type: 'sqlite', connection_string: sqliteDb } },
  });
  before(async () => {
    dir = tempDir('turnpike-e2e-');
    sqliteDb = path.join(dir, 'analytics.db');
    up = await startUpstream();
    redis = await startRedis({ persist: true });
    pg = await startPostgres();
    gw = await startGateway({
      redis,
      conf: { enable_analytics: true, turnpike_analytics_spool_dir: path.join(dir, 'spool'), storage: { timeout: 1 } },
      apis: [
        keylessApi({ api_id: 'open', name: 'Open', org_id: 'org1', listen_path: '/open/', target_url: up.url }),
        { name: 'Keyed', api_id: 'keyed', org_id: 'org1', use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true } },
      ],
    });
    pump = await startPump({ redis, dir: tempDir('turnpike-e2e-pump-'), pumps: pumps() }).then((p) => p.ready());
  });
  after(async () => {
    await pump?.stop(); await gw?.stop(); await up?.close(); await redis?.stop(); await pg?.destroy();
  });

  it('records arrive in PostgreSQL and SQLite with Tyk\'s columns, aggregates add up', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await gw.get(`/open/first-${i}`, { headers: { 'User-Agent': 'e2e' } })).status, 200);
    assert.equal((await gw.get('/keyed/nope')).status, 401);
    await waitFor(() => Number(pg.query("SELECT count(*) FROM tyk_analytics WHERE path LIKE '/first-%' OR path = '/keyed/nope'")) === 6,
      { timeoutMs: 20000, what: '6 rows in PostgreSQL' });
    const row = pg.query("SELECT method, path, rawpath, responsecode, apiid, orgid, useragent, ipaddress, trackpath, " +
      "tags, extract(epoch from timestamp)::bigint > 0 FROM tyk_analytics WHERE path = '/first-0'");
    assert.equal(row, 'GET|/first-0|/first-0|200|open|org1|e2e|127.0.0.1|f|["org-org1","api-open"]|t');
    assert.equal(pg.query("SELECT responsecode FROM tyk_analytics WHERE path = '/keyed/nope'"), '401');
    await waitFor(() => Number(sqlite(sqliteDb, "SELECT count(*) FROM tyk_analytics")) >= 6,
      { timeoutMs: 20000, what: 'rows in SQLite' });
    assert.equal(sqlite(sqliteDb, "SELECT method, responsecode, apiid FROM tyk_analytics WHERE path = '/first-3'"), 'GET|200|open');
    await waitFor(() => pg.query("SELECT counter_hits, counter_success, counter_error, code_401 FROM tyk_aggregated " +
      "WHERE org_id = 'org1' AND dimension = '' AND dimension_value = 'total'") === '6|5|1|1',
    { timeoutMs: 20000, what: 'aggregate totals' });
    assert.equal(pg.query("SELECT sum(counter_hits) FROM tyk_aggregated WHERE dimension = 'apiid' AND dimension_value = 'open'"), '5');
  });

  it('under load: pump kill -9, PostgreSQL down for a while, Redis down — every record exactly once', async () => {
    const N = 3000;
    let killed = false, pgStopped = false, redisStopped = false;
    const outages = [];
    await load(gw, 'load', N, 8, async (done) => {
      if (!killed && done >= N * 0.15) {
        killed = true;
        pump.proc.kill('SIGKILL');
        await exited(pump.proc);
        pump = await pump.restart();
      }
      if (!pgStopped && done >= N * 0.3) {
        pgStopped = true;
        await pg.stop();
        outages.push(sleep(PG_DOWN_S * 1000).then(() => pg.start()));
      }
      if (!redisStopped && done >= N * 0.6) {
        redisStopped = true;
        await redis.kill();
        outages.push(sleep(3000).then(() => redis.start()));
      }
      // Spread the load over the PostgreSQL outage.
      if (pgStopped && done < N * 0.9) await sleep(PG_DOWN_S * 1000 / (N * 0.6) / 1.5);
    });
    await Promise.all(outages);
    const count = () => Number(pg.query("SELECT count(*) FROM tyk_analytics WHERE path LIKE '/load-%'"));
    await waitFor(() => count() >= N, { timeoutMs: 90000, intervalMs: 500, what: `${N} load rows (have ${count()})` });
    await sleep(2000);
    assert.equal(count(), N, 'no record written twice');
    assert.equal(Number(pg.query("SELECT count(DISTINCT path) FROM tyk_analytics WHERE path LIKE '/load-%'")), N, 'every request has its record');
    await waitFor(() => Number(sqlite(sqliteDb, "SELECT count(*) FROM tyk_analytics WHERE path LIKE '/load-%'")) === N,
      { timeoutMs: 30000, what: 'SQLite caught up' });
    // The aggregate sink retries on its own schedule (backoff up to 30 s): wait for it too.
    const total = () => Number(pg.query("SELECT sum(counter_hits) FROM tyk_aggregated WHERE org_id = 'org1' AND dimension = '' AND dimension_value = 'total'"));
    await waitFor(() => total() >= N + 6, { timeoutMs: 60000, intervalMs: 500, what: `aggregate total ${N + 6} (have ${total()})` });
    await sleep(1000);
    assert.equal(total(), N + 6, 'aggregates counted every record once');
    const gwStats = JSON.parse((await gw.admin('GET', '/tyk/turnpike/analytics')).text);
    assert.equal(gwStats.dropped, 0);
    await waitFor(async () => (await pump.stats()).sinks.PG.lag === 0, { timeoutMs: 10000, what: 'PG lag 0' });
    const st = await pump.stats();
    assert.ok(st.sinks.PG.retried > 0, 'the PostgreSQL outage was seen and retried');
  });
});
