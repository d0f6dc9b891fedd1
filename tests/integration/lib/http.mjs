// SPDX-License-Identifier: Apache-2.0
// HTTP client helpers with hard timeouts, and a raw-socket helper.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

/* request(url, {method, headers, body, timeoutMs, agent, ca, rejectUnauthorized,
 *               servername, minVersion, maxVersion, bodyStream})
 * → {status, headers, rawHeaders, body: Buffer, text, json()}.
 * Never hangs: rejects after timeoutMs (default 10 s). */
export function request(url, opts = {}) {
  const u = new URL(url);
  const isTls = u.protocol === 'https:';
  const mod = isTls ? https : http;
  const timeoutMs = opts.timeoutMs ?? 10000;
  const headers = { ...(opts.headers || {}) };
  let body = opts.body;
  if (body !== undefined && body !== null && typeof body === 'object' && !Buffer.isBuffer(body) && !opts.bodyStream) {
    body = JSON.stringify(body);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
  }
  if ((typeof body === 'string' || Buffer.isBuffer(body)) && !opts.chunked &&
      !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) {
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  const reqOpts = {
    method: opts.method || 'GET',
    hostname: u.hostname,
    port: u.port,
    path: u.pathname + u.search,
    headers,
    agent: opts.agent ?? false,
    setHost: opts.setHost ?? true,
  };
  if (isTls) {
    reqOpts.rejectUnauthorized = opts.rejectUnauthorized ?? false;
    if (opts.ca) reqOpts.ca = opts.ca;
    if (opts.servername) reqOpts.servername = opts.servername;
    if (opts.minVersion) reqOpts.minVersion = opts.minVersion;
    if (opts.maxVersion) reqOpts.maxVersion = opts.maxVersion;
  }
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, val) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err); else resolve(val);
    };
    const req = mod.request(reqOpts, (res) => {
      const chunks = [];
      let length = 0;
      res.on('data', (c) => { if (opts.discardBody) length += c.length; else chunks.push(c); });
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        finish(null, {
          status: res.statusCode,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          trailers: res.trailers,
          body: b,
          bodyLength: opts.discardBody ? length : b.length,
          text: b.toString('utf8'),
          json() { return JSON.parse(b.toString('utf8')); },
        });
      });
      res.on('error', (e) => finish(e));
      res.on('aborted', () => finish(new Error('response aborted')));
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`request ${reqOpts.method} ${url} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => finish(e));
    if (opts.bodyStream) {
      opts.bodyStream.on('error', (e) => req.destroy(e));
      opts.bodyStream.pipe(req);
    } else {
      if (body !== undefined && body !== null) req.write(body);
      req.end();
    }
  });
}

/* Send raw bytes (string or Buffer, or an array of {data, delayMs} pieces),
 * collect everything the server sends until it closes the connection or
 * timeoutMs passes. → {data: Buffer, text, closed, error, elapsedMs}. */
export function rawRequest(port, data, { timeoutMs = 5000, host = '127.0.0.1', tls: useTls = false,
  endAfterWrite = false, untilIdleMs = 0 } = {}) {
  return new Promise((resolve) => {
    const start = Date.now();
    const chunks = [];
    let closed = false;
    let error = null;
    let settled = false;
    let idleTimer = null;
    const sock = useTls
      ? tls.connect({ host, port, rejectUnauthorized: false })
      : net.connect({ host, port });
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(idleTimer);
      sock.destroy();
      const b = Buffer.concat(chunks);
      resolve({ data: b, text: b.toString('latin1'), closed, error, elapsedMs: Date.now() - start });
    };
    const timer = setTimeout(settle, timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      if (untilIdleMs) { clearTimeout(idleTimer); idleTimer = setTimeout(settle, untilIdleMs); }
    });
    sock.on('end', () => { closed = true; settle(); });
    sock.on('close', () => { closed = true; settle(); });
    sock.on('error', (e) => { error = e; closed = true; settle(); });
    sock.on(useTls ? 'secureConnect' : 'connect', async () => {
      const pieces = Array.isArray(data) ? data : [{ data }];
      for (const p of pieces) {
        if (settled) return;
        if (p.delayMs) await new Promise((r) => setTimeout(r, p.delayMs));
        if (settled || sock.destroyed) return;
        try { sock.write(p.data); } catch (e) { error = e; }
      }
      if (endAfterWrite) sock.end();
    });
  });
}

/* Status code of the first response in raw bytes, or 0. */
export function rawStatus(text) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}

/* Split a raw HTTP message into {startLine, headers: [[name, value]...], body}. */
export function parseRawHead(buf) {
  const s = Buffer.isBuffer(buf) ? buf.toString('latin1') : buf;
  const end = s.indexOf('\r\n\r\n');
  const head = end >= 0 ? s.slice(0, end) : s;
  const lines = head.split('\r\n');
  const startLine = lines.shift();
  const headers = lines.filter(Boolean).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
  return { startLine, headers, body: end >= 0 ? s.slice(end + 4) : '' };
}

/* Case-insensitive lookup of all values of a header in [[name, value]] pairs. */
export function headerValues(pairs, name) {
  const n = name.toLowerCase();
  return pairs.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}
