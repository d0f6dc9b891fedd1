// SPDX-License-Identifier: Apache-2.0
// Nothing is lost or doubled: kill -9 mid-run, Redis going away, a sink failing for a while,
// garbage in the list.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startRedis } from '../lib/redis.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';
import { startPump, makeRecord, pushRecords, readCsvDir, tempDir, exited } from '../lib/pump.mjs';

function assertExactlyOnce(rows, n) {
  const counts = new Map();
  for (const r of rows) counts.set(r.Path, (counts.get(r.Path) || 0) + 1);
  const dup = [...counts].filter(([, c]) => c > 1);
  assert.deepEqual(dup, [], 'records written twice');
  for (let i = 0; i < n; i++) assert.ok(counts.has(`/r/${i}`), `record ${i} missing`);
  assert.equal(rows.length, n);
}

describe('pump: durability', () => {
  const cleanup = [];
  after(async () => { for (const f of cleanup.reverse()) await f(); });

  it('kill -9 in the middle of a run: every record arrives exactly once', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const csvDir = path.join(tempDir(), 'csv');
    const N = 3000;
    await pushRecords(redis, 'analytics-tyk-system-analytics', Array.from({ length: N }, (_, i) => makeRecord(i)));
    const opts = { redis, conf: { purge_chunk: 25, batch_size: 10 }, pumps: { csv: { type: 'csv', meta: { csv_dir: csvDir } } } };
    let pump = await startPump(opts);
    cleanup.push(() => pump.stop());
    // Kill as soon as some records are written, several times over.
    for (let round = 0; round < 3; round++) {
      await waitFor(() => readCsvDir(csvDir).length > round * 400 + 50, { timeoutMs: 20000, what: 'progress' });
      pump.proc.kill('SIGKILL');
      await exited(pump.proc);
      pump = await startPump({ ...opts, dir: pump.dir, healthPort: pump.healthPort });
    }
    await pump.ready();
    await waitFor(() => readCsvDir(csvDir).length >= N && (pump.stats().then((s) => s.sinks.CSV.lag === 0)),
      { timeoutMs: 60000, what: `${N} rows` });
    await sleep(1500);
    assertExactlyOnce(readCsvDir(csvDir), N);
    assert.equal(await redis.command('LLEN', 'analytics-tyk-system-analytics'), 0);
    assert.equal(await redis.command('EXISTS', 'turnpike-pump:inflight:test-pump'), 0);
    await pump.stop();
  });

  it('survives Redis going away and coming back', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const csvDir = path.join(tempDir(), 'csv');
    const pump = await startPump({ redis, pumps: { csv: { type: 'csv', meta: { csv_dir: csvDir } } } }).then((p) => p.ready());
    cleanup.push(() => pump.stop());
    await pushRecords(redis, 'analytics-tyk-system-analytics', Array.from({ length: 10 }, (_, i) => makeRecord(i)));
    await waitFor(() => readCsvDir(csvDir).length === 10, { timeoutMs: 10000, what: 'first 10' });
    await redis.stop();
    await sleep(3500);
    assert.equal(pump.proc.exitCode, null, 'pump still running');
    assert.equal((await pump.stats()).redis.connected, false);
    await redis.restart();
    await pushRecords(redis, 'analytics-tyk-system-analytics_3', Array.from({ length: 10 }, (_, i) => makeRecord(10 + i)));
    await waitFor(() => readCsvDir(csvDir).length === 20, { timeoutMs: 20000, what: 'all 20' });
    assertExactlyOnce(readCsvDir(csvDir), 20);
    // One line per outage, not one per retry.
    const lines = pump.stderr().split('\n').filter((l) => /Redis unavailable|will reconnect/.test(l));
    assert.ok(lines.length >= 1 && lines.length <= 2, lines.join('\n'));
    assert.match(pump.stderr(), /is back/);
  });

  it('a sink that fails for a while loses nothing', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const base = tempDir();
    const csvDir = path.join(base, 'csv');
    fs.writeFileSync(csvDir, 'not a directory'); // the sink cannot write until this is fixed
    const pump = await startPump({ redis, pumps: { csv: { type: 'csv', meta: { csv_dir: csvDir } } } }).then((p) => p.ready());
    cleanup.push(() => pump.stop());
    await pushRecords(redis, 'analytics-tyk-system-analytics', Array.from({ length: 50 }, (_, i) => makeRecord(i)));
    await waitFor(() => /Error writing to CSV: /.test(pump.stderr()), { timeoutMs: 10000, what: 'write error logged' });
    // Taken from Redis anyway: they are safe in the journal.
    await waitFor(async () => (await redis.command('LLEN', 'analytics-tyk-system-analytics')) === 0, { timeoutMs: 5000, what: 'list drained' });
    const st = await pump.stats();
    assert.ok(st.sinks.CSV.retried >= 1);
    assert.equal(st.sinks.CSV.failing, true);
    fs.unlinkSync(csvDir);
    fs.mkdirSync(csvDir);
    await waitFor(() => readCsvDir(csvDir).length === 50, { timeoutMs: 20000, what: '50 rows after the fix' });
    assertExactlyOnce(readCsvDir(csvDir), 50);
    // The rows are on disk a moment before the counter moves.
    await waitFor(async () => (await pump.stats()).sinks.CSV.written === 50, { timeoutMs: 5000, what: 'written = 50' });
  });

  it('skips and logs a garbage entry; the rest arrive', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const csvDir = path.join(tempDir(), 'csv');
    const pump = await startPump({ redis, pumps: { csv: { type: 'csv', meta: { csv_dir: csvDir } } } }).then((p) => p.ready());
    cleanup.push(() => pump.stop());
    const recs = Array.from({ length: 10 }, (_, i) => makeRecord(i));
    const full = [...recs.slice(0, 5), Buffer.from([0xc1, 0xff, 0x00, 0x12]), Buffer.from('not msgpack at all'), ...recs.slice(5)];
    await pushRecords(redis, 'analytics-tyk-system-analytics', full);
    await waitFor(() => readCsvDir(csvDir).length === 10, { timeoutMs: 10000, what: '10 rows' });
    await waitFor(async () => (await pump.stats()).sinks.CSV.decode_errors === 2, { timeoutMs: 5000, what: 'two decode errors' });
    assert.match(pump.stderr(), /journal seq \d+: not an analytics record/);
    assertExactlyOnce(readCsvDir(csvDir), 10);
    assert.equal(pump.proc.exitCode, null);
  });
});
