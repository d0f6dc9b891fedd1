// SPDX-License-Identifier: Apache-2.0
// HTTP/2 to upstreams: h2c:// targets (cleartext, prior knowledge) and https:// targets with ALPN
// "h2" when proxy_enable_http2 is on. HTTP/1.1 clients go through the gateway to node's http2
// servers: many requests share one upstream connection, large bodies stream both ways, trailers
// reach chunked clients, and a misbehaving upstream (reset streams, GOAWAY, garbage frames,
// oversized header lists, an RST flood) fails the request cleanly without hurting the gateway.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { request } from '../lib/http.mjs';
import { freePort } from '../lib/ports.mjs';
import { makeCert } from '../lib/certs.mjs';
import { waitFor } from '../lib/procs.mjs';

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

/* An HTTP/2 echo upstream (h2c, or TLS with ALPN h2 + http/1.1). Counts TCP connections and the
 * most streams open at once. Special paths misbehave on purpose. */
async function startH2Upstream({ tls } = {}) {
  const stats = { connections: 0, maxActive: 0, active: 0, versions: [], requests: 0, open: new Set() };
  const onStream = (req, res) => {
    stats.requests++;
    stats.versions.push(req.httpVersion);
    stats.active++;
    stats.maxActive = Math.max(stats.maxActive, stats.active);
    let done = false;
    const tag = `${stats.requests} ${req.method} ${req.url}`;
    stats.open.add(tag);
    const end = () => { if (!done) { done = true; stats.active--; stats.open.delete(tag); } };
    res.on('close', end);
    const url = new URL(req.url, 'http://x');
    const hash = crypto.createHash('sha256');
    let len = 0;
    if (url.pathname.endsWith('/reset-early')) {
      req.stream?.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    if (url.pathname.endsWith('/goaway')) {
      req.stream?.session.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
      setTimeout(() => req.stream?.session.destroy(), 20);
      return;
    }
    req.on('data', (c) => { hash.update(c); len += c.length; });
    req.on('end', () => {
      if (url.pathname.endsWith('/download')) {
        const n = Number(url.searchParams.get('n'));
        const chunk = Buffer.alloc(64 * 1024, 'z');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
        if (req.method === 'HEAD') { res.end(); return; }
        let sent = 0;
        const pump = () => {
          while (sent < n) {
            const c = chunk.subarray(0, Math.min(chunk.length, n - sent));
            sent += c.length;
            stats.downloadSent = sent;
            if (!res.write(c)) { res.once('drain', pump); return; }
          }
          res.end();
        };
        pump();
        return;
      }
      if (url.pathname.endsWith('/reset-mid')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial-data');
        setTimeout(() => req.stream?.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 50);
        return;
      }
      if (url.pathname.endsWith('/trailers')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.addTrailers?.({ 'x-checksum': 'abc123' });
        res.end('with trailers');
        return;
      }
      const delay = Number(url.searchParams.get('delay') || 0);
      setTimeout(() => {
        const out = JSON.stringify({ method: req.method, path: req.url, headers: req.headers,
          bodyLength: len, bodySha256: hash.digest('hex'), httpVersion: req.httpVersion });
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'h2' });
        res.end(out);
      }, delay);
    });
  };
  const server = tls
    ? http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true }, onStream)
    : http2.createServer({}, onStream);
  const sockets = new Set();
  server.on('connection', (s) => { stats.connections++; sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('secureConnection', () => {});
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port, stats, server,
    close() { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(() => r())); },
  };
}

