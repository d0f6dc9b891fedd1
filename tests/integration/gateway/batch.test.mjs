// SPDX-License-Identifier: Apache-2.0
// Batch requests (enable_batch_request_support): POST <listen_path>/tyk/batch/ runs every
// sub-request through the gateway as a real request to its own listen port, each with only its
// own headers (as Tyk's batch handler does), in parallel (replies in finishing order) or one
// after the other (suppress_parallel_execution); Tyk's errors for malformed batches; an API
// without batches proxies the path like any other.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

describe('batch requests', () => {
  let gw, up;
  const T = withLogs(() => gw);
  const batch = (api, body, headers = {}) =>
    gw.get(`/${api}/tyk/batch/`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });

  before(async () => {
    up = await startUpstream((req, res, rec) => {
      const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: rec.body.toString() });
      const send = () => {
        res.writeHead(req.url.includes('teapot') ? 418 : 200, { 'Content-Type': 'application/json', 'X-Up': 'yes' });
        res.end(out);
      };
      if (req.url.includes('slow')) setTimeout(send, 400); else send();
    });
    gw = await startGateway({
      apis: [
        keylessApi({ api_id: 'b', listen_path: '/b/', target_url: up.url, enable_batch_request_support: true }),
        keylessApi({ api_id: 'off', listen_path: '/off/', target_url: up.url }),
        {
          name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
          enable_batch_request_support: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true },
        },
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('runs each sub-request through the API and answers Tyk\'s reply units', T(async () => {
    const r = await batch('b', {
      requests: [
        { method: 'GET', relative_url: 'one?x=1', headers: { 'x-test': 'hello' } },
        { method: 'POST', relative_url: 'two', body: '{"a":"<b>"}', headers: { 'Content-Type': 'application/json' } },
        { method: 'GET', relative_url: 'teapot' },
      ],
    });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/json/);
    const replies = r.json();
    assert.equal(replies.length, 3);
    const by = Object.fromEntries(replies.map((u) => [u.relative_url, u]));
    assert.deepEqual(Object.keys(by[Object.keys(by)[0]]), ['relative_url', 'code', 'headers', 'body']);
    const one = by['one?x=1'];
    assert.equal(one.code, 200);
    assert.deepEqual(one.headers['X-Up'], ['yes']);
    assert.deepEqual(one.headers['Content-Type'], ['application/json']);
    const seen1 = JSON.parse(one.body);
    assert.equal(seen1.url, '/one?x=1', 'the listen path is stripped as for any request');
    assert.equal(seen1.headers['x-test'], 'hello');
    const seen2 = JSON.parse(by.two.body);
    assert.equal(seen2.method, 'POST');
    assert.equal(seen2.body, '{"a":"<b>"}');
    assert.equal(by.teapot.code, 418);
    assert.match(r.text, /\\u003cb\\u003e/, 'bodies are escaped as Go\'s encoder does');
  }));

  it('parallel replies come in finishing order; suppress_parallel_execution keeps the order', T(async () => {
    const reqs = [{ method: 'GET', relative_url: 'slow' }, { method: 'GET', relative_url: 'fast' }];
    const par = (await batch('b', { requests: reqs })).json();
    assert.deepEqual(par.map((u) => u.relative_url), ['fast', 'slow']);
    const t0 = Date.now();
    const seq = (await batch('b', { requests: reqs, suppress_parallel_execution: true })).json();
    assert.deepEqual(seq.map((u) => u.relative_url), ['slow', 'fast']);
    assert.ok(Date.now() - t0 >= 400);
    assert.ok(seq.every((u) => u.code === 200));
  }));

  it('the worker keeps serving while a batch waits', T(async () => {
    const slow = batch('b', { requests: [{ method: 'GET', relative_url: 'slow' }] });
    const t0 = Date.now();
    for (let i = 0; i < 4; i++) assert.equal((await gw.get('/b/quick')).status, 200);
    assert.ok(Date.now() - t0 < 400, 'plain requests were not held behind the batch');
    assert.equal((await slow).json()[0].code, 200);
  }));

  it('keyed API: the batch endpoint needs no key; each sub-request carries its own', T(async () => {
    const k = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', rate: 100, per: 60, quota_max: -1,
      access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } },
    });
    assert.equal(k.status, 200, k.text);
    const key = k.json().key;
    const r = await batch('keyed', {
      requests: [
        { method: 'GET', relative_url: 'with', headers: { Authorization: key } },
        { method: 'GET', relative_url: 'without' },
        { method: 'GET', relative_url: 'wrong', headers: { Authorization: 'nope' } },
      ],
      suppress_parallel_execution: true,
    }, { Authorization: key });
    assert.equal(r.status, 200);
    const [w, wo, wr] = r.json();
    assert.equal(w.code, 200);
    assert.ok(w.headers['X-Ratelimit-Remaining'], 'limits apply to the sub-request');
    assert.equal(wo.code, 401, 'the batch request\'s own Authorization is not passed on');
    assert.deepEqual(JSON.parse(wo.body), { error: 'Authorization field missing' });
    assert.equal(wr.code, 403);
  }));

  it('an empty batch answers [], a GET answers an empty 200', T(async () => {
    const e = await batch('b', { requests: [] });
    assert.equal(e.status, 200);
    assert.deepEqual(e.json(), []);
    const n = await batch('b', 'null');
    assert.deepEqual(n.json(), []);
    const g = await gw.get('/b/tyk/batch/');
    assert.equal(g.status, 200);
    assert.equal(g.text, '');
  }));

  it('malformed batches get Tyk\'s 400 errors and nothing reaches the upstream', T(async () => {
    const n = up.requests.length;
    for (const bad of ['', '{"requests":', '{"requests":"x"}', '{"requests":[{"method":1}]}', '[1]']) {
      const r = await batch('b', bad);
      assert.equal(r.status, 400, bad);
      assert.deepEqual(r.json(), { status: 'error', message: 'Batch request malformed' });
    }
    const r = await batch('b', { requests: [{ method: 'BAD METHOD', relative_url: 'x' }] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { status: 'error', message: 'Batch request creation failed , request structure malformed' });
    assert.equal(up.requests.length, n);
  }));

  it('without enable_batch_request_support the path is proxied like any other', T(async () => {
    const r = await batch('off', { requests: [{ method: 'GET', relative_url: 'x' }] });
    assert.equal(r.status, 200);
    assert.equal(r.json().url, '/tyk/batch/');
    // only the exact path is the batch route
    const r2 = await gw.get('/b/tyk/batch', { method: 'POST', body: '{}' });
    assert.equal(JSON.parse(r2.text).url, '/tyk/batch');
  }));
});
