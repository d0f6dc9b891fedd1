// SPDX-License-Identifier: Apache-2.0
// Records the gateway leaves in Redis reach the csv and stdout sinks with Tyk's fields; health,
// counters, configuration errors and a quick clean SIGTERM.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startRedis } from '../lib/redis.mjs';
import { waitFor } from '../lib/procs.mjs';
import { startPump, makeRecord, pushRecords, readCsvDir, httpGet, exited, pumpBin, tempDir } from '../lib/pump.mjs';

describe('pump: csv and stdout sinks', () => {
  let redis, pump, csvDir;
  before(async () => {
    redis = await startRedis();
    csvDir = path.join(tempDir(), 'csv');
    pump = await startPump({
      redis,
      pumps: {
        csv: { type: 'csv', meta: { csv_dir: csvDir } },
        stdout: { type: 'stdout', meta: { format: 'json', log_field_name: 'rec' } },
      },
    }).then((p) => p.ready());
  });
  after(async () => { await pump?.stop(); await redis?.stop(); });

  it('takes every list Tyk visits and writes each record once to each sink', async () => {
    const main = Array.from({ length: 20 }, (_, i) => makeRecord(i));
    await pushRecords(redis, 'analytics-tyk-system-analytics', main);
    for (let k = 0; k < 10; k++) {
      await pushRecords(redis, `analytics-tyk-system-analytics_${k}`, [makeRecord(100 + k, { APIID: `api-${k}` })]);
    }
    const rows = await waitFor(() => { const r = readCsvDir(csvDir); return r.length >= 30 && r; },
      { timeoutMs: 15000, what: '30 csv rows' });
    assert.equal(rows.length, 30);
    const paths = rows.map((r) => r.Path).sort();
    assert.equal(new Set(paths).size, 30);
    const r0 = rows.find((r) => r.Path === '/r/0');
    assert.equal(r0.Method, 'GET');
    assert.equal(r0.APIID, 'api1');
    assert.equal(r0.OrgID, 'org1');
    assert.equal(r0.ResponseCode, '200');
    assert.equal(r0.Month, 'November');
    assert.equal(r0.Tags, 'org-org1;api-api1');
    assert.equal(r0.TrackPath, 'false');
    assert.equal(r0['Latency.Total'], '12');
    assert.match(r0.TimeStamp, /^2023-11-1[45] \d\d:\d\d:20\.000005 [+-]\d{4} \S+$/);
    assert.equal(rows.find((r) => r.Path === '/r/105').APIID, 'api-5');
    // Tyk's file name: <year>-<Month>-<day>-<hour>.csv
    assert.match(r0._file, /^\d{4}-[A-Z][a-z]+-\d{1,2}-\d{1,2}\.csv$/);
    const header = fs.readFileSync(path.join(csvDir, r0._file), 'utf8').split('\n')[0];
    assert.ok(header.startsWith('Method,Host,Path,RawPath,ContentLength,UserAgent,Day,Month,Year,Hour,ResponseCode,APIKey,TimeStamp'));
    assert.ok(header.endsWith('Latency.Total,Latency.Upstream,Tags,Alias,TrackPath,ExpireAt'));

    const lines = await waitFor(() => {
      const l = pump.stdout().split('\n').filter((x) => x.startsWith('{'));
      return l.length >= 30 && l;
    }, { timeoutMs: 10000, what: '30 stdout lines' });
    const objs = lines.map((l) => JSON.parse(l));
    assert.equal(objs.length, 30);
    assert.equal(objs[0].level, 'info');
    const o = objs.find((x) => x.rec.path === '/r/3');
    assert.equal(o.rec.api_id, 'api1');
    assert.equal(o.rec.response_code, 200);
    assert.equal(o.rec.method, 'GET');

    // The lists are empty and nothing is left in flight.
    assert.equal(await redis.command('LLEN', 'analytics-tyk-system-analytics'), 0);
    assert.equal(await redis.command('EXISTS', 'turnpike-pump:inflight:test-pump'), 0);

    const st = await pump.stats();
    assert.equal(st.sinks.CSV.written, 30);
    assert.equal(st.sinks.STDOUT.written, 30);
    assert.equal(st.sinks.CSV.lag, 0);
    assert.equal(st.redis.records, 30);
    assert.equal(st.redis.connected, true);
  });

  it('answers the health check with Tyk\'s body', async () => {
    const r = await httpGet(pump.healthPort, '/health');
    assert.equal(r.status, 200);
    assert.equal(r.text, '{"status": "ok"}');
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.equal((await httpGet(pump.healthPort, '/nope')).status, 404);
  });

  it('stops quickly and cleanly on SIGTERM', async () => {
    const t0 = Date.now();
    pump.proc.kill('SIGTERM');
    const r = await exited(pump.proc);
    assert.equal(r.code, 0);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.match(pump.stderr(), /stopped/);
  });
});

describe('pump: command line', () => {
  it('--version and --help', () => {
    const v = spawnSync(pumpBin(), ['--version'], { encoding: 'utf8' });
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^turnpike-pump \d/);
    const h = spawnSync(pumpBin(), ['--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stdout, /--conf/);
  });

  it('reports every bad field and exits 1', () => {
    const dir = tempDir();
    const conf = path.join(dir, 'pump.conf');
    fs.writeFileSync(conf, JSON.stringify({
      purge_delay: 'soon',
      pumps: { csv: { type: 'csv', meta: { csv_dir: dir } }, x: { type: 'nosuch' }, m: { type: 'mongo' } },
      uptime_pump_config: { uptime_type: 'mongo', mongo_url: 'mongodb://x' },
    }));
    const r = spawnSync(pumpBin(), ['--check', `--conf=${conf}`], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /purge_delay/);
    assert.match(r.stderr, /uptime_pump_config\.uptime_type/);
    const r2 = spawnSync(pumpBin(), ['-c', conf], { encoding: 'utf8' });
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /purge_delay/);
    fs.writeFileSync(conf, JSON.stringify({ pumps: { x: { type: 'nosuch' }, m: { type: 'mongo' } }, dont_purge_uptime_data: true }));
    const r3 = spawnSync(pumpBin(), ['--check', '-c', conf], { encoding: 'utf8' });
    assert.equal(r3.status, 1);
    assert.match(r3.stderr, /pumps\.X\.type: unknown pump type "nosuch"/);
    assert.match(r3.stderr, /pumps\.M\.type: "mongo" is not supported/);
    const ok = path.join(dir, 'ok.conf');
    fs.writeFileSync(ok, JSON.stringify({ pumps: { csv: { meta: { csv_dir: dir } } }, dont_purge_uptime_data: true }));
    const r4 = spawnSync(pumpBin(), ['--check', '-c', ok], { encoding: 'utf8' });
    assert.equal(r4.status, 0, r4.stderr);
    assert.match(r4.stdout, /1 pump\(s\), 0 problem/);
  });

  it('runs from the environment alone (TYK_PMP_OMITCONFIGFILE)', () => {
    const dir = tempDir();
    const r = spawnSync(pumpBin(), ['--check'], {
      encoding: 'utf8',
      env: {
        ...process.env, TYK_PMP_OMITCONFIGFILE: 'true', TYK_PMP_DONTPURGEUPTIMEDATA: 'true',
        TYK_PMP_PUMPS_CSV_TYPE: 'csv', TYK_PMP_PUMPS_CSV_META_CSVDIR: dir,
      },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 pump\(s\)/);
  });
});
