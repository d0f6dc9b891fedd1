// SPDX-License-Identifier: Apache-2.0
// extended_paths.circuit_breakers: a rate breaker per endpoint, shared by every worker;
// 5xx answers and upstream failures trip it, it answers 503 while open and returns to
// service after return_to_service_after (or earlier through a half-open probe).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { freePort } from '../lib/ports.mjs';

const OPEN = { error: 'Service temporarily unavailable.' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('circuit breakers', () => {
  let gw, up, deadPort;
  const failing = { flaky: true, half: true, other: true };
  const T = withLogs(() => gw);
  const hits = (p) => up.requests.filter((q) => q.url.startsWith(p)).length;
  before(async () => {
    up = await startUpstream((req, res) => {
      const which = req.url.split('/')[1];
      res.writeHead(failing[which] ? 500 : 200, { 'Content-Type': 'text/plain' });
      res.end(failing[which] ? 'down' : 'up');
    });
    deadPort = await freePort();
    const cb = (path, more) => ({ path, method: 'GET', threshold_percent: 0.5, samples: 4, ...more });
    const versions = (entries) => ({
      not_versioned: true, default_version: 'Default',
      versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: { circuit_breakers: entries } } },
    });
    gw = await startGateway({
      conf: { turnpike_workers: 2 },
      apis: [
        keylessApi({
          api_id: 'cb', listen_path: '/cb/', target_url: up.url,
          version_data: versions([
            cb('/flaky', { return_to_service_after: 2, disable_half_open_state: true }),
            cb('/half', { return_to_service_after: 60 }),
          ]),
        }),
        keylessApi({
          api_id: 'dead', listen_path: '/dead/', target_url: `http://127.0.0.1:${deadPort}`,
          version_data: versions([cb('/x', { samples: 2, threshold_percent: 1, return_to_service_after: 60 })]),
        }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('trips after enough failures, answers 503 without calling the upstream, returns after return_to_service_after', T(async () => {
    for (let i = 0; i < 4; i++) assert.equal((await gw.get('/cb/flaky')).status, 500, `request ${i}`);
    assert.equal(hits('/flaky'), 4);
    const open = await gw.get('/cb/flaky');
    assert.equal(open.status, 503);
    assert.deepEqual(JSON.parse(open.text), OPEN);
    assert.equal(hits('/flaky'), 4, 'the upstream was not called');
    failing.flaky = false;
    await sleep(900);
    assert.equal((await gw.get('/cb/flaky')).status, 503, 'no half-open probe when disabled');
    await sleep(1400); // past return_to_service_after (2 s)
    const back = await gw.get('/cb/flaky');
    assert.equal(back.status, 200);
    assert.equal(back.text, 'up');
    for (let i = 0; i < 5; i++) assert.equal((await gw.get('/cb/flaky')).status, 200);
  }));

  it('half-open: after the back-off one request probes the upstream and a success closes the breaker', T(async () => {
    for (let i = 0; i < 4; i++) await gw.get('/cb/half');
    assert.equal((await gw.get('/cb/half')).status, 503);
    await sleep(700); // past the first back-off (500 ms) — still open with a failing upstream
    assert.equal((await gw.get('/cb/half')).status, 500, 'the probe reaches the failing upstream');
    assert.equal((await gw.get('/cb/half')).status, 503, 'a failed probe keeps it open');
    failing.half = false;
    await sleep(1000); // past the next back-off (750 ms)
    assert.equal((await gw.get('/cb/half')).status, 200, 'the probe succeeds');
    for (let i = 0; i < 5; i++) assert.equal((await gw.get('/cb/half')).status, 200, 'closed again');
  }));

  it('below the sample count or on other paths nothing trips', T(async () => {
    for (let i = 0; i < 6; i++) assert.equal((await gw.get('/cb/other')).status, 500);
  }));

  it('upstream connection failures count as failures', T(async () => {
    for (let i = 0; i < 2; i++) {
      const r = await gw.get('/dead/x');
      assert.equal(r.status, 500);
      assert.deepEqual(JSON.parse(r.text), { error: 'There was a problem proxying the request' });
    }
    const r = await gw.get('/dead/x');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.text), OPEN);
    assert.match(gw.logs(), /Breaker tripped for path: \/x/);
  }));
});
