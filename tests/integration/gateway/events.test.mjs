// SPDX-License-Identifier: Apache-2.0
// Events and webhooks (Tyk's event_handlers, eh_web_hook_handler, eh_log_handler, monitor):
// a receiver run by the test gets Tyk's default template payloads with header_map headers,
// once per event_timeout (dedupe key webhook.cache.<md5> in Redis); a hanging receiver never
// slows requests; the quota trigger monitor fires at its percentage.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { murmur32 } from '../lib/murmur.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url.startsWith('/hang')) return; // never answers
      res.writeHead(200);
      res.end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    got, url: `http://127.0.0.1:${server.address().port}`,
    of: (p) => got.filter((g) => g.url === p),
    close: () => { server.closeAllConnections(); return new Promise((r) => server.close(r)); },
  })));
}

const hook = (target, more = {}) => ({
  handler_name: 'eh_web_hook_handler',
  handler_meta: { method: 'POST', target_path: target, template_path: '', header_map: { 'X-Hook': 'turnpike' }, event_timeout: 60, ...more },
});

describe('events and webhooks', () => {
  let gw, up, rx, redis;
  const T = withLogs(() => gw);
  let upOk = true;
  const store = (token, session) => redisCommand(redis.port, 'SET', `apikey-${murmur32(token)}`, JSON.stringify(session));
  const rights = { ev: { api_id: 'ev', api_name: 'ev', versions: ['Default'] } };
  const session = (more) => ({ org_id: 'default', rate: 1000, per: 1, quota_max: -1, access_rights: rights, ...more });

  before(async () => {
    redis = await startRedis();
    rx = await startReceiver();
    up = await startUpstream((req, res, rec) => {
      const bad = rec.url.startsWith('/flaky') || (rec.url.startsWith('/health') && !upOk);
      res.writeHead(bad ? 500 : 200);
      res.end(bad ? 'down' : 'up');
    });
    const versions = {
      not_versioned: true, default_version: 'Default',
      versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: {
        circuit_breakers: [{ path: '/flaky', method: 'GET', threshold_percent: 0.5, samples: 2, return_to_service_after: 60, disable_half_open_state: true }],
      } } },
    };
    gw = await startGateway({
      redis,
      conf: {
        hash_keys: true, hash_key_function: 'murmur32',
        event_handlers: { events: { TokenCreated: [hook(`${rx.url}/global`)] } },
        monitor: {
          enable_trigger_monitors: true, monitor_user_keys: true, global_trigger_limit: 0,
          configuration: { method: 'POST', target_path: `${rx.url}/monitor`, template_path: '', header_map: {}, event_timeout: 60 },
        },
        uptime_tests: { disable: false, config: { time_wait: 1, failure_trigger_sample_size: 1, checker_pool_size: 2 } },
      },
      apis: [
        {
          name: 'ev', api_id: 'ev', org_id: 'default', active: true, use_keyless: false,
          auth: { auth_header_name: 'Authorization' },
          version_data: versions,
          proxy: { listen_path: '/ev/', target_url: up.url, strip_listen_path: true },
          uptime_tests: { check_list: [{ url: `${up.url}/health`, timeout: 2e9 }], config: {} },
          event_handlers: { events: {
            AuthFailure: [hook(`${rx.url}/auth`), { handler_name: 'eh_log_handler', handler_meta: { prefix: 'evlog' } }],
            QuotaExceeded: [hook(`${rx.url}/quota`)],
            RatelimitExceeded: [hook(`${rx.url}/rate`, { method: 'put' })],
            KeyExpired: [hook(`${rx.url}/expired`, { event_timeout: 1 })],
            BreakerTripped: [hook(`${rx.url}/breaker`)],
            BreakerTriggered: [hook(`${rx.url}/breaker-triggered`)],
            HostDown: [hook(`${rx.url}/host`, { event_timeout: 1 })],
            HostUp: [hook(`${rx.url}/host`, { event_timeout: 1 })],
          } },
        },
        {
          name: 'slow', api_id: 'slow', org_id: 'default', active: true, use_keyless: false,
          auth: { auth_header_name: 'Authorization' },
          version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: '/slow/', target_url: up.url, strip_listen_path: true },
          event_handlers: { events: { AuthFailure: [hook(`${rx.url}/hang`, { event_timeout: 0.001 })] } },
        },
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await rx?.close(); await redis?.stop(); });

  it('AuthFailure: default template body, header_map headers, Tyk-Hookshot UA; the log handler line', T(async () => {
    const r = await gw.get('/ev/x', { headers: { Authorization: 'nosuchkey123' } });
    assert.equal(r.status, 403);
    await waitFor(() => rx.of('/auth').length === 1, { what: 'AuthFailure webhook' });
    const [h] = rx.of('/auth');
    assert.equal(h.method, 'POST');
    assert.equal(h.headers['x-hook'], 'turnpike');
    assert.equal(h.headers['user-agent'], 'Tyk-Hookshot');
    assert.equal(h.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(h.body), { event: 'AuthFailure', message: 'Auth Failure', path: '/ev/x', origin: '127.0.0.1', key: 'nosuchkey123' });
    await waitFor(() => /evlog:AuthFailure/.test(gw.logs()), { what: 'log handler line' });
  }));

  it('the same event fires once per event_timeout (several fires, one call, Redis marker with TTL)', T(async () => {
    for (let i = 0; i < 5; i++) await gw.get('/ev/x', { headers: { Authorization: 'nosuchkey123' } });
    const r = await gw.get('/ev/other', { headers: { Authorization: 'nosuchkey123' } });
    assert.equal(r.status, 403);
    await waitFor(() => rx.of('/auth').some((h) => JSON.parse(h.body).path === '/ev/other'), { what: 'different body' });
    await sleep(300);
    assert.equal(rx.of('/auth').filter((h) => JSON.parse(h.body).path === '/ev/x').length, 1);
    const keys = JSON.parse(JSON.stringify(await redisCommand(redis.port, 'KEYS', 'webhook.cache.*')));
    assert.ok(keys.length >= 2, `markers: ${keys}`);
    const ttl = Number(await redisCommand(redis.port, 'TTL', keys[0]));
    assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
  }));

  it('RatelimitExceeded (method PUT) and QuotaExceeded carry the key', T(async () => {
    await store('ratekey1234', session({ rate: 1, per: 60 }));
    let limited = 0;
    for (let i = 0; i < 4; i++) if ((await gw.get('/ev/r', { headers: { Authorization: 'ratekey1234' } })).status === 429) limited++;
    assert.ok(limited > 0);
    await waitFor(() => rx.of('/rate').length === 1, { what: 'RatelimitExceeded webhook' });
    assert.equal(rx.of('/rate')[0].method, 'PUT');
    assert.deepEqual(JSON.parse(rx.of('/rate')[0].body),
      { event: 'RatelimitExceeded', message: 'Key Rate Limit Exceeded', path: '/ev/r', origin: '127.0.0.1', key: 'ratekey1234' });

    await store('quotakey1234', session({ quota_max: 2, quota_remaining: 2, quota_renewal_rate: 3600 }));
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await gw.get('/ev/q', { headers: { Authorization: 'quotakey1234' } })).status);
    assert.deepEqual(codes, [200, 200, 403]);
    await waitFor(() => rx.of('/quota').length === 1, { what: 'QuotaExceeded webhook' });
    assert.equal(JSON.parse(rx.of('/quota')[0].body).message, 'Key Quota Limit Exceeded');
    assert.equal(JSON.parse(rx.of('/quota')[0].body).key, 'quotakey1234');
  }));

  it('KeyExpired, once per event_timeout', T(async () => {
    await store('expiredkey12', session({ expires: 1000 }));
    assert.equal((await gw.get('/ev/e', { headers: { Authorization: 'expiredkey12' } })).status, 401);
    await waitFor(() => rx.of('/expired').length === 1, { what: 'KeyExpired webhook' });
    assert.deepEqual(JSON.parse(rx.of('/expired')[0].body),
      { event: 'KeyExpired', message: 'Attempted access from expired key.', path: '/ev/e', origin: '127.0.0.1', key: 'expiredkey12' });
    // event_timeout 1 s: repeats inside the window are dropped, the next window sends again
    for (let i = 0; i < 3; i++) await gw.get('/ev/e', { headers: { Authorization: 'expiredkey12' } });
    await sleep(300);
    assert.equal(rx.of('/expired').length, 1);
    await sleep(1300);
    await gw.get('/ev/e', { headers: { Authorization: 'expiredkey12' } });
    await waitFor(() => rx.of('/expired').length === 2, { what: 'KeyExpired after event_timeout' });
  }));

  it('the quota trigger monitor fires at the key\'s trigger percentage', T(async () => {
    await store('monkey123456', session({ quota_max: 10, quota_remaining: 10, quota_renewal_rate: 3600, monitor: { trigger_limits: [50] } }));
    for (let i = 0; i < 4; i++) assert.equal((await gw.get('/ev/m', { headers: { Authorization: 'monkey123456' } })).status, 200);
    await sleep(300);
    assert.equal(rx.of('/monitor').length, 0, 'not below 50 %');
    for (let i = 0; i < 3; i++) await gw.get('/ev/m', { headers: { Authorization: 'monkey123456' } });
    await waitFor(() => rx.of('/monitor').length >= 1, { what: 'TriggerExceeded webhook' });
    assert.deepEqual(JSON.parse(rx.of('/monitor')[0].body),
      { event: 'TriggerExceeded', message: 'Quota trigger reached', org: 'default', key: 'monkey123456', trigger_limit: '50' });
    await sleep(200);
    assert.equal(rx.of('/monitor').length, 1, 'same trigger: de-duplicated');
  }));

  it('BreakerTripped and BreakerTriggered (CircuitEvent 0)', T(async () => {
    await store('breakkey1234', session());
    for (let i = 0; i < 3; i++) await gw.get('/ev/flaky', { headers: { Authorization: 'breakkey1234' } });
    await waitFor(() => rx.of('/breaker').length === 1 && rx.of('/breaker-triggered').length === 1, { what: 'breaker webhooks' });
    assert.deepEqual(JSON.parse(rx.of('/breaker-triggered')[0].body),
      { event: 'BreakerTriggered', message: 'Breaker Tripped', api_id: 'ev', path: '/flaky', Status: '0' });
    assert.equal(JSON.parse(rx.of('/breaker')[0].body).event, 'BreakerTripped');
  }));

  it('HostDown then HostUp from the uptime checker', T(async () => {
    upOk = false;
    await waitFor(() => rx.of('/host').some((h) => JSON.parse(h.body).event === 'HostDown'), { timeoutMs: 15000, what: 'HostDown' });
    const down = JSON.parse(rx.of('/host').find((h) => JSON.parse(h.body).event === 'HostDown').body);
    assert.equal(down.message, 'Uptime test failed');
    assert.equal(down.url, `${up.url}/health`);
    assert.equal(down.response_code, '500');
    assert.equal(down.api_id, 'ev');
    upOk = true;
    await waitFor(() => rx.of('/host').some((h) => JSON.parse(h.body).event === 'HostUp'), { timeoutMs: 15000, what: 'HostUp' });
  }));

  it('TokenCreated goes to the tyk.conf handlers', T(async () => {
    const r = await gw.admin('POST', '/tyk/keys/create', JSON.stringify(session({ org_id: 'org9' })));
    assert.equal(r.status, 200);
    const key = JSON.parse(r.text).key;
    await waitFor(() => rx.of('/global').length === 1, { what: 'TokenCreated webhook' });
    const body = JSON.parse(rx.of('/global')[0].body);
    assert.equal(body.event, 'TokenCreated');
    assert.equal(body.message, 'Key modified.');
    assert.equal(body.key, key);
  }));

  it('a webhook target that never answers does not slow requests', T(async () => {
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) {
      const r = await gw.get('/slow/x', { headers: { Authorization: `hangkey${i}` } });
      assert.equal(r.status, 403);
    }
    const ms = Date.now() - t0;
    await waitFor(() => rx.of('/hang').length >= 10, { what: 'hanging calls started' });
    assert.ok(ms < 3000, `30 requests took ${ms} ms while the receiver hangs`);
    assert.equal((await gw.get('/ev/x', { headers: { Authorization: 'nosuchkey123' } })).status, 403);
  }));
});
