// SPDX-License-Identifier: Apache-2.0
// Throttling (session / access-right throttle_interval + throttle_retry_limit): on a rate-limit
// hit Tyk waits throttle_interval seconds and re-checks, up to retry_limit times, before the
// 429. The wait must not hold up the worker: other requests on it are answered meanwhile.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { sleep } from '../lib/procs.mjs';
import { murmur32 } from '../lib/murmur.mjs';

const API = 'thrapi';

function keyedApi(target) {
  return {
    name: API, api_id: API, org_id: 'default', use_keyless: false, active: true,
    auth: { auth_header_name: 'Authorization' },
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: '/t/', target_url: target, strip_listen_path: true },
  };
}
const right = (extra = {}) => ({ [API]: { api_id: API, api_name: API, versions: ['Default'], ...extra } });

async function timed(gw, token, p = '/t/x') {
  const t0 = Date.now();
  const r = await gw.get(p, { headers: { Authorization: token }, timeoutMs: 20000 });
  return { status: r.status, text: r.text, ms: Date.now() - t0 };
}

function suite(name, conf) {
  describe(name, () => {
    let gw, up, redis;
    const T = withLogs(() => gw);
    const store = (token, s) => redisCommand(redis.port, 'SET', `apikey-${murmur32(token)}`, JSON.stringify({ org_id: 'default', ...s }));

    before(async () => {
      up = await startUpstream();
      redis = await startRedis();
      gw = await startGateway({
        redis,
        // one worker: a blocking wait would stall every other request
        conf: { hash_keys: true, hash_key_function: 'murmur32', turnpike_workers: 1, ...conf },
        apis: [keyedApi(up.url)],
      });
    });
    after(async () => { await gw?.stop(); await up?.close(); await redis?.stop(); });

    it('no throttle settings: the 429 comes at once', T(async () => {
      await store('thrnone0001', { rate: 1, per: 60, access_rights: right() });
      assert.equal((await timed(gw, 'thrnone0001')).status, 200);
      const r = await timed(gw, 'thrnone0001');
      assert.equal(r.status, 429);
      assert.ok(r.ms < 500, `${r.ms} ms`);
    }));

    it('limit never frees up: retry_limit+1 waits of throttle_interval, then 429 "Rate Limit Exceeded"', T(async () => {
      await store('thrhope0001', { rate: 1, per: 60, throttle_interval: 0.3, throttle_retry_limit: 2, access_rights: right() });
      assert.equal((await timed(gw, 'thrhope0001')).status, 200);
      const r = await timed(gw, 'thrhope0001');
      assert.equal(r.status, 429);
      assert.deepEqual(JSON.parse(r.text), { error: 'Rate Limit Exceeded' });
      assert.ok(r.ms >= 850 && r.ms < 2500, `answered after ${r.ms} ms, expected ~900`);
    }));

    it('the access right\'s limit carries its own throttle settings (root ones ignored)', T(async () => {
      await store('thrperapi01', {
        rate: 1, per: 60, throttle_interval: 5, throttle_retry_limit: 5,
        access_rights: right({ limit: { rate: 1, per: 60, throttle_interval: 0.2, throttle_retry_limit: 1 } }),
      });
      assert.equal((await timed(gw, 'thrperapi01')).status, 200);
      const r = await timed(gw, 'thrperapi01');
      assert.equal(r.status, 429);
      assert.ok(r.ms >= 350 && r.ms < 2000, `answered after ${r.ms} ms, expected ~400`);
    }));

    it('the worker keeps serving other requests while one waits', T(async () => {
      await store('thrslow0001', { rate: 1, per: 60, throttle_interval: 1, throttle_retry_limit: 1, access_rights: right() });
      await store('throther001', { access_rights: right() });
      assert.equal((await timed(gw, 'thrslow0001')).status, 200);
      const slow = timed(gw, 'thrslow0001');
      await sleep(100);
      const quick = await timed(gw, 'throther001');
      assert.equal(quick.status, 200);
      assert.ok(quick.ms < 500, `other request took ${quick.ms} ms`);
      const s = await slow;
      assert.equal(s.status, 429);
      assert.ok(s.ms >= 1900, `${s.ms} ms`);
    }));

    it('a client that leaves during the wait does no harm', T(async () => {
      await store('thrgone0001', { rate: 1, per: 60, throttle_interval: 0.5, throttle_retry_limit: 1, access_rights: right() });
      assert.equal((await timed(gw, 'thrgone0001')).status, 200);
      await new Promise((resolve) => {
        const u = new URL(`${gw.url}/t/x`);
        const rq = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, headers: { Authorization: 'thrgone0001' } });
        rq.on('error', () => resolve());
        rq.end();
        setTimeout(() => { rq.destroy(); resolve(); }, 150);
      });
      await sleep(1300); // the timers fire for a request that is gone
      await store('thrafter001', { access_rights: right() });
      assert.equal((await timed(gw, 'thrafter001')).status, 200);
      assert.ok(!gw.exited());
    }));
  });
}

suite('throttling, in-memory limiter (default)', {});
suite('throttling, Redis sliding log', { enable_redis_rolling_limiter: true });

describe('throttling lets a request through once the window frees up (in-memory limiter)', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({ redis, conf: { hash_keys: true, hash_key_function: 'murmur32' }, apis: [keyedApi(up.url)] });
  });
  after(async () => { await gw?.stop(); await up?.close(); await redis?.stop(); });

  it('rate 1 per 2 s, interval 1 s, 3 retries: the 2nd request waits ~2 s and gets 200', T(async () => {
    await redisCommand(redis.port, 'SET', `apikey-${murmur32('thrpass0001')}`, JSON.stringify({
      org_id: 'default', rate: 1, per: 2, throttle_interval: 1, throttle_retry_limit: 3, access_rights: right(),
    }));
    const n0 = up.requests.length;
    assert.equal((await timed(gw, 'thrpass0001')).status, 200);
    const r = await timed(gw, 'thrpass0001');
    assert.equal(r.status, 200, r.text);
    assert.ok(r.ms >= 1500 && r.ms < 3500, `answered after ${r.ms} ms`);
    assert.equal(up.requests.length - n0, 2, 'both requests reached the upstream');
  }));
});
