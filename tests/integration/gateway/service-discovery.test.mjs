// SPDX-License-Identifier: Apache-2.0
// Service discovery (proxy.service_discovery): the gateway asks a discovery endpoint run by this
// test for the upstreams, reads Consul-, etcd- and Eureka-shaped answers as Tyk does, follows a
// changed list after cache_timeout, keeps the last good list when the endpoint goes down or
// answers garbage, and falls back to target_url when it never had a list.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { freePort } from '../lib/ports.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

/* A discovery endpoint: answers[path] = body (string or JSON value); hits counted per path. */
async function startDiscovery() {
  const answers = new Map();
  const hits = new Map();
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    hits.set(req.url, (hits.get(req.url) || 0) + 1);
    const a = answers.get(req.url);
    if (a === undefined) { res.writeHead(404); res.end('not found'); return; }
    const body = typeof a === 'string' ? a : JSON.stringify(a);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port, answers, hits,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    close() { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(() => r())); },
  };
}

const consul = (...ports) => ports.map((p, i) => ({
  Node: { Node: `node${i}` }, Service: { ID: `svc${i}`, Address: '127.0.0.1', Port: p },
}));
const etcd = (port) => ({
  action: 'get', node: { key: '/services/etcd', value: JSON.stringify({ hostname: '127.0.0.1', port }) },
});
const eureka = (...ports) => ({
  application: {
    name: 'APP',
    instance: ports.map((p, i) => ({ instanceId: `i${i}`, hostName: '127.0.0.1', port: { $: p, '@enabled': 'true' } })),
  },
});

const sdApi = (id, sd, extra = {}) => keylessApi({
  api_id: id, listen_path: `/${id}/`, target_url: extra.target_url || 'http://127.0.0.1:1',
  proxy: { service_discovery: { use_discovery_service: true, cache_timeout: 1, ...sd }, ...(extra.proxy || {}) },
});

/* Which upstream answered a request through the gateway (by the echo's "upstream" field). */
async function who(gw, path) {
  const r = await gw.get(path, { timeoutMs: 5000 });
  if (r.status !== 200) return `status ${r.status}`;
  return JSON.parse(r.text).upstream;
}

