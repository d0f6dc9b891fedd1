// SPDX-License-Identifier: Apache-2.0
// Header forwarding, checked on the bytes the upstream receives
// (spec/gateway.md §9.4; Tyk's reverse proxy = Go httputil semantics).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startRawUpstream } from '../lib/upstream.mjs';
import { rawRequest, rawStatus, parseRawHead, headerValues } from '../lib/http.mjs';

// Headers the gateway may legitimately add on its own (Go's transport/ReverseProxy do).
const MAY_ADD = new Set(['user-agent', 'accept-encoding', 'x-forwarded-for', 'x-forwarded-host',
  'x-forwarded-proto', 'x-forwarded-port', 'content-length', 'host']);
const HOP = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'x-conn-listed', 'x-conn-listed-2'];

describe('header forwarding', () => {
  let gw, up;
  const T = withLogs(() => gw);

  before(async () => {
    up = await startRawUpstream((rec) => {
      const body = 'hello';
      if (rec.startLine.includes('/resp-headers')) {
        return 'HTTP/1.1 201 Created\r\n' +
          'Content-Type: text/plain\r\n' +
          'X-Resp: first\r\n' +
          'Set-Cookie: a=1; Path=/\r\n' +
          'X-Resp: second\r\n' +
          'Set-Cookie: b=2; Path=/\r\n' +
          'Connection: keep-alive, X-Hop-Resp\r\n' +
          'X-Hop-Resp: must-not-pass\r\n' +
          'Keep-Alive: timeout=5\r\n' +
          'X-Upstream-Only: yes\r\n' +
          `Content-Length: ${body.length}\r\n\r\n${body}`;
      }
      return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    });
    gw = await startGateway({
      apis: [
        keylessApi({ api_id: 'hdr', listen_path: '/h/', target_url: up.url }),
        keylessApi({ api_id: 'keephost', listen_path: '/ph/', target_url: up.url, proxy: { preserve_host_header: true } }),
      ],
    });
  });

  after(async () => { await gw?.stop(); await up?.close(); });

  async function send(raw) {
    up.reset();
    const res = await rawRequest(gw.port, raw, { timeoutMs: 5000, untilIdleMs: 300 });
    return { res, rec: up.requests[0] };
  }

  it('end-to-end headers pass through (duplicates in order), hop-by-hop headers are removed', T(async () => {
    const { res, rec } = await send(
      'GET /h/path?x=1&y=%2F HTTP/1.1\r\n' +
      'Host: client.example\r\n' +
      'X-Custom: one\r\n' +
      'X-Dup: 1\r\n' +
      'Accept: text/plain\r\n' +
      'X-Dup: 2\r\n' +
      'X-Dup: 3\r\n' +
      'Connection: keep-alive, X-Conn-Listed\r\n' +
      'Connection: X-Conn-Listed-2\r\n' +
      'X-Conn-Listed: secret\r\n' +
      'X-Conn-Listed-2: secret2\r\n' +
      'Keep-Alive: timeout=5\r\n' +
      'Proxy-Connection: keep-alive\r\n' +
      'Te: gzip\r\n' +
      'Trailer: X-Trail\r\n' +
      'Upgrade: foo/1\r\n' +
      'Cookie: c1=v1\r\n' +
      '\r\n');
    assert.equal(rawStatus(res.text), 200, res.text);
    assert.ok(rec, 'upstream received the request');
    assert.equal(rec.startLine, 'GET /path?x=1&y=%2F HTTP/1.1');
    const sent = rec.headers;
    // The gateway may say how it wants its own upstream connection handled,
    // but none of the client's Connection tokens may leak through.
    for (const v of headerValues(sent, 'Connection')) {
      for (const tok of v.split(',').map((x) => x.trim().toLowerCase())) {
        assert.ok(tok === 'keep-alive' || tok === 'close', `client Connection token forwarded: ${v}\n${rec.head}`);
      }
    }
    for (const h of HOP) assert.deepEqual(headerValues(sent, h), [], `${h} must not be forwarded:\n${rec.head}`);
    assert.deepEqual(headerValues(sent, 'X-Dup'), ['1', '2', '3']);
    const endToEnd = sent.filter(([k]) => !MAY_ADD.has(k.toLowerCase()) && k.toLowerCase() !== 'connection')
      .map(([k, v]) => `${k.toLowerCase()}: ${v}`).sort();
    assert.deepEqual(endToEnd, ['accept: text/plain', 'cookie: c1=v1', 'x-custom: one',
      'x-dup: 1', 'x-dup: 2', 'x-dup: 3'].sort(), rec.head);
  }));

  it('X-Forwarded-For carries the client address', T(async () => {
    const { rec } = await send('GET /h/a HTTP/1.1\r\nHost: client.example\r\n\r\n');
    assert.deepEqual(headerValues(rec.headers, 'X-Forwarded-For'), ['127.0.0.1'], rec.head);
  }));

  it('X-Forwarded-For: the client address is appended to prior values', T(async () => {
    const { rec } = await send('GET /h/a HTTP/1.1\r\nHost: client.example\r\n' +
      'X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n\r\n');
    assert.deepEqual(headerValues(rec.headers, 'X-Forwarded-For'), ['10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1'], rec.head);
  }));

  it('Host is rewritten to the target host', T(async () => {
    const { rec } = await send('GET /h/a HTTP/1.1\r\nHost: client.example\r\n\r\n');
    assert.deepEqual(headerValues(rec.headers, 'Host'), [`127.0.0.1:${up.port}`], rec.head);
  }));

  it('preserve_host_header keeps the client Host', T(async () => {
    const { rec } = await send('GET /ph/a HTTP/1.1\r\nHost: client.example:8443\r\n\r\n');
    assert.deepEqual(headerValues(rec.headers, 'Host'), ['client.example:8443'], rec.head);
  }));

  it('chunked request: Transfer-Encoding is re-done, not copied', T(async () => {
    const { res, rec } = await send('POST /h/up HTTP/1.1\r\nHost: client.example\r\n' +
      'Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
      '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    assert.equal(rawStatus(res.text), 200, res.text);
    assert.equal(rec.body.toString(), 'hello world');
    const te = headerValues(rec.headers, 'Transfer-Encoding');
    const cl = headerValues(rec.headers, 'Content-Length');
    assert.ok((te.length === 1 && te[0].toLowerCase() === 'chunked' && cl.length === 0) ||
      (te.length === 0 && cl.length === 1 && cl[0] === '11'), rec.head);
  }));

  it('response headers come back, duplicates kept, hop-by-hop removed', T(async () => {
    const { res } = await send('GET /h/resp-headers HTTP/1.1\r\nHost: client.example\r\n\r\n');
    assert.equal(rawStatus(res.text), 201, res.text);
    const { headers, body } = parseRawHead(res.data);
    assert.deepEqual(headerValues(headers, 'X-Resp'), ['first', 'second']);
    assert.deepEqual(headerValues(headers, 'Set-Cookie'), ['a=1; Path=/', 'b=2; Path=/']);
    assert.deepEqual(headerValues(headers, 'X-Upstream-Only'), ['yes']);
    assert.deepEqual(headerValues(headers, 'X-Hop-Resp'), [], res.text);
    assert.deepEqual(headerValues(headers, 'Keep-Alive'), [], res.text);
    assert.deepEqual(headerValues(headers, 'Content-Type'), ['text/plain']);
    assert.equal(body, 'hello');
  }));
});
