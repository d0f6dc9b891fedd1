// SPDX-License-Identifier: Apache-2.0
// Request and response header transforms: a version's global_headers / global_headers_remove,
// extended_paths.transform_headers, transform_response_headers, global_response_headers and a
// response_processors header_injector, with $tyk_meta / $tyk_context values and Go's
// canonical header names.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { headerValues } from '../lib/http.mjs';

const ext = (paths, more = {}) => ({
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths, ...more } },
});

describe('header transforms', () => {
  let gw, up, key;
  const T = withLogs(() => gw);
  before(async () => {
    // Echoes the request headers; answers with a few headers the transforms act on.
    up = await startUpstream((req, res) => {
      const out = JSON.stringify({ headers: req.headers, raw: req.rawHeaders });
      res.writeHead(200, {
        'Content-Type': 'application/json', 'X-Up-Secret': 's3cr3t', 'X-Powered-By': 'node',
        'X-Keep': 'kept', 'Content-Length': Buffer.byteLength(out),
      });
      res.end(out);
    });
    const paths = {
      transform_headers: [{
        path: '/change', method: 'GET', delete_headers: ['X-Delete', 'x-global-2', 'X-Forwarded-For'],
        add_headers: {
          'x-added': 'a', 'X-Path': '$tyk_context.path', 'X-Tier': 'tier=$tyk_meta.tier', 'X-Num': '$tyk_meta.n',
          'X-Big': '$tyk_meta.big', 'X-Frac': '$tyk_meta.frac', 'X-List': '$tyk_meta.list', 'X-Flag': '[$tyk_meta.flag]',
        },
      }],
      transform_response_headers: [{
        path: '/change', method: 'GET', delete_headers: ['X-Up-Secret'], add_headers: { 'x-resp': 'r' },
      }],
    };
    const globals = {
      global_headers: { 'x-global': 'g', 'X-Global-2': 'g2' },
      global_headers_remove: ['X-Remove-Me'],
      global_response_headers: { 'X-Global-Resp': '1' },
      global_response_headers_remove: ['x-powered-by'],
    };
    gw = await startGateway({
      apis: [
        keylessApi({ api_id: 'tx', listen_path: '/tx/', target_url: up.url, version_data: ext(paths, globals) }),
        keylessApi({
          api_id: 'ctx', listen_path: '/ctx/', target_url: up.url, enable_context_vars: true,
          version_data: ext({ transform_headers: [{ path: '/change', method: 'GET', delete_headers: [], add_headers: { 'X-Path': '$tyk_context.path' } }] }),
        }),
        {
          name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: ext(paths, globals),
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true },
        },
        keylessApi({
          api_id: 'inj', listen_path: '/inj/', target_url: up.url,
          response_processors: [{ name: 'header_injector', options: { add_headers: { 'X-Injected': 'yes' }, remove_headers: ['X-Keep'] } }],
        }),
        keylessApi({
          api_id: 'off', listen_path: '/off/', target_url: up.url,
          version_data: ext({}, { global_headers: { 'X-Global': 'g' }, global_headers_disabled: true }),
        }),
      ],
    });
    const r = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', meta_data: { tier: 'gold', n: 5, big: 123456789, frac: 0.1, list: ['a b', '', 'c'], flag: true },
      access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } },
    });
    assert.equal(r.status, 200, r.text);
    key = JSON.parse(r.text).key;
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('global headers are removed and added on every path, with canonical names', T(async () => {
    const r = await gw.get('/tx/other', { headers: { 'X-Remove-Me': '1', 'X-Delete': 'stays here' } });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.text);
    assert.equal(seen.headers['x-global'], 'g');
    assert.equal(seen.headers['x-global-2'], 'g2');
    assert.equal(seen.headers['x-remove-me'], undefined);
    assert.equal(seen.headers['x-delete'], 'stays here', 'transform_headers only on its path');
    assert.ok(seen.raw.includes('X-Global'), `canonical name sent: ${seen.raw}`);
    assert.equal(seen.headers['x-added'], undefined);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  }));

  it('transform_headers: delete then add (replacing what the client sent); $tyk_context is "" without enable_context_vars', T(async () => {
    const r = await gw.get('/tx/change', { headers: { 'X-Delete': 'x', 'X-Added': 'client value' } });
    const seen = JSON.parse(r.text);
    assert.equal(seen.headers['x-delete'], undefined);
    assert.equal(seen.headers['x-forwarded-for'], undefined, 'a deleted X-Forwarded-For is not re-added by the proxy');
    assert.equal(seen.headers['x-global-2'], undefined, 'endpoint delete_headers run after globals');
    assert.equal(seen.headers['x-added'], 'a');
    assert.deepEqual(headerValues(pairs(seen.raw), 'x-added'), ['a'], 'Set, not Add');
    assert.ok(seen.raw.includes('X-Added'));
    assert.equal(seen.headers['x-path'], '');
    assert.equal(seen.headers['x-tier'], 'tier=', 'no session: $tyk_meta is ""');
  }));

  it('$tyk_context values with enable_context_vars', T(async () => {
    const seen = JSON.parse((await gw.get('/ctx/change')).text);
    assert.equal(seen.headers['x-path'], '/ctx/change');
  }));

  it('$tyk_meta values come from the key\'s meta_data (numbers as Tyk prints them)', T(async () => {
    const r = await gw.get('/keyed/change', { headers: { Authorization: key } });
    assert.equal(r.status, 200, r.text);
    const seen = JSON.parse(r.text);
    assert.equal(seen.headers['x-tier'], 'tier=gold');
    assert.equal(seen.headers['x-num'], '5');
    assert.equal(seen.headers['x-big'], '123456790', 'float32 precision, no exponent');
    assert.equal(seen.headers['x-frac'], '0.1');
    assert.equal(seen.headers['x-list'], 'a+b,c', 'lists: non-empty items, query-escaped');
    assert.equal(seen.headers['x-flag'], '[]', 'booleans have no text form');
  }));

  it('response headers: endpoint delete/add, then global remove/add', T(async () => {
    const r = await gw.get('/tx/change');
    assert.equal(r.headers['x-up-secret'], undefined);
    assert.equal(r.headers['x-resp'], 'r');
    assert.equal(r.headers['x-global-resp'], '1');
    assert.equal(r.headers['x-powered-by'], undefined);
    assert.equal(r.headers['x-keep'], 'kept');
    assert.ok(r.rawHeaders.includes('X-Resp'), 'canonical response header name');
    const other = await gw.get('/tx/other');
    assert.equal(other.headers['x-up-secret'], 's3cr3t');
    assert.equal(other.headers['x-global-resp'], '1');
  }));

  it('response_processors header_injector', T(async () => {
    const r = await gw.get('/inj/x');
    assert.equal(r.headers['x-injected'], 'yes');
    assert.equal(r.headers['x-keep'], undefined);
  }));

  it('global_headers_disabled turns the globals off', T(async () => {
    const seen = JSON.parse((await gw.get('/off/x')).text);
    assert.equal(seen.headers['x-global'], undefined);
  }));

  it('error replies from the gateway do not get response headers', T(async () => {
    const r = await gw.get('/keyed/change');
    assert.equal(r.status, 401);
    assert.equal(r.headers['x-global-resp'], undefined);
  }));
});

function pairs(raw) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}
