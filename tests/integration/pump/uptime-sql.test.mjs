// SPDX-License-Identifier: Apache-2.0
// Uptime data end to end: turnpike-gateway's host checker → Redis (host-checker:tyk-uptime-analytics)
// → turnpike-pump's uptime_pump_config {uptime_type: "sql"} → tyk_uptime_analytics in SQLite and
// PostgreSQL, aggregated as Tyk Pump does (per org and hour; dimensions url, errors, total).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startGateway, keylessApi } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { startPostgres } from '../lib/postgres.mjs';
import { startPump, tempDir } from '../lib/pump.mjs';
import { freePort } from '../lib/ports.mjs';
import { waitFor } from '../lib/procs.mjs';

const LIST = 'host-checker:tyk-uptime-analytics';

function sqlite(db, sql) {
  return execFileSync('sqlite3', [db, sql]).toString().trim();
}

const api = (id, url) => keylessApi({
  api_id: id, org_id: 'org-up', listen_path: `/${id}/`, target_url: 'http://127.0.0.1:1',
  uptime_tests: { check_list: [{ url, timeout: 5e9 }] }, // 5 s: a loaded machine never fails a healthy check
});

describe('uptime records: gateway → Redis → pump → SQL', { timeout: 90000 }, () => {
  let up, up500, redis, gw, pumpLite, pumpPg, pg, dbLite, healthy, dead, err500;
  before(async () => {
    up = await startUpstream();
    up500 = await startUpstream((req, res) => { res.writeHead(500); res.end(); });
    redis = await startRedis();
    pg = await startPostgres();
    healthy = `${up.url}/health`;
    dead = `http://127.0.0.1:${await freePort()}/health`;
    err500 = `${up500.url}/health`;
    gw = await startGateway({
      redis,
      conf: { uptime_tests: { config: { time_wait: 1, failure_trigger_sample_size: 2, enable_uptime_analytics: true } } },
      apis: [api('healthy', healthy), api('dead', dead), api('err500', err500)],
    });
    const dir = tempDir('turnpike-uptime-sql-');
    dbLite = path.join(dir, 'uptime.db');
    // Two pumps share the list; each record is taken by one of them. SQLite first, alone, then PG.
    pumpLite = await startPump({
      redis, dir,
      conf: { dont_purge_uptime_data: false, uptime_pump_config: { uptime_type: 'sql', type: 'sqlite', connection_string: dbLite } },
    }).then((p) => p.ready());
  });
  after(async () => {
    await pumpLite?.stop(); await pumpPg?.stop(); await gw?.stop(); await up?.close(); await up500?.close();
    await redis?.stop(); await pg?.destroy();
  });

  it('SQLite: rows per URL, per error code and a total row, with Tyk\'s columns', async () => {
    const q = (sql) => sqlite(dbLite, sql);
    await waitFor(() => {
      try {
        return Number(q(`SELECT count(*) FROM tyk_uptime_analytics WHERE dimension = 'url' AND dimension_value IN ('${healthy}', '${dead}', '${err500}') AND counter_hits >= 2`)) === 3;
      } catch { return false; }
    }, { timeoutMs: 30000, intervalMs: 300, what: 'url rows with two checks each in SQLite' });
    const row = (v) => q(`SELECT org_id, counter_hits = counter_success, counter_hits = counter_error, code_200 = counter_hits, code_500 = counter_hits, counter_request_time >= 0 FROM tyk_uptime_analytics WHERE dimension = 'url' AND dimension_value = '${v}'`);
    assert.equal(row(healthy), 'org-up|1|0|1|0|1', 'healthy: every check a 200 success');
    assert.equal(row(err500), 'org-up|0|1|0|1|1', '500: every check an error with code 500');
    assert.equal(row(dead).split('|').slice(0, 3).join('|'), 'org-up|0|1', 'closed port: every check an error');
    assert.equal(q("SELECT count(*) FROM tyk_uptime_analytics WHERE dimension = 'errors' AND dimension_value = '521'"), '1',
      'TCP errors counted under code 521');
    assert.equal(q("SELECT count(*) FROM tyk_uptime_analytics WHERE dimension = 'errors' AND dimension_value = '500'"), '1');
    const total = q("SELECT counter_hits, counter_success, counter_error FROM tyk_uptime_analytics WHERE dimension = '' AND dimension_value = 'total' AND org_id = 'org-up' ORDER BY timestamp DESC LIMIT 1").split('|').map(Number);
    assert.ok(total[0] >= 6 && total[0] === total[1] + total[2], `total row adds up: ${total}`);
    // the pump drained the list (dont_purge_uptime_data false)
    await waitFor(async () => Number(await redisCommand(redis.port, 'LLEN', LIST)) < 5, { timeoutMs: 5000, what: 'list drained' });
  });

  it('PostgreSQL: the same rows', async () => {
    await pumpLite.stop();
    pumpLite = null;
    pumpPg = await startPump({
      redis, dir: tempDir('turnpike-uptime-pg-'),
      conf: { dont_purge_uptime_data: false, uptime_pump_config: { uptime_type: 'sql', type: 'postgres', connection_string: pg.dsn() } },
    }).then((p) => p.ready());
    await waitFor(() => {
      try {
        return Number(pg.query(`SELECT count(*) FROM tyk_uptime_analytics WHERE dimension = 'url' AND counter_hits >= 2`)) === 3;
      } catch { return false; }
    }, { timeoutMs: 30000, intervalMs: 300, what: 'url rows in PostgreSQL' });
    assert.equal(pg.query(`SELECT org_id, counter_hits = counter_success, code_200 = counter_hits FROM tyk_uptime_analytics WHERE dimension = 'url' AND dimension_value = '${healthy}'`),
      'org-up|t|t');
    assert.equal(pg.query(`SELECT counter_hits = counter_error, code_500 = counter_hits FROM tyk_uptime_analytics WHERE dimension = 'url' AND dimension_value = '${err500}'`),
      't|t');
    assert.equal(pg.query("SELECT count(*) FROM tyk_uptime_analytics WHERE dimension = 'errors' AND dimension_value = '521'"), '1');
  });
});
