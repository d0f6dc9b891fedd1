// SPDX-License-Identifier: Apache-2.0
// A large backlog with Tyk's default purge_chunk 0: the pump takes the whole list with one
// RENAME and journals it in pieces; a batch a dead pump left in flight (whole or partly
// journaled) is finished from where it stopped — every record exactly once.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRedis } from '../lib/redis.mjs';
import { waitFor } from '../lib/procs.mjs';
import { startPump, makeRecord, pushRecords, encodeRecord, readCsvDir, tempDir, exited } from '../lib/pump.mjs';

const LIST = 'analytics-tyk-system-analytics';

function assertExactlyOnce(rows, n) {
  const seen = new Map();
  for (const r of rows) seen.set(r.Path, (seen.get(r.Path) || 0) + 1);
  assert.deepEqual([...seen].filter(([, c]) => c > 1).slice(0, 5), [], 'records written twice');
  assert.equal(seen.size, n, 'every record arrived');
  assert.equal(rows.length, n);
}

describe('pump: large backlogs', () => {
  const cleanup = [];
  after(async () => { for (const f of cleanup.reverse()) await f(); });

  it('a batch left in flight by a dead pump (12,000 records) is journaled in pieces, once', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const N = 12000;
    // What a pump that died right after its take leaves behind.
    const inflight = 'turnpike-pump:inflight:test-pump';
    for (let i = 0; i < N; i += 2000) {
      await redis.command('RPUSH', inflight, ...Array.from({ length: 2000 }, (_, k) => encodeRecord(makeRecord(i + k))));
    }
    await redis.command('SET', 'turnpike-pump:inflight-id:test-pump', '7:analytics');
    const csvDir = path.join(tempDir(), 'csv');
    const pump = await startPump({ redis, pumps: { csv: { type: 'csv', meta: { csv_dir: csvDir } } } });
    cleanup.push(() => pump.stop());
    await pump.ready();
    await waitFor(() => readCsvDir(csvDir).length >= N, { timeoutMs: 60000, what: `${N} rows` });
    await waitFor(async () => (await pump.stats()).sinks.CSV.lag === 0, { timeoutMs: 20000, what: 'lag 0' });
    assertExactlyOnce(readCsvDir(csvDir), N);
    assert.equal(await redis.command('EXISTS', inflight), 0);
    assert.match(pump.stderr(), /recovering in-flight batch 7 \(analytics\) into the journal from record 0/);
  });

  it('purge_chunk 0 with a 30,000-record backlog and kill -9 during the take: exactly once', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const N = 30000;
    for (let i = 0; i < N; i += 5000) await pushRecords(redis, LIST, Array.from({ length: 5000 }, (_, k) => makeRecord(i + k)));
    const csvDir = path.join(tempDir(), 'csv');
    const opts = { redis, conf: { purge_chunk: 0 }, pumps: { csv: { type: 'csv', meta: { csv_dir: csvDir } } } };
    let pump = await startPump(opts);
    cleanup.push(() => pump.stop());
    // Kill while the first pieces are being journaled (the journal grows), then again later.
    for (let round = 0; round < 2; round++) {
      await waitFor(async () => {
        try { return (await pump.stats()).journal.head_seq > 0; } catch { return false; }
      }, { timeoutMs: 30000, intervalMs: 20, what: 'journaling started' });
      pump.proc.kill('SIGKILL');
      await exited(pump.proc);
      pump = await startPump({ ...opts, dir: pump.dir, healthPort: pump.healthPort });
    }
    await pump.ready();
    await waitFor(() => readCsvDir(csvDir).length >= N, { timeoutMs: 90000, what: `${N} rows` });
    await waitFor(async () => (await pump.stats()).sinks.CSV.lag === 0, { timeoutMs: 30000, what: 'lag 0' });
    assertExactlyOnce(readCsvDir(csvDir), N);
    assert.equal(await redis.command('LLEN', LIST), 0);
  });
});
