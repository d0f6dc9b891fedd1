// SPDX-License-Identifier: Apache-2.0
// HTTP/1.x details of the client side: pipelining, HTTP/1.0, HEAD, Expect: 100-continue,
// ambiguous framing, and re-framing of close-delimited upstream bodies.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream, startRawUpstream } from '../lib/upstream.mjs';
import { rawRequest, rawStatus } from '../lib/http.mjs';

/* Splits raw bytes into complete responses with Content-Length or chunked bodies. */
function splitResponses(text) {
  const out = [];
  let rest = text;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    let body = '';
    let after = rest.slice(end + 4);
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (cl) {
      body = after.slice(0, Number(cl[1]));
      after = after.slice(Number(cl[1]));
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const nl = after.indexOf('\r\n');
        const size = parseInt(after.slice(0, nl), 16);
        after = after.slice(nl + 2);
        if (size === 0) { after = after.slice(after.indexOf('\r\n') + 2); break; }
        body += after.slice(0, size);
        after = after.slice(size + 2);
      }
    }
    out.push({ status: rawStatus(head), head, body });
    rest = after;
  }
  return out;
}

describe('HTTP/1 client side', () => {
  let gw, up, raw;
  const T = withLogs(() => gw);

  before(async () => {
    up = await startUpstream();
    raw = await startRawUpstream((r) => {
      if (r.startLine.includes('/close-delimited'))
        return 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end';
      return 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok';
    });
    gw = await startGateway({
      apis: [
        keylessApi({ api_id: 'p', listen_path: '/p/', target_url: up.url }),
        keylessApi({ api_id: 'r', listen_path: '/r/', target_url: raw.url }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await raw?.close(); });

  it('pipelined requests (one with a body) are answered in order on one connection', T(async () => {
    const reqs =
      'GET /p/one HTTP/1.1\r\nHost: a\r\n\r\n' +
      'POST /p/two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
      'GET /p/three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
    const r = await rawRequest(gw.port, reqs, { timeoutMs: 5000 });
    const resps = splitResponses(r.text);
    assert.equal(resps.length, 3, r.text.slice(0, 500));
    assert.deepEqual(resps.map((x) => x.status), [200, 200, 200]);
    assert.deepEqual(resps.map((x) => JSON.parse(x.body).url), ['/one', '/two', '/three']);
    assert.equal(JSON.parse(resps[1].body).bodyLength, 5);
    assert.ok(r.closed, 'closed after Connection: close');
  }));

  it('HTTP/1.0 without keep-alive gets its answer and a closed connection', T(async () => {
    const r = await rawRequest(gw.port, 'GET /p/old HTTP/1.0\r\n\r\n', { timeoutMs: 5000 });
    assert.equal(rawStatus(r.text), 200);
    assert.ok(r.closed);
  }));

  it('HTTP/1.0 with Connection: keep-alive keeps the connection', T(async () => {
    const r = await rawRequest(gw.port, 'GET /p/ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
      { timeoutMs: 3000, untilIdleMs: 500 });
    assert.equal(rawStatus(r.text), 200);
    assert.match(r.text, /\r\nConnection: keep-alive\r\n/i);
    assert.ok(!r.closed, 'still open');
  }));

  it('HEAD: headers only, no body bytes', T(async () => {
    const r = await rawRequest(gw.port,
      'HEAD /p/h HTTP/1.1\r\nHost: a\r\n\r\nGET /p/after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      { timeoutMs: 5000 });
    const first = r.text.indexOf('HTTP/1.1', 1);
    assert.ok(first > 0, 'a second response follows directly');
    assert.equal(rawStatus(r.text), 200);
    assert.ok(/\r\n\r\n$/.test(r.text.slice(0, first)), 'the HEAD response ends right after its head');
    assert.equal(rawStatus(r.text.slice(first)), 200);
  }));

  it('Expect: 100-continue gets an interim 100 before the body is sent', T(async () => {
    const r = await rawRequest(gw.port, [
      { data: 'POST /p/e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n' },
      { data: 'data', delayMs: 300 },
    ], { timeoutMs: 5000 });
    assert.match(r.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    assert.match(r.text, /"bodyLength":4/);
  }));

  it('Content-Length together with Transfer-Encoding is refused (no request smuggling)', T(async () => {
    const r = await rawRequest(gw.port,
      'POST /p/s HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /p/smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
      { timeoutMs: 5000 });
    assert.equal(rawStatus(r.text), 400, r.text.slice(0, 200));
    assert.ok(r.closed);
    assert.ok(!up.requests.some((q) => q.url === '/smuggled'), 'nothing reached the upstream');
  }));

  it('a close-delimited upstream body reaches an HTTP/1.1 client chunked, and keep-alive survives', T(async () => {
    const r = await rawRequest(gw.port,
      'GET /r/close-delimited HTTP/1.1\r\nHost: a\r\n\r\nGET /r/next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      { timeoutMs: 5000 });
    const resps = splitResponses(r.text);
    assert.equal(resps.length, 2, r.text);
    assert.match(resps[0].head, /\r\nTransfer-Encoding: chunked/i);
    assert.equal(resps[0].body, 'until the end');
    assert.equal(resps[1].body, 'ok');
  }));
});