describe('service discovery', { timeout: 60000 }, () => {
  let gw, disc, downDisc, upA, upB, upFallback, deadPort;
  const T = withLogs(() => gw);
  before(async () => {
    upA = await startUpstream(undefined, { name: 'A' });
    upB = await startUpstream(undefined, { name: 'B' });
    upFallback = await startUpstream(undefined, { name: 'fallback' });
    disc = await startDiscovery();
    downDisc = await startDiscovery();
    deadPort = await freePort();
    disc.answers.set('/consul', consul(upA.port, upB.port));
    disc.answers.set('/etcd', etcd(upB.port));
    disc.answers.set('/eureka', eureka(upA.port, upB.port));
    disc.answers.set('/change', { Address: '127.0.0.1', Port: upA.port });
    disc.answers.set('/garbage', consul(upA.port));
    disc.answers.set('/empty', []);
    disc.answers.set('/failover', consul(deadPort));
    disc.answers.set('/uptime', consul(upA.port, deadPort));
    downDisc.answers.set('/down', consul(upB.port));
    const list = { endpoint_returns_list: true, data_path: 'Service.Address', port_data_path: 'Service.Port' };
    gw = await startGateway({
      conf: {
        service_discovery: { default_cache_timeout: 1 },
        uptime_tests: { disable: false, config: { time_wait: 1, failure_trigger_sample_size: 2 } },
      },
      apis: [
        sdApi('consul', { query_endpoint: disc.url('/consul'), use_target_list: true, ...list },
          { proxy: { enable_load_balancing: true } }),
        sdApi('etcd', {
          query_endpoint: disc.url('/etcd'), use_nested_query: true, parent_data_path: 'node.value',
          data_path: 'hostname', port_data_path: 'port',
        }),
        sdApi('eureka', {
          query_endpoint: disc.url('/eureka'), use_target_list: true, parent_data_path: 'application.instance',
          data_path: 'hostName', port_data_path: 'port.$', target_path: '/base',
        }, { proxy: { enable_load_balancing: true } }),
        sdApi('change', { query_endpoint: disc.url('/change'), data_path: 'Address', port_data_path: 'Port' }),
        sdApi('down', { query_endpoint: downDisc.url('/down'), ...list }),
        sdApi('garbage', { query_endpoint: disc.url('/garbage'), ...list }),
        sdApi('never', { query_endpoint: `http://127.0.0.1:${deadPort}/x`, ...list },
          { target_url: upFallback.url }),
        sdApi('empty', { query_endpoint: disc.url('/empty'), use_target_list: true, ...list }),
        sdApi('failover', { query_endpoint: disc.url('/failover'), cache_timeout: 60, ...list }),
        {
          ...sdApi('uptime', { query_endpoint: disc.url('/uptime'), use_target_list: true, ...list },
            { proxy: { enable_load_balancing: true, check_host_against_uptime_tests: true } }),
          uptime_tests: {
            check_list: [{ url: `${upA.url}/health` }, { url: `http://127.0.0.1:${deadPort}/health` }],
          },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await Promise.all([upA, upB, upFallback, disc, downDisc].map((s) => s?.close()));
  });

  it('reads a Consul list (data_path + port_data_path) and round-robins across it', T(async () => {
    await waitFor(async () => ['A', 'B'].includes(await who(gw, '/consul/x')), { timeoutMs: 10000, what: 'consul list' });
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(await who(gw, '/consul/x'));
    assert.ok(seen.every((s) => s === 'A' || s === 'B'), seen.join(','));
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `round robin: ${seen.join(',')}`);
  }));

  it('reads an etcd answer whose node.value is a JSON string (use_nested_query)', T(async () => {
    await waitFor(async () => (await who(gw, '/etcd/y')) === 'B', { timeoutMs: 10000, what: 'etcd host' });
  }));

  it('reads a Eureka instance list and appends target_path', T(async () => {
    await waitFor(async () => ['A', 'B'].includes(await who(gw, '/eureka/z')), { timeoutMs: 10000, what: 'eureka hosts' });
    upA.reset();
    upB.reset();
    for (let i = 0; i < 4; i++) assert.match(await who(gw, '/eureka/z?q=1'), /^[AB]$/);
    const urls = [...upA.requests, ...upB.requests].map((r) => r.url);
    assert.equal(urls.length, 4);
    assert.ok(urls.every((u) => u === '/base/z?q=1'), urls.join(' '));
    assert.ok(upA.requests.length === 2 && upB.requests.length === 2, 'both instances used');
  }));

  it('picks up a changed target list after cache_timeout', T(async () => {
    await waitFor(async () => (await who(gw, '/change/')) === 'A', { timeoutMs: 10000, what: 'first host' });
    disc.answers.set('/change', { Address: '127.0.0.1', Port: upB.port });
    const t0 = Date.now();
    await waitFor(async () => (await who(gw, '/change/')) === 'B', { timeoutMs: 8000, what: 'changed host' });
    assert.ok(Date.now() - t0 < 8000);
  }));

  it('keeps the last good list while the discovery endpoint is down (logged once)', T(async () => {
    await waitFor(async () => (await who(gw, '/down/')) === 'B', { timeoutMs: 10000, what: 'down api host' });
    await downDisc.close();
    // Several refresh periods (1 s) pass with the endpoint gone; traffic keeps flowing.
    await waitFor(() => /api=down Failed target lookup/.test(gw.logs()), { timeoutMs: 8000, what: 'lookup failure log' });
    await sleep(2500);
    for (let i = 0; i < 3; i++) assert.equal(await who(gw, '/down/'), 'B');
    const lines = gw.logs().split('\n').filter((l) => /api=down Failed target lookup/.test(l));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], /keeping the last good list \(1 hosts\)/);
  }));

  it('logs a garbage answer and keeps the old list', T(async () => {
    await waitFor(async () => (await who(gw, '/garbage/')) === 'A', { timeoutMs: 10000, what: 'garbage api host' });
    const before = disc.hits.get('/garbage');
    disc.answers.set('/garbage', '<html>502 Bad Gateway</html>');
    await waitFor(() => disc.hits.get('/garbage') >= before + 2, { timeoutMs: 8000, what: 'garbage fetched' });
    await waitFor(() => /api=garbage Failed target lookup: answer is not JSON; keeping the last good list/.test(gw.logs()),
      { timeoutMs: 5000, what: 'garbage log' });
    for (let i = 0; i < 3; i++) assert.equal(await who(gw, '/garbage/'), 'A');
    // A later good answer is taken again.
    disc.answers.set('/garbage', consul(upB.port));
    await waitFor(async () => (await who(gw, '/garbage/')) === 'B', { timeoutMs: 8000, what: 'recovered list' });
  }));

  it('with no list ever, proxies to target_url as Tyk does when the lookup fails', T(async () => {
    await waitFor(() => /api=never Failed target lookup/.test(gw.logs()), { timeoutMs: 8000, what: 'never log' });
    for (let i = 0; i < 3; i++) assert.equal(await who(gw, '/never/'), 'fallback');
    assert.match(gw.logs(), /api=never Failed target lookup: .*no list yet, using target_url/);
  }));

  it('an empty host list and no earlier one answers 503 "all hosts are down"', T(async () => {
    await waitFor(async () => (await gw.get('/empty/', { timeoutMs: 5000 })).status === 503,
      { timeoutMs: 10000, what: '503' });
    const r = await gw.get('/empty/');
    assert.equal(r.status, 503);
    assert.equal(r.text, 'all hosts are down\n');
    assert.match(r.headers['content-type'], /^text\/plain/);
  }));

  it('check_host_against_uptime_tests skips discovered hosts the uptime tests marked down', T(async () => {
    await waitFor(async () => {
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push(await who(gw, '/uptime/'));
      return seen.every((x) => x === 'A');
    }, { timeoutMs: 15000, intervalMs: 200, what: 'dead discovered host out of rotation' });
  }));

  it('keeps the discovered list across a reload (no fallback to target_url)', T(async () => {
    await waitFor(async () => ['A', 'B'].includes(await who(gw, '/consul/r')), { timeoutMs: 10000, what: 'consul list' });
    const hits = disc.hits.get('/consul');
    await gw.reload();
    for (let i = 0; i < 4; i++) assert.match(await who(gw, '/consul/r'), /^[AB]$/);
    assert.ok(disc.hits.get('/consul') - hits <= 3, 'no refetch storm');
  }));

  it('an upstream failure refreshes the list before cache_timeout', T(async () => {
    // The first list points at a dead port; cache_timeout is 60 s.
    await waitFor(() => disc.hits.get('/failover') >= 1, { timeoutMs: 8000, what: 'first lookup' });
    await waitFor(async () => (await gw.get('/failover/', { timeoutMs: 5000 })).status === 500,
      { timeoutMs: 8000, what: 'dead upstream' });
    disc.answers.set('/failover', consul(upA.port));
    await waitFor(async () => (await who(gw, '/failover/')) === 'A', { timeoutMs: 8000, what: 'refreshed after failure' });
  }));
});
