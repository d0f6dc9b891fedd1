// SPDX-License-Identifier: Apache-2.0
// Request size limits: a version's global_size_limit and extended_paths.size_limits, checked
// on the stated Content-Length as Tyk's RequestSizeLimitMiddleware does.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { rawRequest, rawStatus, parseRawHead } from '../lib/http.mjs';

const TOO_LARGE = { error: 'Request is too large' };

const versions = (paths, more = {}) => ({
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths, ...more } },
});

describe('request size limits', () => {
  let gw, up;
  const T = withLogs(() => gw);
  const post = (p, body, opts = {}) => gw.get(p, { method: 'POST', body, ...opts });
  const raw = async (head, body = '') => {
    const r = await rawRequest(gw.port, `${head}\r\nHost: x\r\nConnection: close\r\n\r\n${body}`);
    const m = parseRawHead(r.text);
    return { status: rawStatus(r.text), body: m.body };
  };
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      apis: [
        keylessApi({
          api_id: 'sz', listen_path: '/sz/', target_url: up.url,
          version_data: versions({ size_limits: [{ path: '/small', method: 'POST', size_limit: 10 }] }, { global_size_limit: 100 }),
        }),
        keylessApi({
          api_id: 'ep', listen_path: '/ep/', target_url: up.url,
          version_data: versions({ size_limits: [{ path: '/small', method: 'PUT', size_limit: 10 }] }),
        }),
        keylessApi({
          api_id: 'off', listen_path: '/off/', target_url: up.url,
          version_data: versions({}, { global_size_limit: 10, global_size_limit_disabled: true }),
        }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('global_size_limit: at the limit passes, above it is 400 "Request is too large"', T(async () => {
    assert.equal((await post('/sz/any', 'x'.repeat(100))).status, 200);
    up.reset();
    const r = await post('/sz/any', 'x'.repeat(101));
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.text), TOO_LARGE);
    assert.equal(up.requests.length, 0, 'the upstream never sees it');
  }));

  it('an endpoint size_limit applies on its path and method, after the global one', T(async () => {
    assert.equal((await post('/sz/small', 'x'.repeat(10))).status, 200);
    const r = await post('/sz/small', 'x'.repeat(11));
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.text), TOO_LARGE);
    assert.equal((await gw.get('/sz/small', { method: 'PATCH', body: 'x'.repeat(50) })).status, 200, 'method must match');
    assert.equal((await gw.get('/ep/small', { method: 'PUT', body: 'x'.repeat(11) })).status, 400);
    assert.equal((await gw.get('/ep/small', { method: 'PUT', body: 'x'.repeat(5000) })).status, 400);
    assert.equal((await gw.get('/ep/other', { method: 'PUT', body: 'x'.repeat(5000) })).status, 200);
  }));

  it('GET, DELETE, OPTIONS and HEAD are not checked', T(async () => {
    assert.equal((await gw.get('/sz/any')).status, 200);
    assert.equal((await gw.get('/sz/any', { method: 'DELETE', body: 'x'.repeat(500) })).status, 200);
    assert.equal((await gw.get('/sz/any', { method: 'OPTIONS' })).status, 200);
  }));

  it('no Content-Length (chunked) → 411 "Content length is required for this request"', T(async () => {
    const r = await raw('POST /sz/any HTTP/1.1\r\nTransfer-Encoding: chunked', '3\r\nabc\r\n0\r\n\r\n');
    assert.equal(r.status, 411);
    assert.deepEqual(JSON.parse(r.body), { error: 'Content length is required for this request' });
    const empty = await raw('POST /sz/any HTTP/1.1');
    assert.equal(empty.status, 411, 'a POST without any body still needs a length');
  }));

  it('a Content-Length Go\'s ParseInt(s, 0, 64) rejects → 400 "content length is not a valid Integer"', T(async () => {
    const r = await raw('POST /sz/any HTTP/1.1\r\nContent-Length: 08', '12345678');
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { error: 'content length is not a valid Integer' });
    const ok = await raw('POST /sz/any HTTP/1.1\r\nContent-Length: 007', '1234567');
    assert.equal(ok.status, 200, 'octal 007 is fine');
  }));

  it('global_size_limit_disabled turns the global limit off', T(async () => {
    assert.equal((await post('/off/any', 'x'.repeat(500))).status, 200);
  }));
});
