// SPDX-License-Identifier: Apache-2.0
// HTTP/2 towards clients (http_server_options.enable_http2): h2c with prior knowledge on plain
// listeners, ALPN "h2" on TLS ones, HTTP/1.1 still on the same port; the same pipeline (keyless,
// keyed → 401 without a key), many streams on one connection, large bodies both ways (flow
// control), server-sent events unbuffered; bad input (garbage, HPACK bomb, header flood, rapid
// reset) ends that connection with GOAWAY while the gateway keeps serving others.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis } from '../lib/redis.mjs';
import { request } from '../lib/http.mjs';
import { makeCert } from '../lib/certs.mjs';

const BIG = 6 * 1024 * 1024;
const bigBody = crypto.randomBytes(BIG);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

function keyedApi(target) {
  return {
    name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
    auth: { auth_header_name: 'Authorization' },
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: '/keyed/', target_url: target, strip_listen_path: true },
  };
}

/* One request on an http2 session → {status, headers, body}. */
function h2req(session, path, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': path, ...headers });
    const chunks = [];
    let head;
    req.on('response', (h) => { head = h; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve({ status: head?.[':status'], headers: head, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    if (body) req.end(body); else req.end();
  });
}

function connect(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const s = http2.connect(url, opts);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function curl(args) {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', '10', ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

/* ---- raw frames for the bad-input tests ---- */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
function frame(type, flags, stream, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
const SETTINGS = frame(4, 0, 0);
function hpackInt(prefixBits, first, n) {
  const max = (1 << prefixBits) - 1;
  if (n < max) return Buffer.from([first | n]);
  const out = [first | max];
  n -= max;
  while (n >= 128) { out.push((n & 127) | 128); n >>= 7; }
  out.push(n);
  return Buffer.from(out);
}
const hstr = (s) => Buffer.concat([hpackInt(7, 0, Buffer.byteLength(s)), Buffer.from(s)]);
// :method GET, :path /, :scheme http (static table), :authority localhost (literal, indexed name 1)
const BASE_HDRS = Buffer.concat([Buffer.from([0x82, 0x84, 0x86, 0x01]), hstr('localhost')]);
function getHeaders(path) {
  // :path as a literal without indexing (indexed name 4)
  return Buffer.concat([Buffer.from([0x82, 0x86, 0x04]), hstr(path), Buffer.from([0x01]), hstr('localhost')]);
}

/* Writes @data, collects what comes back until the server closes (or @ms). */
function rawExchange(port, data, ms = 5000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks = [];
    let closed = false;
    const done = () => { clearTimeout(t); s.destroy(); resolve({ buf: Buffer.concat(chunks), closed }); };
    const t = setTimeout(done, ms);
    s.on('connect', () => s.write(data, () => {}));
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => { closed = true; done(); });
  });
}

/* The GOAWAY error code in a server's byte stream (after its SETTINGS), or null. */
function goawayCode(buf) {
  let off = 0;
  while (off + 9 <= buf.length) {
    const len = buf.readUIntBE(off, 3);
    const type = buf[off + 3];
    if (type === 7 && off + 9 + 8 <= buf.length) return buf.readUInt32BE(off + 9 + 4);
    off += 9 + len;
  }
  return null;
}

describe('HTTP/2 downstream', () => {
  let up, slowUp, redis, certDir, cert, key;
  const gws = {};
  const T = withLogs(() => gws.plain);

  before(async () => {
    certDir = makeTempDir('turnpike-h2certs-');
    cert = makeCert(certDir, 'listener', 'localhost');
    const handler = (req, res, rec) => {
      if (req.url.startsWith('/big')) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BIG });
        res.end(bigBody);
        return;
      }
      if (req.url.startsWith('/events')) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        let i = 0;
        res.write(`data: ${i++}\n\n`);
        const t = setInterval(() => {
          res.write(`data: ${i++}\n\n`);
          if (i === 4) { clearInterval(t); res.end(); }
        }, 300);
        res.on('close', () => clearInterval(t));
        return;
      }
      const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers,
        bodyLength: rec.bodyLength, bodySha256: rec.bodySha256 });
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Up': 'yes' });
      res.end(out);
    };
    handler.streaming = false;
    up = await startUpstream(handler);
    // reads request bodies slowly: the gateway must hold the client back (flow control), not
    // buffer the body or stall
    slowUp = http.createServer((req, res) => {
      const hash = crypto.createHash('sha256');
      let len = 0;
      req.on('data', (c) => {
        hash.update(c);
        len += c.length;
        req.pause();
        setTimeout(() => req.resume(), 2);
      });
      req.on('end', () => res.end(JSON.stringify({ bodyLength: len, bodySha256: hash.digest('hex') })));
    });
    await new Promise((r) => slowUp.listen(0, '127.0.0.1', r));
    redis = await startRedis();
    const apis = [keylessApi({ api_id: 'open', listen_path: '/open/', target_url: up.url }), keyedApi(up.url),
      keylessApi({ api_id: 'slow', listen_path: '/slow/', target_url: `http://127.0.0.1:${slowUp.address().port}` })];
    const tlsOpts = { use_ssl: true, certificates: [{ domain_name: 'localhost', cert_file: cert.certFile, key_file: cert.keyFile }] };
    [gws.plain, gws.tls, gws.off, gws.offTls] = await Promise.all([
      startGateway({ redis, apis, conf: { http_server_options: { enable_http2: true }, turnpike_max_header_size: 16384 } }),
      startGateway({ redis, apis, conf: { http_server_options: { enable_http2: true, ...tlsOpts } } }),
      startGateway({ redis, apis, conf: { http_server_options: { enable_http2: false } } }),
      startGateway({ redis, apis, conf: { http_server_options: { enable_http2: false, ...tlsOpts } } }),
    ]);
    const r = await gws.plain.admin('POST', '/tyk/keys/create', { org_id: 'default',
      access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } } });
    assert.equal(r.status, 200, r.text);
    key = r.json().key;
  });

  after(async () => {
    for (const g of Object.values(gws)) await g?.stop();
    await up?.close();
    slowUp?.closeAllConnections();
    await new Promise((r) => (slowUp ? slowUp.close(r) : r()));
    await redis?.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('h2c prior knowledge: GET and POST with a body through a keyless API', T(async () => {
    const s = await connect(gws.plain.url);
    try {
      let r = await h2req(s, '/open/hello?x=1');
      assert.equal(r.status, 200, r.body.toString());
      assert.equal(r.headers['x-up'], 'yes');
      const j = JSON.parse(r.body);
      assert.equal(j.url, '/hello?x=1');
      assert.equal(j.headers.host, `127.0.0.1:${up.port}`);
      const body = Buffer.from('{"hello":"h2"}');
      r = await h2req(s, '/open/post', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).bodySha256, sha(body));
      assert.equal(JSON.parse(r.body).method, 'POST');
      // a gateway handler (no proxy) answering a request that fits in one HEADERS frame
      r = await h2req(s, '/hello');
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).description, 'Tyk GW');
    } finally { s.close(); }
  }));

  it('keyed API: 401 without a key, 200 with one', T(async () => {
    const s = await connect(gws.plain.url);
    try {
      let r = await h2req(s, '/keyed/x');
      assert.equal(r.status, 401);
      assert.match(r.body.toString(), /Authorization field missing/);
      r = await h2req(s, '/keyed/x', { headers: { authorization: key } });
      assert.equal(r.status, 200, r.body.toString());
    } finally { s.close(); }
  }));

  it('a gateway error for a gRPC request is a trailers-only grpc-status', T(async () => {
    const s = await connect(gws.plain.url);
    try {
      const r = await h2req(s, '/keyed/pkg.Svc/Call', { method: 'POST', headers: { 'content-type': 'application/grpc' },
        body: Buffer.from([0, 0, 0, 0, 0]) });
      assert.equal(r.status, 200);
      assert.equal(r.headers['grpc-status'], '16');
      assert.match(r.headers['grpc-message'], /Authorization/);
    } finally { s.close(); }
  }));

  it('100 concurrent streams on one connection', T(async () => {
    const s = await connect(gws.plain.url);
    try {
      const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => h2req(s, `/open/n/${i}`)));
      rs.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(JSON.parse(r.body).url, `/n/${i}`);
      });
    } finally { s.close(); }
  }));

  it('large bodies both ways go through flow control intact', T(async () => {
    const s = await connect(gws.plain.url);
    try {
      const [down, upr] = await Promise.all([
        h2req(s, '/open/big'),
        h2req(s, '/open/upload', { method: 'POST', body: bigBody }),
      ]);
      assert.equal(down.status, 200);
      assert.equal(down.body.length, BIG);
      assert.equal(sha(down.body), sha(bigBody));
      assert.equal(upr.status, 200);
      assert.equal(JSON.parse(upr.body).bodyLength, BIG);
      assert.equal(JSON.parse(upr.body).bodySha256, sha(bigBody));
      // a slow upstream: the upload still arrives whole (window updates follow the upstream)
      const slow = await h2req(s, '/slow/upload', { method: 'POST', body: bigBody.subarray(0, 3 << 20) });
      assert.equal(slow.status, 200, slow.body.toString());
      assert.equal(JSON.parse(slow.body).bodySha256, sha(bigBody.subarray(0, 3 << 20)));
    } finally { s.close(); }
  }));

  it('curl --http2-prior-knowledge, and HTTP/1.1 still on the same port', T(async () => {
    const c = await curl(['--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${gws.plain.url}/open/c`]);
    assert.equal(c.stdout, '2 200', c.stderr);
    const r = await request(`${gws.plain.url}/open/h1`);
    assert.equal(r.status, 200);
    assert.equal(r.json().url, '/h1');
  }));

  it('TLS: ALPN h2 (node and curl --http2), HTTP/1.1 clients still served', T(async () => {
    const s = await connect(gws.tls.url, { ca: cert.cert, servername: 'localhost' });
    try {
      assert.equal(s.alpnProtocol, 'h2');
      const r = await h2req(s, '/open/tls');
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).url, '/tls');
    } finally { s.close(); }
    const c = await curl(['--http2', '--cacert', cert.certFile, '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
      `https://localhost:${gws.tls.port}/open/c`]);
    assert.equal(c.stdout, '2 200', c.stderr);
    const h1 = await request(`${gws.tls.url}/open/h1`, { servername: 'localhost' });
    assert.equal(h1.status, 200);
  }));

  it('enable_http2 off: no ALPN h2, and the h2c preface is not spoken', T(async () => {
    const sock = tls.connect({ port: gws.offTls.port, host: '127.0.0.1', servername: 'localhost',
      ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false });
    await new Promise((r, j) => { sock.once('secureConnect', r); sock.once('error', j); });
    assert.notEqual(sock.alpnProtocol, 'h2');
    sock.destroy();
    const r = await rawExchange(gws.off.port, Buffer.concat([PREFACE, SETTINGS]), 3000);
    assert.equal(goawayCode(r.buf), null);
    assert.match(r.buf.toString('latin1'), /^HTTP\/1\.1 (400|505)/);
    const c = await curl(['--http2-prior-knowledge', `${gws.off.url}/open/c`]);
    assert.notEqual(c.code, 0);
  }));

  it('server-sent events stream over h2 event by event', T(async () => {
    const s = await connect(gws.plain.url);
    try {
      const req = s.request({ ':path': '/open/events', accept: 'text/event-stream' });
      req.end();
      const arrivals = [];
      const t0 = Date.now();
      req.setEncoding('utf8');
      let buf = '';
      req.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) { arrivals.push(Date.now() - t0); buf = buf.slice(i + 2); }
      });
      await new Promise((r, j) => { req.on('end', r); req.on('error', j); });
      assert.equal(arrivals.length, 4);
      // the first event came long before the upstream finished (~900 ms)
      assert.ok(arrivals[3] - arrivals[0] >= 600, `arrivals ${arrivals}`);
    } finally { s.close(); }
  }));

  it('oversized header list → 431 on that stream, the connection lives on', T(async () => {
    const s = await connect(gws.plain.url, { maxSendHeaderBlockLength: 1 << 20 });
    try {
      const r = await h2req(s, '/open/x', { headers: { 'x-big': 'a'.repeat(20000) } });
      assert.equal(r.status, 431);
      const ok = await h2req(s, '/open/after');
      assert.equal(ok.status, 200);
    } finally { s.close(); }
  }));

  it('bad input ends the connection with GOAWAY and others are still served', T(async () => {
    const port = gws.plain.port;
    // garbage after the preface: a frame the connection cannot have
    let r = await rawExchange(port, Buffer.concat([PREFACE, SETTINGS, Buffer.from('\xff\xff\xff\xff garbage garbage', 'latin1')]));
    assert.ok(r.closed);
    assert.notEqual(goawayCode(r.buf), null, 'GOAWAY after garbage');
    // DATA on stream 0 is a PROTOCOL_ERROR (RFC 9113 §6.1)
    r = await rawExchange(port, Buffer.concat([PREFACE, SETTINGS, frame(0, 0, 0, Buffer.from('x'))]));
    assert.equal(goawayCode(r.buf), 1);
    // a frame larger than SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR
    r = await rawExchange(port, Buffer.concat([PREFACE, SETTINGS, frame(0, 0, 1, Buffer.alloc(20000))]));
    assert.equal(goawayCode(r.buf), 6);
    // HPACK bomb: one 4000-byte entry in the dynamic table, referenced 12000 times
    const bomb = Buffer.concat([BASE_HDRS, Buffer.from([0x40]), hstr('x-bomb'), hstr('b'.repeat(4000)), Buffer.alloc(12000, 0xbe)]);
    r = await rawExchange(port, Buffer.concat([PREFACE, SETTINGS, frame(1, 0x5, 1, bomb)]));
    assert.ok(r.closed);
    assert.equal(goawayCode(r.buf), 0xb, 'ENHANCE_YOUR_CALM for the HPACK bomb');
    // rapid reset: streams opened and cancelled at once, over and over
    const frames = [PREFACE, SETTINGS];
    for (let i = 0; i < 1000; i++) {
      const id = 2 * i + 1;
      frames.push(frame(1, 0x5, id, getHeaders('/open/rr')), frame(3, 0, id, Buffer.from([0, 0, 0, 8])));
    }
    r = await rawExchange(port, Buffer.concat(frames), 8000);
    assert.equal(goawayCode(r.buf), 0xb, 'ENHANCE_YOUR_CALM for rapid reset');
    // half-closed: the preface, then the client stops writing
    await new Promise((resolve) => {
      const sk = net.connect(port, '127.0.0.1', () => { sk.end(PREFACE); });
      sk.on('error', () => {});
      sk.on('close', resolve);
      sk.resume();
    });
    // still serving
    const s = await connect(gws.plain.url);
    try {
      const ok = await h2req(s, '/open/alive');
      assert.equal(ok.status, 200);
    } finally { s.close(); }
    assert.equal((await request(`${gws.plain.url}/open/alive1`)).status, 200);
  }));
});