/* ---- a raw HTTP/2 peer for bad input ---- */
function frame(type, flags, id, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type; h[4] = flags; h.writeUInt32BE(id & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}
function hpackInt(v, prefixBits, first = 0) {
  const max = (1 << prefixBits) - 1;
  if (v < max) return Buffer.from([first | v]);
  const out = [first | max];
  v -= max;
  while (v >= 128) { out.push((v % 128) + 128); v = Math.floor(v / 128); }
  out.push(v);
  return Buffer.from(out);
}
function literal(name, value) {
  return Buffer.concat([Buffer.from([0]), hpackInt(name.length, 7), Buffer.from(name),
    hpackInt(value.length, 7), Buffer.from(value)]);
}
const PREFACE_LEN = 24;
/* onHeaders(sock, streamId) is called for every HEADERS frame the gateway sends. */
async function startRawH2(onHeaders) {
  const socks = new Set();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let gotPreface = false;
    sock.write(frame(4, 0, 0)); // empty SETTINGS
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!gotPreface) {
        if (buf.length < PREFACE_LEN) return;
        buf = buf.subarray(PREFACE_LEN);
        gotPreface = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3], flags = buf[4], id = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === 4 && !(flags & 1)) sock.write(frame(4, 1, 0)); // SETTINGS ack
        if (type === 1 && !sock.destroyed) onHeaders(sock, id);
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    close() { for (const s of socks) s.destroy(); return new Promise((r) => server.close(() => r())); },
  };
}

/* GET through an HTTP/1.1 keep-alive agent. */
function get(agent, url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers, complete: res.complete }));
      res.on('error', reject);
      res.on('aborted', () => resolve({ status: res.statusCode, aborted: true, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.setTimeout(20000, () => req.destroy(new Error('timeout')));
  });
}

