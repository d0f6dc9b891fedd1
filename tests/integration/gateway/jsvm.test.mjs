// SPDX-License-Identifier: Apache-2.0
// JSVM plugins (custom_middleware with the otto driver) and virtual endpoints: what a script
// sees and may change, Tyk's answers when a script fails, and the execution-time and memory
// limits that keep a bad script from stalling the gateway.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { waitFor } from '../lib/procs.mjs';

const VIRTUAL_FAILED = 'Error during virtual endpoint execution. Contact Administrator for more details.';

const SCRIPTS = {
  'pre.js': `
var preMw = new TykJS.TykMiddleware.NewMiddleware({});
preMw.NewProcessRequest(function (request, session, config) {
  if (request.Headers['X-Block'] && request.Headers['X-Block'][0] === 'yes') {
    request.ReturnOverrides.ResponseCode = 403;
    request.ReturnOverrides.ResponseError = 'blocked by js';
    request.ReturnOverrides.ResponseHeaders = { 'X-Js-Reason': 'blocked' };
    return preMw.ReturnData(request, {});
  }
  if (request.Headers['X-Direct']) {
    request.ReturnOverrides.ResponseCode = 202;
    request.ReturnOverrides.ResponseBody = 'answered by js';
    request.ReturnOverrides.ResponseHeaders = { 'X-Js': 'direct' };
    return preMw.ReturnData(request, {});
  }
  request.SetHeaders['X-Js-Pre'] = 'hello';
  request.SetHeaders['X-Js-Config'] = config.config_data.greeting + '/' + config.APIID;
  request.SetHeaders['X-Js-B64'] = b64enc('turnpike') + ',' + b64dec('aGk=');
  request.SetHeaders['X-Js-Method'] = request.Method;
  request.DeleteHeaders.push('X-Remove-Me');
  request.AddParams['added'] = 'yes';
  request.DeleteParams.push('drop');
  if (request.Params['echo']) request.SetHeaders['X-Echo'] = request.Params['echo'][0];
  if (request.Body) request.Body = request.Body.toUpperCase();
  log('pre middleware ran for ' + request.URL);
  return preMw.ReturnData(request, {});
});`,
  'callout.js': `
var calloutMw = new TykJS.TykMiddleware.NewMiddleware({});
calloutMw.NewProcessRequest(function (request, session, config) {
  var out = JSON.parse(TykMakeHttpRequest(JSON.stringify({
    Method: 'POST', Domain: config.config_data.callout, Resource: '/lookup?id=7',
    Headers: { 'X-From': 'js' }, Body: 'ping'
  })));
  request.SetHeaders['X-Callout-Code'] = String(out.Code);
  request.SetHeaders['X-Callout-Body'] = out.Body;
  request.SetHeaders['X-Callout-Header'] = out.Headers['X-Callout'][0];
  return calloutMw.ReturnData(request, {});
});`,
  'visits.js': `
var visitsMw = new TykJS.TykMiddleware.NewMiddleware({});
visitsMw.NewProcessRequest(function (request, session, config) {
  var meta = session.meta_data || {};
  var n = parseInt(meta.visits || '0', 10) + 1;
  meta.visits = String(n);
  request.SetHeaders['X-Visits'] = String(n);
  request.SetHeaders['X-Owner'] = meta.owner || '';
  return visitsMw.ReturnData(request, meta);
});`,
  'auth.js': `
var authMw = new TykJS.TykMiddleware.NewMiddleware({});
authMw.NewProcessRequest(function (request, session, config) {
  var tok = request.Headers['Authorization'] ? request.Headers['Authorization'][0] : '';
  if (tok !== 'open-sesame') {
    request.ReturnOverrides.ResponseCode = 401;
    request.ReturnOverrides.ResponseError = 'Not authorized by JS';
    return authMw.ReturnAuthData(request, {});
  }
  var s = { org_id: 'default', rate: 100, per: 1, allowance: 100, quota_max: -1,
            access_rights: { jsauth: { api_id: 'jsauth', api_name: 'jsauth', versions: ['Default'] } },
            meta_data: { user: 'js-user' } };
  request.SetHeaders['X-Js-User'] = 'js-user';
  return authMw.ReturnAuthData(request, s);
});`,
  'virtual.js': `
function sumHandler(request, session, config) {
  var a = parseInt(request.Params['a'][0], 10), b = parseInt(request.Params['b'][0], 10);
  return TykJsResponse({ Body: JSON.stringify({ sum: a + b, method: request.Body ? 'with-body' : 'no-body', greeting: config.config_data.greeting }),
                         Code: 201, Headers: { 'Content-Type': 'application/json', 'X-Virtual': 'yes' } }, session.meta_data);
}
function brokenHandler(request, session, config) { throw new Error('virtual failure'); }`,
  'loop.js': `
var loopMw = new TykJS.TykMiddleware.NewMiddleware({});
loopMw.NewProcessRequest(function (request, session, config) {
  if (request.Headers['X-Loop']) { for (;;) { try { while (true) {} } catch (e) {} } }
  if (request.Headers['X-Bomb']) { var s = 'xxxxxxxx', kept = []; for (;;) { s = s + s; kept.push(s); } }
  if (request.Headers['X-Slow']) { var a = []; for (;;) { a.push(new Array(100000).join('x') + a.length); } }
  if (request.Headers['X-Throw']) { throw new Error('script failure'); }
  request.SetHeaders['X-Loop-Api'] = 'alive';
  return loopMw.ReturnData(request, {});
});`,
  'syntax.js': 'var broken = new TykJS.TykMiddleware.NewMiddleware({});\nbroken.NewProcessRequest(function (request {\n',
};

