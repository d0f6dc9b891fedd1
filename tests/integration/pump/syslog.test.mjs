// SPDX-License-Identifier: Apache-2.0
// The syslog sink sends one message per record, framed as Go's log/syslog does.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startRedis } from '../lib/redis.mjs';
import { waitFor } from '../lib/procs.mjs';
import { startPump, makeRecord, pushRecords } from '../lib/pump.mjs';

describe('pump: syslog sink', () => {
  const cleanup = [];
  after(async () => { for (const f of cleanup.reverse()) await f(); });

  it('udp: <priority>timestamp host tag[pid]: map[...]', async () => {
    const sock = dgram.createSocket('udp4');
    const got = [];
    sock.on('message', (m) => got.push(m.toString()));
    await new Promise((r) => sock.bind(0, '127.0.0.1', r));
    cleanup.push(() => sock.close());
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const pump = await startPump({
      redis,
      pumps: { syslog: { type: 'syslog', meta: { transport: 'udp', network_addr: `127.0.0.1:${sock.address().port}`, log_level: 6, tag: 'tyk-test' } } },
    }).then((p) => p.ready());
    cleanup.push(() => pump.stop());
    await pushRecords(redis, 'analytics-tyk-system-analytics', [makeRecord(1), makeRecord(2)]);
    await waitFor(() => got.length === 2, { timeoutMs: 10000, what: 'two syslog messages' });
    const m = got.find((x) => x.includes('path:/r/1 '));
    assert.ok(m, got.join('\n'));
    assert.match(m, /^<6>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) \S+ tyk-test\[\d+\]: map\[alias: api_id:api1 /);
    assert.match(m, / response_code:%!s\(int=200\) /);
    assert.match(m, / request_time_ms:%!s\(int64=12\) /);
    assert.ok(m.endsWith(']\n'));
  });
});