describe('HTTP/2 upstreams', () => {
  let gw, up, raw, tlsUp, tlsH1, certs;
  const T = withLogs(() => gw);

  before(async () => {
    certs = makeCert(makeTempDir('turnpike-h2up-'), 'up');
    up = await startH2Upstream();
    tlsUp = await startH2Upstream({ tls: certs });
    tlsH1 = https.createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
      let len = 0;
      req.on('data', (c) => { len += c.length; });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ httpVersion: req.httpVersion, path: req.url, bodyLength: len }));
      });
    });
    await new Promise((r) => tlsH1.listen(0, '127.0.0.1', r));
    raw = {};
    raw.garbage = await startRawH2((sock) => sock.write(Buffer.from('this is not an HTTP/2 frame at all, sorry!')));
    raw.hugeHeaders = await startRawH2((sock, id) => {
      const block = Buffer.concat([Buffer.from([0x88]), ...Array.from({ length: 40 }, (_, i) => literal(`x-big-${i}`, 'v'.repeat(4000)))]);
      // HEADERS without END_HEADERS, the rest in CONTINUATION frames of 16 KiB
      const parts = [];
      for (let o = 0; o < block.length; o += 16384) parts.push(block.subarray(o, o + 16384));
      parts.forEach((p, i) => {
        const last = i === parts.length - 1;
        sock.write(frame(i === 0 ? 1 : 9, last ? 4 | 1 : 0, id, p));
      });
    });
    raw.rstFlood = await startRawH2((sock, id) => {
      const frames = [];
      for (let i = 0; i < 2000; i++) frames.push(frame(3, 0, id, Buffer.from([0, 0, 0, 8])));
      sock.write(Buffer.concat(frames));
    });
    const down = await freePort();
    gw = await startGateway({
      conf: { turnpike_workers: 1, proxy_enable_http2: true, proxy_ssl_insecure_skip_verify: true },
      apis: [
        keylessApi({ api_id: 'h2c', listen_path: '/h2c/', target_url: `h2c://127.0.0.1:${up.port}/base` }),
        keylessApi({ api_id: 'h2dns', listen_path: '/h2dns/', target_url: `h2c://localhost:${up.port}` }),
        keylessApi({ api_id: 'h2tls', listen_path: '/h2tls/', target_url: `https://127.0.0.1:${tlsUp.port}` }),
        keylessApi({ api_id: 'h1tls', listen_path: '/h1tls/', target_url: `https://127.0.0.1:${tlsH1.address().port}` }),
        keylessApi({ api_id: 'down', listen_path: '/down/', target_url: `h2c://127.0.0.1:${down}` }),
        keylessApi({ api_id: 'garbage', listen_path: '/garbage/', target_url: `h2c://127.0.0.1:${raw.garbage.port}` }),
        keylessApi({ api_id: 'huge', listen_path: '/huge/', target_url: `h2c://127.0.0.1:${raw.hugeHeaders.port}` }),
        keylessApi({ api_id: 'rst', listen_path: '/rst/', target_url: `h2c://127.0.0.1:${raw.rstFlood.port}` }),
      ],
    });
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
    await tlsUp?.close();
    await new Promise((r) => (tlsH1 ? tlsH1.close(() => r()) : r()));
    for (const r of Object.values(raw || {})) await r.close();
  });

  it('proxies an HTTP/1.1 request to an h2c target, path joined and headers passed', T(async () => {
    const r = await request(`${gw.url}/h2c/echo?q=1`, { headers: { 'X-Custom': 'yes', Connection: 'keep-alive' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-upstream'], 'h2');
    const j = r.json();
    assert.equal(j.httpVersion, '2.0');
    assert.equal(j.path, '/base/echo?q=1');
    assert.equal(j.headers['x-custom'], 'yes');
    assert.equal(j.headers[':authority'], `127.0.0.1:${up.port}`);
    assert.equal(j.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(j.headers.connection, undefined);
  }));

  it('the first request on a new session may carry a body (host name resolved, body read once connected)', T(async () => {
    const body = crypto.randomBytes(300 * 1024);
    const rs = await Promise.all([1, 2, 3].map(() => request(`${gw.url}/h2dns/post`, { method: 'POST', body })));
    for (const r of rs) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().bodySha256, sha(body));
      assert.equal(r.json().headers[':authority'], `localhost:${up.port}`);
    }
    const head = await request(`${gw.url}/h2dns/download?n=1234`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '1234');
    assert.equal(head.body.length, 0);
  }));

  it('multiplexes many concurrent requests over one upstream connection', T(async () => {
    const before = up.stats.connections;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 40 });
    const rs = await Promise.all(Array.from({ length: 120 }, (_, i) => get(agent, `${gw.url}/h2c/m/${i}?delay=100`)));
    agent.destroy();
    for (const [i, r] of rs.entries()) {
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).path, `/base/m/${i}?delay=100`);
    }
    assert.ok(up.stats.connections - before <= 1, `new upstream connections: ${up.stats.connections - before}`);
    assert.ok(up.stats.maxActive > 10, `streams at once: ${up.stats.maxActive}`);
  }));

  it('streams large request and response bodies', T(async () => {
    const body = crypto.randomBytes(6 * 1024 * 1024);
    const r = await request(`${gw.url}/h2c/upload`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' }, timeoutMs: 30000 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().bodyLength, body.length);
    assert.equal(r.json().bodySha256, sha(body));
    // chunked upload (no length known up front)
    const c = await request(`${gw.url}/h2c/upload`, { method: 'POST', body, chunked: true, headers: { 'Transfer-Encoding': 'chunked' }, timeoutMs: 30000 });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json().bodySha256, sha(body));
    const n = 12 * 1024 * 1024;
    const d = await request(`${gw.url}/h2c/download?n=${n}`, { timeoutMs: 30000 });
    assert.equal(d.status, 200);
    assert.equal(d.body.length, n);
    assert.equal(sha(d.body), sha(Buffer.alloc(n, 'z')));
  }));

  it('reads the upstream only as fast as a slow client takes the response', T(async () => {
    const n = 64 * 1024 * 1024;
    up.stats.downloadSent = 0;
    let got = 0;
    const res = await new Promise((resolve, reject) => {
      http.get(`${gw.url}/h2c/download?n=${n}`, { agent: false }, resolve).on('error', reject);
    });
    res.pause(); // the client stops reading: HTTP/2 flow control must stop the upstream
    await new Promise((r) => setTimeout(r, 1500));
    const sentWhilePaused = up.stats.downloadSent;
    assert.ok(sentWhilePaused < 16 * 1024 * 1024, `upstream sent ${sentWhilePaused} bytes to a paused client`);
    await new Promise((resolve, reject) => {
      res.on('data', (c) => { got += c.length; });
      res.on('end', resolve);
      res.on('error', reject);
      res.resume();
    });
    assert.equal(got, n);
  }));

  it('a client that leaves mid-response resets the upstream stream', T(async () => {
    await waitFor(() => up.stats.active === 0, { timeoutMs: 5000, what: 'upstream idle' })
      .catch((e) => { throw new Error(`${e.message}: open ${[...up.stats.open].join(', ')}`); });
    const req = http.get(`${gw.url}/h2c/download?n=${64 * 1024 * 1024}`, { agent: false });
    await new Promise((resolve, reject) => {
      req.on('response', (res) => res.once('data', () => { req.destroy(); resolve(); }));
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no response')), 10000);
    });
    await waitFor(() => up.stats.active === 0, { timeoutMs: 5000, what: 'upstream stream closed' });
    assert.equal((await request(`${gw.url}/h2c/after-leave`)).status, 200);
  }));

  it('passes response trailers to a chunked HTTP/1.1 client', T(async () => {
    const agent = new http.Agent({ keepAlive: false });
    const r = await get(agent, `${gw.url}/h2c/trailers`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'with trailers');
    assert.equal(r.trailers['x-checksum'], 'abc123');
  }));

  it('a stream reset before the response head is a 500; mid-body the client sees a cut response', T(async () => {
    const early = await request(`${gw.url}/h2c/reset-early`);
    assert.equal(early.status, 500);
    assert.match(early.text, /There was a problem proxying the request/);
    const agent = new http.Agent({ keepAlive: false });
    const mid = await get(agent, `${gw.url}/h2c/reset-mid`).catch((e) => ({ error: e }));
    assert.ok(mid.error || mid.aborted || mid.complete === false, `expected a cut response, got ${JSON.stringify(mid)}`);
    const again = await request(`${gw.url}/h2c/after-reset`);
    assert.equal(again.status, 200);
  }));

  it('an upstream GOAWAY fails only that request; the next one opens a new connection', T(async () => {
    const r = await request(`${gw.url}/h2c/goaway`);
    assert.equal(r.status, 500);
    await waitFor(async () => (await request(`${gw.url}/h2c/after-goaway`)).status === 200, { timeoutMs: 5000 });
  }));

  it('an upstream that is down gets Tyk\'s 500', T(async () => {
    const r = await request(`${gw.url}/down/x`);
    assert.equal(r.status, 500);
    assert.match(r.text, /There was a problem proxying the request/);
  }));

  it('https upstreams negotiate h2 by ALPN when proxy_enable_http2 is on, else HTTP/1.1', T(async () => {
    const before = tlsUp.stats.connections;
    const rs = await Promise.all(Array.from({ length: 20 }, () => request(`${gw.url}/h2tls/x`)));
    for (const r of rs) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().httpVersion, '2.0');
    }
    assert.ok(tlsUp.stats.connections - before <= 1);
    // an HTTPS upstream that only speaks HTTP/1.1 keeps working (ALPN falls back), bodies too
    for (let i = 0; i < 3; i++) {
      const h1 = await request(`${gw.url}/h1tls/y`, { method: 'POST', body: 'x'.repeat(1000 + i) });
      assert.equal(h1.status, 200, h1.text);
      assert.equal(h1.json().httpVersion, '1.1');
      assert.equal(h1.json().bodyLength, 1000 + i);
    }
  }));

  it('bad upstream input (garbage frames, oversized header lists, an RST flood) fails cleanly', T(async () => {
    for (const p of ['garbage', 'huge', 'rst']) {
      const rs = await Promise.all(Array.from({ length: 5 }, () => request(`${gw.url}/${p}/x`, { timeoutMs: 15000 })));
      for (const r of rs) assert.equal(r.status, 500, `${p}: ${r.status} ${r.text}`);
    }
    const ok = await request(`${gw.url}/h2c/still-alive`);
    assert.equal(ok.status, 200);
    assert.ok(!gw.exited());
  }));
});

describe('HTTP/2 upstreams without proxy_enable_http2', () => {
  let gw, tlsUp;
  const T = withLogs(() => gw);
  before(async () => {
    const certs = makeCert(makeTempDir('turnpike-h2up-'), 'up');
    tlsUp = await startH2Upstream({ tls: certs });
    gw = await startGateway({
      conf: { turnpike_workers: 1, proxy_ssl_insecure_skip_verify: true },
      apis: [keylessApi({ api_id: 'tls', listen_path: '/tls/', target_url: `https://127.0.0.1:${tlsUp.port}` })],
    });
  });
  after(async () => { await gw?.stop(); await tlsUp?.close(); });

  it('speaks HTTP/1.1 to https upstreams', T(async () => {
    const r = await request(`${gw.url}/tls/x`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().httpVersion, '1.1');
  }));
});
