// SPDX-License-Identifier: Apache-2.0
// Request context variables (enable_context_vars) as Tyk fills them in
// MiddlewareContextVars, seen through global_headers values sent upstream.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const VARS = {
  'X-Path': '$tyk_context.path',
  'X-Parts': '$tyk_context.path_parts',
  'X-Remote': '$tyk_context.remote_addr',
  'X-Request-Id': '$tyk_context.request_id',
  'X-Data': '$tyk_context.request_data',
  'X-Data-C': '$tyk_context.request_data_c',
  'X-Data-Dash': '$tyk_context.request_data_my_key',
  'X-Hdr': '$tyk_context.headers_X_Custom_Thing',
  'X-Host': '$tyk_context.headers_Host',
  'X-Cookie': '$tyk_context.cookies_session_id',
  'X-Was-Secret': 'was:$tyk_context.headers_X_Secret',
  'X-Unknown': '[$tyk_context.nope]',
  'X-Token': '$tyk_context.token',
  'X-Headers-Map': '[$tyk_context.headers]',
};

const versionData = {
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, global_headers: VARS, global_headers_remove: ['X-Secret'] } },
};

describe('context variables', () => {
  let gw, up, key;
  const T = withLogs(() => gw);
  const seen = (r) => { assert.equal(r.status, 200, r.text); return up.requests.at(-1); };
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      apis: [
        keylessApi({ api_id: 'cv', listen_path: '/cv/', target_url: up.url, enable_context_vars: true, version_data: versionData }),
        keylessApi({ api_id: 'nocv', listen_path: '/nocv/', target_url: up.url, version_data: versionData }),
        {
          name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true, enable_context_vars: true,
          auth: { auth_header_name: 'Authorization' }, version_data: versionData,
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true },
        },
      ],
    });
    const r = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } },
    });
    assert.equal(r.status, 200, r.text);
    key = JSON.parse(r.text).key;
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('path, path_parts, remote_addr, headers_<Name>, headers_Host, cookies_<name>', T(async () => {
    const h = seen(await gw.get('/cv/a/b%20c?x=1', {
      headers: { 'x-custom-thing': 'v1', Cookie: 'other=1; session-id=abc', 'X-Secret': 'hidden' },
    })).headers;
    assert.equal(h['x-path'], '/cv/a/b c', 'the decoded URL path, listen path included');
    assert.equal(h['x-parts'], 'cv,a,b c');
    assert.equal(h['x-remote'], '127.0.0.1');
    assert.equal(h['x-hdr'], 'v1', 'x-custom-thing → headers_X_Custom_Thing');
    assert.equal(h['x-host'], `127.0.0.1:${gw.port}`);
    assert.equal(h['x-cookie'], 'abc');
    assert.equal(h['x-secret'], undefined, 'removed by global_headers_remove');
    assert.equal(h['x-was-secret'], 'was:hidden', 'values are a snapshot taken before the transforms');
    assert.equal(h['x-unknown'], '[]');
    assert.equal(h['x-headers-map'], '[]', 'a map has no text form in Tyk');
    assert.equal(h['x-token'], '', 'no auth, no token');
  }));

  it('remote_addr follows X-Real-IP, then X-Forwarded-For', T(async () => {
    assert.equal(seen(await gw.get('/cv/x', { headers: { 'X-Real-IP': '10.1.2.3' } })).headers['x-remote'], '10.1.2.3');
    assert.equal(seen(await gw.get('/cv/x', { headers: { 'X-Forwarded-For': '10.9.9.9, 10.0.0.1' } })).headers['x-remote'], '10.9.9.9');
  }));

  it('request_id is a fresh v4 UUID per request', T(async () => {
    const a = seen(await gw.get('/cv/x')).headers['x-request-id'];
    const b = seen(await gw.get('/cv/x')).headers['x-request-id'];
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a, b);
  }));

  it('request_data: query values, and form bodies (which still reach the upstream)', T(async () => {
    let h = seen(await gw.get('/cv/x?x=1&x=2&my-key=dash')).headers;
    assert.match(h['x-data'], /(^|;)x:1,2(;|$)/);
    assert.match(h['x-data'], /(^|;)my-key:dash(;|$)/);
    assert.equal(h['x-data-dash'], 'dash', 'request_data_<key> with - → _');
    const body = 'c=3&c=4&d=a+b';
    const rec = seen(await gw.get('/cv/form', {
      method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }));
    h = rec.headers;
    assert.equal(h['x-data-c'], '3', 'first value');
    assert.match(h['x-data'], /(^|;)d:a b(;|$)/);
    assert.equal(rec.bodyLength, body.length, 'the form body is forwarded untouched');
    assert.equal(rec.body.toString(), body);
  }));

  it('token is the credential the auth step accepted', T(async () => {
    const h = seen(await gw.get('/keyed/x', { headers: { Authorization: key } })).headers;
    assert.equal(h['x-token'], key);
  }));

  it('without enable_context_vars every $tyk_context value is empty', T(async () => {
    const h = seen(await gw.get('/nocv/a?x=1', { headers: { 'x-custom-thing': 'v1' } })).headers;
    assert.equal(h['x-path'], '');
    assert.equal(h['x-hdr'], '');
    assert.equal(h['x-data'], '');
    assert.equal(h['x-request-id'], '');
    assert.equal(h['x-was-secret'], 'was:');
  }));
});
