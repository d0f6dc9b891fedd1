// SPDX-License-Identifier: Apache-2.0
// JSVM TykBatchRequest (Tyk's "unsafe" batch: relative_url is a full URL; the reply is the JSON
// of [{relative_url, code, headers, body}], a failed request an empty unit; in parallel mode the
// units come as the requests finish, with suppress_parallel_execution in request order; a batch
// that does not decode gives undefined), bounded by jsvm_timeout; and virtual endpoints with
// use_session reading (and writing) the key's meta_data.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { freePort } from '../lib/ports.mjs';
import { waitFor } from '../lib/procs.mjs';

const SCRIPT = `
function batchHandler(request, session, config) {
  var batch = JSON.parse(request.Body);
  var reply = TykBatchRequest(JSON.stringify(batch));
  return TykJsResponse({ Body: typeof reply === 'string' ? reply : 'undefined:' + typeof reply, Code: 200,
                         Headers: { 'Content-Type': 'application/json' } }, {});
}
function rawBatchHandler(request, session, config) {
  var reply = TykBatchRequest(request.Body);
  return TykJsResponse({ Body: typeof reply, Code: 200 }, {});
}
function metaHandler(request, session, config) {
  var m = session.meta_data || {};
  var seen = parseInt(m.seen || '0', 10) + 1;
  var out = { owner: m.owner || null, seen: seen };
  m.seen = String(seen);
  return TykJsResponse({ Body: JSON.stringify(out), Code: 200 }, m);
}
`;

const ext = (paths) => ({ not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } } });
const virt = (p, fn, file, more = {}) => ({ path: p, method: 'POST', response_function_name: fn,
  function_source_type: 'file', function_source_uri: file, ...more });

