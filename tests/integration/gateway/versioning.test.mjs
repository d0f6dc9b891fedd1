// SPDX-License-Identifier: Apache-2.0
// Versions (header, URL segment, query parameter; default, fallback, expiry, override_target) and
// the endpoint lists VersionCheck applies (white_list, black_list, ignored, internal, legacy
// method_actions replies), mock_response, and Tyk's path matching rules.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const FORBIDDEN = { error: 'Requested endpoint is forbidden' };
const body = (r) => JSON.parse(r.text);

function versions(map, extra = {}) {
  return { not_versioned: false, default_version: '', versions: map, ...extra };
}
const ext = (name, paths, more = {}) => ({ name, use_extended_paths: true, extended_paths: paths, ...more });

describe('versioning and endpoint lists', () => {
  let gw, up, up2;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream(null, { name: 'one' });
    up2 = await startUpstream(null, { name: 'two' });
    gw = await startGateway({
      apis: [
        keylessApi({
          api_id: 'lists', listen_path: '/lists/', target_url: up.url,
          version_data: { not_versioned: true, default_version: 'Default', versions: { Default: ext('Default', {
            white_list: [
              { path: '/allowed', method: 'GET' },
              { path: '/users/{id}', method: 'GET' },
              { path: '/legacy', method_actions: { GET: { action: 'reply', code: 202, data: 'replied', headers: { 'X-Legacy': 'yes' } } } },
            ],
            ignored: [{ path: '/free', method: 'GET' }],
          }) } },
        }),
        keylessApi({
          api_id: 'black', listen_path: '/black/', target_url: up.url,
          version_data: { not_versioned: true, versions: { Default: ext('Default', {
            black_list: [{ path: '/secret', method: 'GET' }, { path: '/Loud', method: 'POST', ignore_case: true }],
            internal: [{ path: '/inside', method: 'GET' }],
            mock_response: [{ path: '/mock', method: 'GET', code: 418, body: '{"teapot":true}', headers: { 'Content-Type': 'application/json', 'X-Mock': '1' } }],
          }) } },
        }),
        {
          name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: { not_versioned: true, versions: { Default: ext('Default', { ignored: [{ path: '/health', method: 'GET' }] }) } },
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true },
        },
        keylessApi({
          api_id: 'hdr', listen_path: '/hdr/', target_url: up.url,
          definition: { location: 'header', key: 'x-api-version' },
          version_data: versions({
            v1: { name: 'v1' },
            v2: { name: 'v2', override_target: up2.url },
            old: { name: 'old', expires: '2001-01-01 00:00' },
            future: { name: 'future', expires: '2099-12-31 23:59' },
          }),
        }),
        keylessApi({
          api_id: 'fallback', listen_path: '/fallback/', target_url: up.url,
          definition: { location: 'url-param', key: 'ver', fallback_to_default: true },
          version_data: versions({ v1: { name: 'v1' }, v2: { name: 'v2', override_target: up2.url } }, { default_version: 'v2' }),
        }),
        keylessApi({
          api_id: 'url', listen_path: '/url/', target_url: up.url,
          definition: { location: 'url', strip_versioning_data: true },
          version_data: versions({ v1: ext('v1', { black_list: [{ path: '/blocked', method: 'GET' }] }) }),
        }),
        keylessApi({
          api_id: 'broken', listen_path: '/broken/', target_url: up.url,
          version_data: { not_versioned: true, versions: { Default: ext('Default', { white_list: [{ path: '/bad(', method: 'GET' }] }) } },
        }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await up2?.close(); });

  it('white_list: listed endpoints pass, {params} match a segment, everything else is forbidden', T(async () => {
    assert.equal((await gw.get('/lists/allowed')).status, 200);
    assert.equal((await gw.get('/lists/users/42')).status, 200);
    const r = await gw.get('/lists/other');
    assert.equal(r.status, 403);
    assert.deepEqual(body(r), FORBIDDEN);
    assert.equal((await gw.get('/lists/allowed', { method: 'POST', body: 'x' })).status, 403, 'method must match');
    assert.equal((await gw.get('/lists/free')).status, 200, 'ignored entries pass a white list');
  }));

  it('legacy method_actions reply answers without the upstream', T(async () => {
    const r = await gw.get('/lists/legacy');
    assert.equal(r.status, 202);
    assert.equal(r.text, 'replied');
    assert.equal(r.headers['x-legacy'], 'yes');
  }));

  it('black_list, ignore_case, internal and mock_response', T(async () => {
    assert.equal((await gw.get('/black/secret')).status, 403);
    assert.equal((await gw.get('/black/secret', { method: 'POST', body: 'x' })).status, 200);
    assert.equal((await gw.get('/black/LOUD', { method: 'POST', body: 'x' })).status, 403);
    assert.equal((await gw.get('/black/open')).status, 200);
    assert.equal((await gw.get('/black/inside')).status, 403);
    const m = await gw.get('/black/mock');
    assert.equal(m.status, 418);
    assert.deepEqual(body(m), { teapot: true });
    assert.equal(m.headers['x-mock'], '1');
    assert.equal(up.requests.filter((q) => q.url === '/mock').length, 0, 'the upstream never saw the mocked call');
  }));

  it('paths are unanchored regexes by default (Tyk): /secret also matches /x/secret/y', T(async () => {
    assert.equal((await gw.get('/black/x/secret/y')).status, 403);
  }));

  it('ignored endpoints skip authentication', T(async () => {
    assert.equal((await gw.get('/keyed/health')).status, 200);
    assert.equal((await gw.get('/keyed/other')).status, 401);
  }));

  it('header versioning: versions, override_target, missing, unknown, expired, expiry header', T(async () => {
    const v1 = await gw.get('/hdr/a', { headers: { 'x-api-version': 'v1' } });
    assert.equal(v1.status, 200);
    assert.equal(body(v1).upstream, 'one');
    const v2 = await gw.get('/hdr/a', { headers: { 'x-api-version': 'v2' } });
    assert.equal(body(v2).upstream, 'two', 'override_target');
    const none = await gw.get('/hdr/a');
    assert.equal(none.status, 403);
    assert.deepEqual(body(none), { error: 'Version information not found' });
    const unknown = await gw.get('/hdr/a', { headers: { 'x-api-version': 'v9' } });
    assert.equal(unknown.status, 403);
    assert.deepEqual(body(unknown), { error: 'This API version does not seem to exist' });
    const old = await gw.get('/hdr/a', { headers: { 'x-api-version': 'old' } });
    assert.equal(old.status, 403);
    assert.deepEqual(body(old), { error: 'Api Version has expired, please check documentation or contact administrator' });
    const fut = await gw.get('/hdr/a', { headers: { 'x-api-version': 'future' } });
    assert.equal(fut.status, 200);
    assert.equal(fut.headers['x-tyk-api-expires'], 'Thu, 31 Dec 2099 23:59:00 UTC');
  }));

  it('query parameter versioning with a default and fallback_to_default', T(async () => {
    assert.equal(body(await gw.get('/fallback/a?ver=v1')).upstream, 'one');
    assert.equal(body(await gw.get('/fallback/a')).upstream, 'two', 'default version');
    assert.equal(body(await gw.get('/fallback/a?ver=nope')).upstream, 'two', 'unknown falls back to the default');
  }));

  it('URL versioning strips the version segment before proxying and matches endpoints without it', T(async () => {
    const r = await gw.get('/url/v1/items?q=1');
    assert.equal(r.status, 200);
    assert.equal(body(r).url, '/items?q=1');
    assert.equal((await gw.get('/url/v1/blocked')).status, 403);
    assert.equal((await gw.get('/url/v7/items')).status, 403);
  }));

  it('an API with an invalid endpoint regex is rejected at load, naming the field; the others load', T(async () => {
    assert.equal((await gw.get('/broken/x')).status, 404);
    assert.match(gw.logs(), /API broken: version Default: extended_paths\.white_list\[0\]\.path "\/bad\(": invalid regular expression/);
  }));
});

describe('path matching with enable_path_prefix_matching / suffix', () => {
  let gw, up;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      conf: { http_server_options: { enable_path_prefix_matching: true, enable_path_suffix_matching: true } },
      apis: [keylessApi({
        api_id: 'anch', listen_path: '/anch/', target_url: up.url,
        version_data: { not_versioned: true, versions: { Default: ext('Default', {
          black_list: [{ path: '/secret', method: 'GET' }, { path: '/files/*', method: 'GET' }],
        }) } },
      })],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('anchored: /secret no longer matches /x/secret or /secret/more; /files/* matches below', T(async () => {
    assert.equal((await gw.get('/anch/secret')).status, 403);
    assert.equal((await gw.get('/anch/x/secret')).status, 200);
    assert.equal((await gw.get('/anch/secret/more')).status, 200);
    assert.equal((await gw.get('/anch/files/a/b')).status, 403);
  }));
});