const ext = (paths) => ({ not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } } });

describe('JSVM plugins and virtual endpoints', () => {
  let gw, up, callout, dir;
  const T = withLogs(() => gw);
  const js = (f) => path.join(dir, f);
  before(async () => {
    dir = makeTempDir('turnpike-jsvm-');
    for (const [f, src] of Object.entries(SCRIPTS)) fs.writeFileSync(path.join(dir, f), src);
    up = await startUpstream((req, res, rec) => {
      const out = JSON.stringify({ url: req.url, headers: req.headers, body: rec.body.toString() });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(out);
    });
    callout = await startUpstream((req, res, rec) => {
      res.writeHead(200, { 'X-Callout': 'seen', 'Content-Type': 'text/plain' });
      res.end(`${req.method} ${req.url} ${req.headers['x-from']} ${rec.body}`);
    });
    const keyed = (api_id, listen_path, cm, more = {}) => ({
      name: api_id, api_id, org_id: 'default', active: true, use_keyless: false,
      auth: { auth_header_name: 'Authorization' },
      version_data: ext({}), proxy: { listen_path, target_url: up.url, strip_listen_path: true },
      custom_middleware: { driver: 'otto', ...cm }, ...more,
    });
    gw = await startGateway({
      conf: { enable_jsvm: true, jsvm_timeout: 1 },
      apis: [
        keylessApi({
          api_id: 'pre', listen_path: '/pre/', target_url: up.url,
          config_data: { greeting: 'hi', callout: callout.url },
          custom_middleware: { driver: 'otto', pre: [{ name: 'preMw', path: js('pre.js') }],
            post: [{ name: 'calloutMw', path: js('callout.js') }] },
        }),
        keyed('visits', '/visits/', { post_key_auth: [{ name: 'visitsMw', path: js('visits.js') }] }),
        keyed('jsauth', '/jsauth/', { auth_check: { name: 'authMw', path: js('auth.js') } },
          { custom_plugin_auth_enabled: true }),
        keylessApi({
          api_id: 'virtual', listen_path: '/virtual/', target_url: up.url, config_data: { greeting: 'hey' },
          version_data: ext({ virtual: [
            { path: '/sum', method: 'GET', response_function_name: 'sumHandler', function_source_type: 'file', function_source_uri: js('virtual.js') },
            { path: '/broken', method: 'GET', response_function_name: 'brokenHandler', function_source_type: 'file', function_source_uri: js('virtual.js') },
            { path: '/fallback', method: 'GET', response_function_name: 'brokenHandler', function_source_type: 'file', function_source_uri: js('virtual.js'), proxy_on_error: true },
            { path: '/blob', method: 'GET', response_function_name: 'blobHandler', function_source_type: 'blob',
              function_source_uri: Buffer.from('function blobHandler(r, s, c) { return TykJsResponse({Body: "from blob " + r.URL, Code: 200}, {}); }').toString('base64') },
          ] }),
        }),
        keylessApi({
          api_id: 'loop', listen_path: '/loop/', target_url: up.url,
          // the newer driver name runs the same TykJS API
          custom_middleware: { driver: 'javascript', pre: [{ name: 'loopMw', path: js('loop.js') }] },
        }),
        keylessApi({ api_id: 'plain', listen_path: '/plain/', target_url: up.url }),
        keylessApi({
          api_id: 'syntax', listen_path: '/syntax/', target_url: up.url,
          custom_middleware: { driver: 'otto', pre: [{ name: 'broken', path: js('syntax.js') }] },
        }),
        keylessApi({
          api_id: 'missing', listen_path: '/missing/', target_url: up.url,
          custom_middleware: { driver: 'otto', pre: [{ name: 'gone', path: js('no-such-file.js') }] },
        }),
      ],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await callout?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pre middleware sets and deletes headers, edits the query and body, sees config_data and b64', T(async () => {
    const r = await gw.get('/pre/thing?echo=value&drop=1', {
      method: 'POST', body: 'shout this', headers: { 'X-Remove-Me': 'x', 'Content-Type': 'text/plain' },
    });
    assert.equal(r.status, 200, r.text);
    const seen = JSON.parse(r.text);
    assert.equal(seen.headers['x-js-pre'], 'hello');
    assert.equal(seen.headers['x-js-config'], 'hi/pre');
    assert.equal(seen.headers['x-js-b64'], 'dHVybnBpa2U=,hi');
    assert.equal(seen.headers['x-js-method'], 'POST');
    assert.equal(seen.headers['x-echo'], 'value');
    assert.equal(seen.headers['x-remove-me'], undefined);
    assert.equal(seen.url, '/thing?added=yes&echo=value');
    assert.equal(seen.body, 'SHOUT THIS');
    await waitFor(() => /pre middleware ran for \/pre\/thing/.test(gw.logs()), { what: 'log() output' });
  }));

  it('ReturnOverrides: >= 400 is an error reply with the headers, other codes answer directly', T(async () => {
    const r = await gw.get('/pre/x', { headers: { 'X-Block': 'yes' } });
    assert.equal(r.status, 403);
    assert.deepEqual(JSON.parse(r.text), { error: 'blocked by js' });
    assert.equal(r.headers['x-js-reason'], 'blocked');
    const d = await gw.get('/pre/x', { headers: { 'X-Direct': '1' } });
    assert.equal(d.status, 202);
    assert.equal(d.text, 'answered by js');
    assert.equal(d.headers['x-js'], 'direct');
  }));

  it('TykMakeHttpRequest calls out synchronously and returns code, body and headers', T(async () => {
    const r = await gw.get('/pre/call');
    assert.equal(r.status, 200, r.text);
    const seen = JSON.parse(r.text);
    assert.equal(seen.headers['x-callout-code'], '200');
    assert.equal(seen.headers['x-callout-body'], 'POST /lookup?id=7 js ping');
    assert.equal(seen.headers['x-callout-header'], 'seen');
  }));

  it('post_key_auth reads and writes session meta_data; the key keeps the change', T(async () => {
    const c = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', rate: 100, per: 1, allowance: 100, quota_max: -1,
      access_rights: { visits: { api_id: 'visits', api_name: 'visits', versions: ['Default'] } },
      meta_data: { visits: '0', owner: 'alice' },
    });
    assert.equal(c.status, 200, c.text);
    const key = JSON.parse(c.text).key;
    for (const n of [1, 2]) {
      const r = await gw.get('/visits/x', { headers: { Authorization: key } });
      assert.equal(r.status, 200, r.text);
      const seen = JSON.parse(r.text);
      assert.equal(seen.headers['x-visits'], String(n));
      assert.equal(seen.headers['x-owner'], 'alice');
    }
    await waitFor(async () => {
      const k = await gw.admin('GET', `/tyk/keys/${key}?api_id=visits`);
      return k.status === 200 && JSON.parse(k.text).meta_data.visits === '2';
    }, { what: 'meta_data.visits == 2 in the stored key' });
    const none = await gw.get('/visits/x');
    assert.equal(none.status, 401);
  }));

  it('a JS auth_check decides who gets in', T(async () => {
    const no = await gw.get('/jsauth/x', { headers: { Authorization: 'wrong' } });
    assert.equal(no.status, 401);
    assert.deepEqual(JSON.parse(no.text), { error: 'Not authorized by JS' });
    const yes = await gw.get('/jsauth/x', { headers: { Authorization: 'open-sesame' } });
    assert.equal(yes.status, 200, yes.text);
    assert.equal(JSON.parse(yes.text).headers['x-js-user'], 'js-user');
  }));

  it('a virtual endpoint answers with a body computed from the query', T(async () => {
    const r = await gw.get('/virtual/sum?a=2&b=40');
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(JSON.parse(r.text), { sum: 42, method: 'no-body', greeting: 'hey' });
    assert.equal(r.headers['x-virtual'], 'yes');
    assert.equal(r.headers['server'], 'tyk');
    assert.equal(up.requests.filter((q) => q.url.startsWith('/sum')).length, 0);
    const b = await gw.get('/virtual/blob?q=1');
    assert.equal(b.status, 200);
    assert.equal(b.text, 'from blob /virtual/blob?q=1');
  }));

  it('a failing virtual endpoint answers 500, or goes upstream with proxy_on_error', T(async () => {
    const r = await gw.get('/virtual/broken');
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { error: VIRTUAL_FAILED });
    const f = await gw.get('/virtual/fallback?x=1');
    assert.equal(f.status, 200);
    assert.equal(JSON.parse(f.text).url, '/fallback?x=1');
  }));

  it('a script that throws gets 500 Internal Server Error; the API keeps working', T(async () => {
    const r = await gw.get('/loop/x', { headers: { 'X-Throw': '1' } });
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { error: 'Internal Server Error' });
    await waitFor(() => /JS middleware loopMw failed: .*script failure/.test(gw.logs()), { what: 'the script error in the log' });
    const ok = await gw.get('/loop/x');
    assert.equal(JSON.parse(ok.text).headers['x-loop-api'], 'alive');
  }));

  it('an endless loop (even one catching the timeout) is stopped at jsvm_timeout; others keep answering', T(async () => {
    const t0 = Date.now();
    const looping = gw.get('/loop/x', { headers: { 'X-Loop': '1' }, timeoutMs: 15000 });
    await new Promise((r) => setTimeout(r, 100));
    // While one worker runs the script, requests keep being answered (by another worker, or
    // by the same one within jsvm_timeout).
    const others = [];
    for (let i = 0; i < 6; i++) others.push(gw.get('/plain/p', { timeoutMs: 5000 }));
    for (const o of await Promise.all(others)) assert.equal(o.status, 200);
    const r = await looping;
    const took = Date.now() - t0;
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { error: 'Internal Server Error' });
    assert.ok(took >= 900 && took < 4000, `stopped after ${took} ms`);
    await waitFor(() => /JS middleware loopMw failed: JS middleware timed out/.test(gw.logs()), { what: 'the timeout in the log' });
    // The VM was rebuilt: the same API still runs its script.
    const ok = await gw.get('/loop/x');
    assert.equal(JSON.parse(ok.text).headers['x-loop-api'], 'alive');
  }));

  it('a loop spending its time in slow built-ins is stopped at jsvm_timeout too', T(async () => {
    const t0 = Date.now();
    const r = await gw.get('/loop/x', { headers: { 'X-Slow': '1' }, timeoutMs: 15000 });
    const took = Date.now() - t0;
    assert.equal(r.status, 500);
    assert.ok(took >= 900 && took < 5000, `stopped after ${took} ms`);
  }));

  it('a memory bomb is stopped at the heap cap (an allocation error, not the timeout) and the VM is rebuilt', T(async () => {
    const t0 = Date.now();
    const r = await gw.get('/loop/x', { headers: { 'X-Bomb': '1' }, timeoutMs: 15000 });
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { error: 'Internal Server Error' });
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    const lastFailure = () => gw.logs().split('\n').filter((l) => l.includes('loopMw failed')).pop() || '';
    await waitFor(() => /alloc/i.test(lastFailure()), { what: 'the allocation failure in the log' });
    assert.doesNotMatch(lastFailure(), /timed out/);
    const ok = await gw.get('/loop/x');
    assert.equal(JSON.parse(ok.text).headers['x-loop-api'], 'alive');
  }));

  it('a script with a syntax error, or a missing file, keeps its API from loading', T(async () => {
    assert.equal((await gw.get('/syntax/x')).status, 404);
    assert.match(gw.logs(), /API syntax: JSVM: .*syntax\.js: SyntaxError/);
    assert.equal((await gw.get('/missing/x')).status, 404);
    assert.match(gw.logs(), /API missing: custom_middleware\.pre\[0\]: cannot read .*no-such-file\.js/);
  }));
});