describe('JSVM TykBatchRequest and use_session virtual endpoints', () => {
  let gw, up, dir, deadPort;
  const T = withLogs(() => gw);
  const batch = async (b, p = '/vb/batch') => {
    const r = await gw.get(p, { method: 'POST', body: JSON.stringify(b), headers: { 'Content-Type': 'application/json' } });
    return r;
  };

  before(async () => {
    dir = makeTempDir('turnpike-jsvm-batch-');
    const file = path.join(dir, 'batch.js');
    fs.writeFileSync(file, SCRIPT);
    deadPort = await freePort();
    up = await startUpstream((req, res, rec) => {
      const send = () => {
        res.writeHead(req.url.startsWith('/missing') ? 404 : 200, { 'Content-Type': 'text/plain', 'X-Up': 'yes' });
        res.end(`${req.method} ${req.url} ${req.headers['x-batch'] || '-'} ${rec.body.toString()} <&>`);
      };
      if (req.url.startsWith('/hang')) return; // never answers
      if (req.url.startsWith('/slow')) setTimeout(send, 400); else send();
    });
    gw = await startGateway({
      conf: { enable_jsvm: true, jsvm_timeout: 2 },
      apis: [
        keylessApi({
          api_id: 'vb', listen_path: '/vb/', target_url: up.url,
          version_data: ext({ virtual: [virt('/batch', 'batchHandler', file), virt('/raw', 'rawBatchHandler', file)] }),
        }),
        {
          name: 'vs', api_id: 'vs', org_id: 'default', active: true, use_keyless: false,
          auth: { auth_header_name: 'Authorization' },
          proxy: { listen_path: '/vs/', target_url: up.url, strip_listen_path: true },
          version_data: ext({ virtual: [
            virt('/meta', 'metaHandler', file, { method: 'GET', use_session: true }),
            virt('/nometa', 'metaHandler', file, { method: 'GET', use_session: false }),
          ] }),
        },
        keylessApi({ api_id: 'plain', listen_path: '/plain/', target_url: up.url }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('runs each request at its full URL and answers Tyk\'s reply units', T(async () => {
    const r = await batch({ requests: [
      { method: 'POST', headers: { 'X-Batch': 'one' }, body: 'payload', relative_url: `${up.url}/a?x=1` },
      { method: 'GET', headers: {}, body: '', relative_url: `${up.url}/missing` },
    ], suppress_parallel_execution: true });
    assert.equal(r.status, 200, r.text);
    // Go's json.Marshal: HTML characters escaped, no trailing newline
    assert.ok(r.text.includes('\\u003c\\u0026\\u003e'), r.text);
    assert.ok(!r.text.endsWith('\n'));
    const units = JSON.parse(r.text);
    assert.equal(units.length, 2);
    assert.deepEqual(Object.keys(units[0]), ['relative_url', 'code', 'headers', 'body']);
    assert.equal(units[0].relative_url, `${up.url}/a?x=1`);
    assert.equal(units[0].code, 200);
    assert.equal(units[0].body, 'POST /a?x=1 one payload <&>');
    assert.deepEqual(units[0].headers['Content-Type'], ['text/plain']);
    assert.deepEqual(units[0].headers['X-Up'], ['yes']);
    assert.equal(units[1].code, 404);
    assert.equal(units[1].body, 'GET /missing - ' + ' <&>');
    const seen = up.requests.find((q) => q.url === '/a?x=1');
    assert.equal(seen.headers['user-agent'], 'Go-http-client/1.1');
    assert.equal(seen.headers.accept, undefined);
  }));

  it('parallel: replies in finishing order; suppress_parallel_execution keeps request order', T(async () => {
    const reqs = [
      { method: 'GET', headers: {}, body: '', relative_url: `${up.url}/slow` },
      { method: 'GET', headers: {}, body: '', relative_url: `${up.url}/fast` },
    ];
    const t0 = Date.now();
    const par = JSON.parse((await batch({ requests: reqs, suppress_parallel_execution: false })).text);
    const parMs = Date.now() - t0;
    assert.deepEqual(par.map((u) => u.relative_url), [`${up.url}/fast`, `${up.url}/slow`]);
    const seq = JSON.parse((await batch({ requests: reqs, suppress_parallel_execution: true })).text);
    assert.deepEqual(seq.map((u) => u.relative_url), [`${up.url}/slow`, `${up.url}/fast`]);
    assert.ok(parMs < 1500, `parallel batch took ${parMs} ms`);
  }));

  it('a request that fails is an empty unit; an empty batch is []', T(async () => {
    const units = JSON.parse((await batch({ requests: [
      { method: 'GET', headers: {}, body: '', relative_url: `http://127.0.0.1:${deadPort}/x` },
      { method: 'GET', headers: {}, body: '', relative_url: `${up.url}/ok` },
    ], suppress_parallel_execution: true })).text);
    assert.deepEqual(units[0], { relative_url: '', code: 0, headers: null, body: '' });
    assert.equal(units[1].code, 200);
    assert.equal((await batch({ requests: [] })).text, '[]');
  }));

  it('a batch that does not decode gives undefined to the script', T(async () => {
    for (const bad of ['{not json', '{"requests": "nope"}', '{"requests":[{"method": 5}]}']) {
      const r = await gw.get('/vb/raw', { method: 'POST', body: bad });
      assert.equal(r.status, 200);
      assert.equal(r.text, 'undefined', bad);
    }
    await waitFor(() => /Could not decode batch request/.test(gw.logs()), { what: 'decode error logged' });
  }));

  it('a hanging target is cut at jsvm_timeout; other requests keep flowing', { timeout: 20000 }, T(async () => {
    const t0 = Date.now();
    const slow = batch({ requests: [{ method: 'GET', headers: {}, body: '', relative_url: `${up.url}/hang` }] });
    // a worker may be blocked by the script; the gateway as a whole keeps answering
    const others = [];
    for (let i = 0; i < 3; i++) others.push(gw.get('/plain/x'));
    const r = await slow;
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `batch took ${ms} ms with jsvm_timeout 2`);
    // either the script still answered with a failed unit, or it was stopped at its deadline
    if (r.status === 200) assert.deepEqual(JSON.parse(r.text), [{ relative_url: '', code: 0, headers: null, body: '' }]);
    else assert.equal(r.status, 500);
    for (const o of await Promise.all(others)) assert.equal(o.status, 200);
  }));

  it('use_session: the function reads the key\'s meta_data and its SessionMeta is kept', T(async () => {
    const c = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', rate: 100, per: 1, quota_max: -1,
      access_rights: { vs: { api_id: 'vs', api_name: 'vs', versions: ['Default'] } },
      meta_data: { owner: 'alice', seen: '0' },
    });
    assert.equal(c.status, 200, c.text);
    const key = JSON.parse(c.text).key;
    const r = await gw.get('/vs/meta', { headers: { Authorization: key } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.text), { owner: 'alice', seen: 1 });
    await waitFor(async () => {
      const k = await gw.admin('GET', `/tyk/keys/${key}?api_id=vs`);
      return JSON.parse(k.text).meta_data?.seen === '1';
    }, { what: 'meta_data.seen == 1 stored' });
    // without use_session the function sees an empty session and nothing is written back
    const n = await gw.get('/vs/nometa', { headers: { Authorization: key } });
    assert.deepEqual(JSON.parse(n.text), { owner: null, seen: 1 });
    const k = await gw.admin('GET', `/tyk/keys/${key}?api_id=vs`);
    assert.equal(JSON.parse(k.text).meta_data.seen, '1');
    // the virtual endpoint is behind auth
    assert.equal((await gw.get('/vs/meta')).status, 401);
  }));
});
