// SPDX-License-Identifier: Apache-2.0
// PID file and log format.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startRedis } from '../lib/redis.mjs';
import { sleep } from '../lib/procs.mjs';

describe('process housekeeping', () => {
  let redis, gw;
  const T = withLogs(() => gw);
  after(async () => { await gw?.stop(); await redis?.stop(); });

  it('pid_file_location holds the PID', T(async () => {
    redis = await startRedis();
    gw = await startGateway({ redis });
    try {
      const text = fs.readFileSync(gw.conf.pid_file_location, 'utf8');
      assert.equal(text.trim(), String(gw.pid));
    } finally {
      await gw.stop(); gw = null;
    }
  }));

  it('log_format json → every log line is a JSON object with level and msg', T(async () => {
    gw = await startGateway({ redis, conf: { log_format: 'json' } });
    await gw.get('/no-such-path');
    await gw.admin('GET', '/tyk/reload?block=true');
    await sleep(200);
    const lines = gw.logs().split('\n').filter((l) => l.trim());
    assert.ok(lines.length > 0, 'the gateway logged something at info level');
    for (const l of lines) {
      let o;
      assert.doesNotThrow(() => { o = JSON.parse(l); }, `not JSON: ${l}`);
      assert.equal(typeof o, 'object');
      assert.equal(typeof o.level, 'string', l);
      assert.equal(typeof o.msg, 'string', l);
      assert.ok(o.time, `no time field: ${l}`);
    }
  }));
});