describe('JSVM off the worker', () => {
  let gw, up, dir;
  const T = withLogs(() => gw);
  before(async () => {
    dir = makeTempDir('turnpike-jsvm-pool-');
    fs.writeFileSync(path.join(dir, 'loop.js'), SCRIPTS['loop.js']);
    up = await startUpstream();
    gw = await startGateway({
      // one worker: a script run on it would hold every other request for jsvm_timeout
      conf: { enable_jsvm: true, jsvm_timeout: 2, turnpike_workers: 1, turnpike_jsvm_threads: 2 },
      apis: [
        keylessApi({
          api_id: 'loop', listen_path: '/loop/', target_url: up.url,
          custom_middleware: { driver: 'otto', pre: [{ name: 'loopMw', path: path.join(dir, 'loop.js') }] },
        }),
        keylessApi({ api_id: 'plain', listen_path: '/plain/', target_url: up.url }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('while a script loops, the only worker keeps answering other requests (and other scripts) at once', T(async () => {
    let loopDone = false;
    const t0 = Date.now();
    const looping = gw.get('/loop/x', { headers: { 'X-Loop': '1' }, timeoutMs: 15000 })
      .then((r) => { loopDone = true; return r; });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 8; i++) {
      const s = Date.now();
      const r = await gw.get(i % 2 ? '/loop/y' : '/plain/p', { timeoutMs: 5000 });
      const took = Date.now() - s;
      assert.equal(r.status, 200);
      assert.ok(took < 300, `request ${i} took ${took} ms while the script looped`);
    }
    assert.equal(loopDone, false, 'the looping script was still running');
    const r = await looping;
    const took = Date.now() - t0;
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { error: 'Internal Server Error' });
    assert.ok(took >= 1900 && took < 6000, `stopped after ${took} ms`);
  }));
});

describe('JSVM disabled', () => {
  let gw, up, dir;
  const T = withLogs(() => gw);
  before(async () => {
    dir = makeTempDir('turnpike-jsvm-off-');
    fs.writeFileSync(path.join(dir, 'pre.js'), SCRIPTS['pre.js']);
    up = await startUpstream();
    gw = await startGateway({
      apis: [keylessApi({
        api_id: 'pre', listen_path: '/pre/', target_url: up.url,
        custom_middleware: { driver: 'otto', pre: [{ name: 'preMw', path: path.join(dir, 'pre.js') }] },
      })],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('without enable_jsvm a JS middleware answers 500 "Middleware error", as Tyk does', T(async () => {
    const r = await gw.get('/pre/x');
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { error: 'Middleware error' });
  }));
});
