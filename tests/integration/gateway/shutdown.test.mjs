// SPDX-License-Identifier: Apache-2.0
// Graceful shutdown on SIGTERM (graceful_shutdown_timeout_duration).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis } from '../lib/redis.mjs';
import { request } from '../lib/http.mjs';
import { portOpen } from '../lib/ports.mjs';
import { waitFor } from '../lib/procs.mjs';

describe('graceful shutdown', () => {
  let up, redis, gw;
  const started = [];
  const T = withLogs(() => gw);
  const start = async (opts) => { gw = await startGateway(opts); started.push(gw); return gw; };

  before(async () => {
    up = await startUpstream((req, res) => {
      const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') || 0);
      const t = setTimeout(() => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('done'); }, ms);
      res.on('close', () => clearTimeout(t));
    });
    redis = await startRedis();
  });
  after(async () => {
    for (const g of started) await g.stop('SIGKILL');
    await up?.close();
    await redis?.stop();
  });

  it('in-flight request completes, new connections refused, exit 0 before the timeout', { timeout: 30000 }, T(async () => {
    await start({ redis, conf: { graceful_shutdown_timeout_duration: 5 },
      apis: [keylessApi({ api_id: 'slow', listen_path: '/slow/', target_url: up.url })] });
    up.reset();
    const inflight = request(`${gw.url}/slow/x?ms=2000`, { timeoutMs: 10000 }).catch((e) => ({ error: e }));
    await waitFor(() => up.requests.length === 1, { timeoutMs: 3000, what: 'request at the upstream' });
    const t0 = Date.now();
    gw.markStopping();
    process.kill(gw.pid, 'SIGTERM');
    await waitFor(async () => !(await portOpen(gw.port, 300)), { timeoutMs: 1500, intervalMs: 50, what: 'listener closed after SIGTERM' });
    const r = await inflight;
    assert.ok(!r.error, `in-flight request failed: ${r.error && r.error.message}`);
    assert.equal(r.status, 200);
    assert.equal(r.text, 'done');
    const ex = await gw.waitExit(8000);
    const ms = Date.now() - t0;
    assert.ok(ex, 'gateway exited');
    assert.equal(ex.signal, null);
    assert.equal(ex.code, 0, `exit code ${ex.code}`);
    assert.ok(ms < 4500, `exited ${ms} ms after SIGTERM (timeout 5 s, request needed ~2 s)`);
  }));

  it('a request longer than the timeout does not hold the exit beyond the timeout', { timeout: 30000 }, T(async () => {
    await start({ redis, conf: { graceful_shutdown_timeout_duration: 2 },
      apis: [keylessApi({ api_id: 'slow', listen_path: '/slow/', target_url: up.url })] });
    up.reset();
    const inflight = request(`${gw.url}/slow/x?ms=8000`, { timeoutMs: 12000 }).catch((e) => ({ error: e }));
    await waitFor(() => up.requests.length === 1, { timeoutMs: 3000, what: 'request at the upstream' });
    const t0 = Date.now();
    gw.markStopping();
    process.kill(gw.pid, 'SIGTERM');
    const ex = await gw.waitExit(7000);
    const ms = Date.now() - t0;
    assert.ok(ex, 'gateway exited within 7 s');
    assert.ok(ms >= 1500 && ms < 4500, `exited ${ms} ms after SIGTERM, expected ≈2 s`);
    const r = await inflight;
    assert.ok(r.error || r.status !== 200 || r.text !== 'done', 'the long request cannot have completed');
  }));
});
