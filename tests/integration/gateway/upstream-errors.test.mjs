// SPDX-License-Identifier: Apache-2.0
// Upstream failures, error bodies and templates, load balancing
// (spec/gateway.md §9.2, §9.3, §13.2; Tyk gateway/reverse_proxy.go).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startDns } from '../lib/dns.mjs';
import { freePort } from '../lib/ports.mjs';
import { request } from '../lib/http.mjs';

function assertJsonError(r, status, message) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers['x-generator'], 'tyk.io');
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  assert.equal(r.text.replace(/\s+$/, ''), `{\n    "error": "${message}"\n}`);
  assert.deepEqual(r.json(), { error: message });
}

describe('upstream errors', () => {
  let gw, dns, slow, ups = [];
  const T = withLogs(() => gw);

  before(async () => {
    const deadPort = await freePort();
    slow = await startUpstream((req, res) => {
      const t = setTimeout(() => { res.writeHead(200); res.end('late'); }, 3000);
      res.on('close', () => clearTimeout(t));
    });
    for (const name of ['u0', 'u1', 'u2']) ups.push(await startUpstream(undefined, { name }));
    dns = await startDns({ 'upstream.test': '127.0.0.1' });
    gw = await startGateway({
      conf: { proxy_default_timeout: 1, turnpike_dns_nameservers: [`127.0.0.1:${dns.port}`] },
      apis: [
        keylessApi({ api_id: 'refused', listen_path: '/refused/', target_url: `http://127.0.0.1:${deadPort}` }),
        keylessApi({ api_id: 'slow', listen_path: '/slow/', target_url: slow.url }),
        keylessApi({ api_id: 'nx', listen_path: '/nx/', target_url: `http://nx-domain.test:${ups[0].port}` }),
        keylessApi({ api_id: 'named', listen_path: '/named/', target_url: `http://upstream.test:${ups[0].port}` }),
        keylessApi({ api_id: 'lb', listen_path: '/lb/', target_url: ups[0].url,
          proxy: { enable_load_balancing: true, target_list: ups.map((u) => u.url) } }),
      ],
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([slow?.close(), dns?.close(), ...ups.map((u) => u.close())]);
  });

  it('connection refused → 500 "There was a problem proxying the request"', T(async () => {
    assertJsonError(await gw.get('/refused/x'), 500, 'There was a problem proxying the request');
  }));

  it('upstream slower than proxy_default_timeout → 504 "Upstream service reached hard timeout."', T(async () => {
    const t0 = Date.now();
    const r = await gw.get('/slow/x');
    const ms = Date.now() - t0;
    assertJsonError(r, 504, 'Upstream service reached hard timeout.');
    assert.ok(ms >= 900 && ms < 2800, `answered after ${ms} ms, expected ≈1 s`);
  }));

  it('target host resolved through the configured nameserver', T(async () => {
    ups[0].reset();
    const r = await gw.get('/named/x');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().upstream, 'u0');
    assert.ok(dns.queries.some((q) => q.name === 'upstream.test'), 'gateway asked our DNS server');
  }));

  it('DNS failure (NXDOMAIN) → 500 "Upstream host lookup failed"', T(async () => {
    assertJsonError(await gw.get('/nx/x'), 500, 'Upstream host lookup failed');
  }));

  it('load balancing: round-robin over target_list', T(async () => {
    const order = [];
    for (let i = 0; i < 6; i++) {
      const r = await gw.get(`/lb/r${i}`);
      assert.equal(r.status, 200, r.text);
      order.push(r.json().upstream);
    }
    assert.deepEqual([...order.slice(0, 3)].sort(), ['u0', 'u1', 'u2'], `order ${order}`);
    assert.deepEqual(order.slice(3), order.slice(0, 3), `order ${order}`);
    // the cycle follows target_list order
    const start = ['u0', 'u1', 'u2'].indexOf(order[0]);
    assert.deepEqual(order.slice(0, 3), [0, 1, 2].map((i) => `u${(start + i) % 3}`), `order ${order}`);
  }));

  it('Content-Type application/xml request → XML error template', T(async () => {
    const r = await request(`${gw.url}/refused/x`, { method: 'POST', body: '<a/>',
      headers: { 'Content-Type': 'application/xml' } });
    assert.equal(r.status, 500);
    assert.equal(r.headers['x-generator'], 'tyk.io');
    assert.match(r.headers['content-type'] || '', /^application\/xml/);
    assert.match(r.text, /<error>There was a problem proxying the request<\/error>/);
    assert.ok(!r.text.trim().startsWith('{'), r.text);
  }));

  it('text/xml with parameters also selects the XML template', T(async () => {
    const r = await request(`${gw.url}/refused/x`, { method: 'POST', body: '<a/>',
      headers: { 'Content-Type': 'text/xml; charset=utf-8' } });
    assert.equal(r.status, 500);
    assert.match(r.text, /<error>There was a problem proxying the request<\/error>/);
  }));
});

describe('error_<code> template override', () => {
  let gw;
  const T = withLogs(() => gw);
  before(async () => {
    const deadPort = await freePort();
    gw = await startGateway({
      templates: { 'error_500.json': '{"custom": true, "msg": "{{.Message}}"}' },
      apis: [keylessApi({ api_id: 'refused', listen_path: '/refused/', target_url: `http://127.0.0.1:${deadPort}` })],
    });
  });
  after(async () => { await gw?.stop(); });

  it('error_500.json is used for 500s', T(async () => {
    const r = await gw.get('/refused/x');
    assert.equal(r.status, 500);
    assert.equal(r.headers['x-generator'], 'tyk.io');
    assert.deepEqual(JSON.parse(r.text), { custom: true, msg: 'There was a problem proxying the request' });
  }));
});
