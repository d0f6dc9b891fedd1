// SPDX-License-Identifier: Apache-2.0
// Request and response bodies: content-length, chunked, and 1 GiB streams in
// both directions with the gateway's memory bounded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { startGateway, keylessApi, withLogs, memKiB, binaryHasAsan } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { request } from '../lib/http.mjs';

const GiB = 1024 * 1024 * 1024;
const LIMIT_KIB = 64 * 1024;

function bigStream(total, chunk = 256 * 1024) {
  const buf = Buffer.alloc(chunk, 0x61);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) { this.push(null); return; }
      const n = Math.min(chunk, total - sent);
      sent += n;
      this.push(n === chunk ? buf : buf.subarray(0, n));
    },
  });
}

/* Sample the gateway's RSS while fn runs; returns {result, peakKiB, baseKiB, hwmKiB}. */
async function watchMemory(pid, fn) {
  const base = memKiB(pid).rss;
  let peak = base;
  const timer = setInterval(() => {
    try { peak = Math.max(peak, memKiB(pid).rss); } catch { /* exited */ }
  }, 50);
  try {
    const result = await fn();
    return { result, peakKiB: Math.max(peak, memKiB(pid).rss), baseKiB: base, hwmKiB: memKiB(pid).hwm };
  } finally {
    clearInterval(timer);
  }
}

function assertMemory(m, what) {
  const detail = `${what}: base ${m.baseKiB} KiB, peak ${m.peakKiB} KiB, VmHWM ${m.hwmKiB} KiB`;
  console.log(`memory ${detail}`);
  if (binaryHasAsan()) {
    // AddressSanitizer's shadow memory inflates the absolute size; bound the growth instead.
    assert.ok(m.peakKiB - m.baseKiB < LIMIT_KIB, `RSS grew by more than 64 MiB (${detail})`);
  } else {
    assert.ok(m.hwmKiB < LIMIT_KIB, `VmHWM ≥ 64 MiB (${detail})`);
  }
}

describe('bodies', () => {
  let gw, up;
  const T = withLogs(() => gw);

  before(async () => {
    const handler = (req, res) => {
      const u = new URL(req.url, 'http://x');
      if (u.pathname === '/sink') {
        let n = 0;
        req.on('data', (c) => { n += c.length; });
        req.on('end', () => {
          const out = JSON.stringify({ bodyLength: n });
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': out.length });
          res.end(out);
        });
        return;
      }
      if (u.pathname === '/source') {
        const size = Number(u.searchParams.get('size'));
        const headers = { 'Content-Type': 'application/octet-stream' };
        if (u.searchParams.get('chunked') !== '1') headers['Content-Length'] = size;
        res.writeHead(200, headers);
        bigStream(size).pipe(res);
        return;
      }
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const sha = crypto.createHash('sha256').update(body).digest('hex');
        const common = { 'Content-Type': 'application/octet-stream', 'X-Body-Sha': sha,
          'X-Req-TE': String(req.headers['transfer-encoding'] || ''), 'X-Req-CL': String(req.headers['content-length'] || '') };
        if (u.pathname === '/echo-chunked') {
          res.writeHead(200, common);
          // three separate writes → chunked encoding
          const third = Math.ceil(body.length / 3);
          res.write(body.subarray(0, third));
          setTimeout(() => { res.write(body.subarray(third, 2 * third)); res.end(body.subarray(2 * third)); }, 20);
        } else {
          res.writeHead(200, { ...common, 'Content-Length': body.length });
          res.end(body);
        }
      });
    };
    handler.streaming = true;
    up = await startUpstream(handler);
    gw = await startGateway({
      env: { ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'quarantine_size_mb=16' },
      apis: [keylessApi({ api_id: 'bodies', listen_path: '/b/', target_url: up.url })],
    });
  });

  after(async () => { await gw?.stop(); await up?.close(); });

  it('content-length body up and down', T(async () => {
    const body = crypto.randomBytes(300 * 1024);
    const sha = crypto.createHash('sha256').update(body).digest('hex');
    const r = await request(`${gw.url}/b/echo`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.equal(r.headers['x-body-sha'], sha, 'upstream got the exact body');
    assert.equal(r.headers['x-req-cl'], String(body.length));
    assert.equal(r.headers['content-length'], String(body.length));
    assert.ok(r.body.equals(body), 'response body intact');
  }));

  it('chunked request body reaches the upstream; chunked response comes back chunked', T(async () => {
    const body = crypto.randomBytes(200 * 1024 + 17);
    const sha = crypto.createHash('sha256').update(body).digest('hex');
    const stream = Readable.from([body.subarray(0, 1000), body.subarray(1000, 150000), body.subarray(150000)]);
    const r = await request(`${gw.url}/b/echo-chunked`, { method: 'POST', bodyStream: stream,
      headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.equal(r.headers['x-body-sha'], sha, 'upstream got the exact body');
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.headers['content-length'], undefined);
    assert.ok(r.body.equals(body), 'response body intact');
  }));

  it('empty POST body', T(async () => {
    const r = await request(`${gw.url}/b/echo`, { method: 'POST', body: '' });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
  }));

  it('1 GiB request body streams through with RSS < 64 MiB', { timeout: 90000 }, T(async () => {
    const t0 = Date.now();
    const m = await watchMemory(gw.pid, () => request(`${gw.url}/b/sink`, {
      method: 'PUT', bodyStream: bigStream(GiB), timeoutMs: 80000,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(GiB) },
    }));
    assert.equal(m.result.status, 200, m.result.text);
    assert.equal(m.result.json().bodyLength, GiB);
    assertMemory(m, `1 GiB up in ${Date.now() - t0} ms`);
  }));

  it('1 GiB response body streams down with RSS < 64 MiB', { timeout: 90000 }, T(async () => {
    const t0 = Date.now();
    const m = await watchMemory(gw.pid, () => request(`${gw.url}/b/source?size=${GiB}`, { discardBody: true, timeoutMs: 80000 }));
    assert.equal(m.result.status, 200);
    assert.equal(m.result.bodyLength, GiB);
    assertMemory(m, `1 GiB down in ${Date.now() - t0} ms`);
  }));

  it('chunked 256 MiB response body streams down', { timeout: 60000 }, T(async () => {
    const size = 256 * 1024 * 1024;
    const m = await watchMemory(gw.pid, () => request(`${gw.url}/b/source?size=${size}&chunked=1`, { discardBody: true, timeoutMs: 50000 }));
    assert.equal(m.result.status, 200);
    assert.equal(m.result.bodyLength, size);
    assertMemory(m, 'chunked 256 MiB down');
  }));
});
