// SPDX-License-Identifier: Apache-2.0
// extended_paths.hard_timeouts: a per-endpoint upstream deadline replacing
// proxy_default_timeout, answered with 504 "Upstream service reached hard timeout.".
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const TIMEOUT = { error: 'Upstream service reached hard timeout.' };

describe('hard timeouts', () => {
  let gw, up;
  const T = withLogs(() => gw);
  before(async () => {
    // /delay/<ms> answers after that many milliseconds.
    up = await startUpstream((req, res) => {
      const ms = Number((/\/delay\/(\d+)/.exec(req.url) || [])[1] || 0);
      setTimeout(() => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('late'); }, ms);
    });
    gw = await startGateway({
      conf: { proxy_default_timeout: 2 },
      apis: [keylessApi({
        api_id: 'ht', listen_path: '/ht/', target_url: up.url,
        version_data: {
          not_versioned: true, default_version: 'Default',
          versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: {
            hard_timeouts: [
              { path: '/short/delay/{ms}', method: 'GET', timeout: 1 },
              { path: '/long/delay/{ms}', method: 'GET', timeout: 4 },
              { path: '/off/delay/{ms}', method: 'GET', timeout: 1, disabled: true },
            ],
          } } },
        },
      })],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('an endpoint timeout shorter than the default answers 504 when it passes', T(async () => {
    const t0 = Date.now();
    const r = await gw.get('/ht/short/delay/1800');
    const took = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.deepEqual(JSON.parse(r.text), TIMEOUT);
    assert.ok(took >= 900 && took < 1700, `took ${took} ms`);
    assert.equal((await gw.get('/ht/short/delay/100')).status, 200, 'fast enough');
  }));

  it('an endpoint timeout longer than the default lets slow upstreams finish', T(async () => {
    const r = await gw.get('/ht/long/delay/2600');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'late');
  }));

  it('other paths (and disabled entries) keep proxy_default_timeout', T(async () => {
    const t0 = Date.now();
    const r = await gw.get('/ht/other/delay/2600');
    assert.equal(r.status, 504);
    assert.deepEqual(JSON.parse(r.text), TIMEOUT);
    assert.ok(Date.now() - t0 >= 1900);
    assert.equal((await gw.get('/ht/off/delay/1500')).status, 200, 'a disabled entry does not apply');
  }));
});
