// SPDX-License-Identifier: Apache-2.0
// Fake upstreams: an HTTP server that records requests, and a raw TCP server
// that records the exact bytes the gateway sends.
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/* startUpstream(handler?, {tls: {key, cert}})
 * Records {method, url, headers, rawHeaders, bodyLength, bodySha256, httpVersion}
 * for every request in .requests. Default handler echoes a JSON summary.
 * handler(req, res, rec) gets called after the body was read, unless
 * handler.streaming is true (then it is called immediately, rec.body absent). */
export async function startUpstream(handler, { tls: tlsOpts, name = 'upstream' } = {}) {
  const requests = [];
  const sockets = new Set();
  const onRequest = (req, res) => {
    const rec = {
      method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders,
      httpVersion: req.httpVersion, remotePort: req.socket.remotePort, upstream: name,
    };
    requests.push(rec);
    if (handler && handler.streaming) { handler(req, res, rec); return; }
    const hash = crypto.createHash('sha256');
    let len = 0;
    const keep = [];
    req.on('data', (c) => { hash.update(c); len += c.length; if (len <= 1 << 20) keep.push(c); });
    req.on('end', () => {
      rec.bodyLength = len;
      rec.bodySha256 = hash.digest('hex');
      rec.body = len <= 1 << 20 ? Buffer.concat(keep) : null;
      if (handler) { handler(req, res, rec); return; }
      const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: len, upstream: name });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
      res.end(out);
    });
  };
  // node's default 16 KiB header limit is below the gateway's; lift it so the
  // upstream never answers 431 itself.
  const server = tlsOpts ? https.createServer({ ...tlsOpts, maxHeaderSize: 128 * 1024 }, onRequest)
    : http.createServer({ maxHeaderSize: 128 * 1024 }, onRequest);
  server.keepAliveTimeout = 5000;
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    url: `${tlsOpts ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    server,
    reset() { requests.length = 0; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/* Parse requests from a byte stream. Returns {consumed, request} or null. */
function parseOne(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end + 4).toString('latin1');
  const lines = head.split('\r\n');
  let cl = 0, chunked = false;
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    if (k === 'content-length') cl = Number(v);
    if (k === 'transfer-encoding' && /chunked/i.test(v)) chunked = true;
  }
  let off = end + 4;
  if (chunked) {
    const body = [];
    for (;;) {
      const le = buf.indexOf('\r\n', off);
      if (le < 0) return null;
      const size = parseInt(buf.subarray(off, le).toString('latin1').split(';')[0], 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) {
        // trailers until empty line
        let p = le + 2;
        for (;;) {
          const te = buf.indexOf('\r\n', p);
          if (te < 0) return null;
          if (te === p) { off = te + 2; break; }
          p = te + 2;
        }
        return { consumed: off, request: { head, body: Buffer.concat(body), raw: Buffer.from(buf.subarray(0, off)), chunked: true } };
      }
      if (buf.length < le + 2 + size + 2) return null;
      body.push(buf.subarray(le + 2, le + 2 + size));
      off = le + 2 + size + 2;
    }
  }
  if (buf.length < off + cl) return null;
  return { consumed: off + cl, request: { head, body: Buffer.from(buf.subarray(off, off + cl)), raw: Buffer.from(buf.subarray(0, off + cl)), chunked: false } };
}

/* startRawUpstream(responder?) — TCP server that captures each request's raw
 * head (string) and body. responder(request) returns the raw response
 * (string/Buffer); default a 200 with body "ok" and keep-alive. */
export async function startRawUpstream(responder) {
  const requests = [];
  const sockets = new Set();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        let r;
        try { r = parseOne(buf); } catch { sock.destroy(); return; }
        if (!r) break;
        buf = buf.subarray(r.consumed);
        const { startLine, headers } = splitHead(r.request.head);
        const rec = { ...r.request, startLine, headers };
        requests.push(rec);
        const resp = responder ? responder(rec) : 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok';
        sock.write(resp);
        // A response that announces Connection: close ends the connection (close-delimited bodies).
        if (/\r\nconnection: *close\r\n/i.test(String(resp).split('\r\n\r\n')[0] + '\r\n')) {
          sock.end();
          return;
        }
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    reset() { requests.length = 0; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

function splitHead(head) {
  const lines = head.split('\r\n').filter(Boolean);
  const startLine = lines.shift();
  const headers = lines.map((l) => { const i = l.indexOf(':'); return [l.slice(0, i), l.slice(i + 1).trim()]; });
  return { startLine, headers };
}
