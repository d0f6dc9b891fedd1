// SPDX-License-Identifier: Apache-2.0
// Native plugins (include/turnpike/plugin.h): the example plugin is compiled here with cc
// against the public header, loaded with custom_middleware driver "native", and its pre /
// auth / post_key_auth / post / response hooks are checked with real requests. Broken plugins
// (missing symbol, wrong ABI version, no ABI symbol, bad path) and Go plugins reject only their
// own API, with a message naming it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, keylessApi, withLogs, makeTempDir, REPO } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

function cc(dir, name, source) {
  const src = path.join(dir, `${name}.c`);
  const out = path.join(dir, `${name}.so`);
  fs.writeFileSync(src, source);
  execFileSync('cc', ['-shared', '-fPIC', '-O1', '-Wall', '-Werror', `-I${path.join(REPO, 'include')}`, '-o', out, src]);
  return out;
}

const hooks = (so, extra = {}) => ({
  driver: 'native',
  pre: [{ name: 'add_header_pre', path: so }],
  post: [{ name: 'add_header_post', path: so }],
  response: [{ name: 'add_header_response', path: so }],
  ...extra,
});

describe('native plugins', () => {
  let gw, up, dir, so;
  const T = withLogs(() => gw);

  before(async () => {
    dir = makeTempDir('turnpike-native-');
    so = cc(dir, 'add_header', fs.readFileSync(path.join(REPO, 'examples/plugins/add_header.c'), 'utf8'));
    const abi999 = cc(dir, 'abi999', `#include <turnpike/plugin.h>
      uint32_t turnpike_plugin_abi_version(void) { return 999; }
      tp_result hook(tp_req *r) { (void)r; return TP_CONTINUE; }`);
    const noabi = cc(dir, 'noabi', `#include <turnpike/plugin.h>
      tp_result hook(tp_req *r) { (void)r; return TP_CONTINUE; }`);
    const polDir = path.join(dir, 'policies');
    fs.mkdirSync(polDir);
    fs.writeFileSync(path.join(polDir, 'gold.json'), JSON.stringify({
      id: 'gold', name: 'Gold', org_id: 'default', active: true, rate: 2, per: 60, quota_max: -1,
      access_rights: { nat: { api_id: 'nat', api_name: 'nat', versions: ['Default'] } },
    }));
    up = await startUpstream((req, res, rec) => {
      if (req.url.startsWith('/teapot')) {
        res.writeHead(418, { 'X-Secret': 'hidden', 'Content-Type': 'text/plain' });
        res.end('teapot');
        return;
      }
      const out = JSON.stringify({ url: req.url, headers: req.headers, body: rec.body.toString() });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(out);
    });
    gw = await startGateway({
      conf: { policies: { policy_source: 'file', policy_path: polDir } },
      apis: [
        keylessApi({ api_id: 'natpre', listen_path: '/natpre/', target_url: up.url, custom_middleware: hooks(so) }),
        {
          name: 'nat', api_id: 'nat', org_id: 'default', active: true, use_keyless: false,
          custom_plugin_auth_enabled: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: '/nat/', target_url: up.url, strip_listen_path: true },
          custom_middleware: hooks(so, {
            auth_check: { name: 'add_header_auth', path: so },
            post_key_auth: [{ name: 'add_header_post_key_auth', path: so }],
          }),
        },
        keylessApi({ api_id: 'badsym', listen_path: '/badsym/', target_url: up.url,
          custom_middleware: { driver: 'native', pre: [{ name: 'no_such_hook', path: so }] } }),
        keylessApi({ api_id: 'badabi', listen_path: '/badabi/', target_url: up.url,
          custom_middleware: { driver: 'native', post: [{ name: 'hook', path: abi999 }] } }),
        keylessApi({ api_id: 'noabi', listen_path: '/noabi/', target_url: up.url,
          custom_middleware: { driver: 'native', response: [{ name: 'hook', path: noabi }] } }),
        keylessApi({ api_id: 'badpath', listen_path: '/badpath/', target_url: up.url,
          custom_middleware: { driver: 'native', pre: [{ name: 'hook', path: path.join(dir, 'missing.so') }] } }),
        keylessApi({ api_id: 'goplug', listen_path: '/goplug/', target_url: up.url,
          custom_middleware: { driver: 'goplugin', pre: [{ name: 'AddHeader', path: '/x/plugin.so' }] } }),
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pre and post hooks change the request; the response hook changes the answer', T(async () => {
    const r = await gw.get('/natpre/thing', { headers: { 'X-Remove-Me': 'x' } });
    assert.equal(r.status, 200);
    const seen = r.json();
    assert.equal(seen.url, '/thing');
    assert.equal(seen.headers['x-plugin-pre'], 'add_header');
    assert.equal(seen.headers['x-plugin-post'], 'no-session', 'a keyless API has no session');
    assert.equal(seen.headers['x-remove-me'], undefined);
    assert.equal(r.headers['x-upstream-status'], '200');
  }));

  it('post hooks read and replace the request body', T(async () => {
    const r = await gw.get('/natpre/body', { method: 'POST', body: 'abc', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(r.status, 200);
    assert.equal(r.json().body, 'abc+plugin');
    assert.equal(up.requests.at(-1).bodyLength, 10);
  }));

  it('a pre hook rejects with its error, or answers by itself; the upstream is not called', T(async () => {
    const n = up.requests.length;
    const r = await gw.get('/natpre/x?reject=1');
    assert.equal(r.status, 403);
    assert.deepEqual(r.json(), { error: 'Rejected by the add_header plugin' });
    const h = await gw.get('/natpre/x?hello');
    assert.equal(h.status, 200);
    assert.equal(h.headers['x-answered-by'], 'add_header');
    assert.deepEqual(h.json(), { hello: 'from a native plugin' });
    assert.equal(up.requests.length, n);
  }));

  it('the response hook rewrites status and headers', T(async () => {
    const r = await gw.get('/natpre/teapot');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'teapot');
    assert.equal(r.headers['x-upstream-status'], '418');
    assert.equal(r.headers['x-secret'], undefined);
  }));

  it('the auth hook decides, sets the session; post_key_auth and post see its meta data', T(async () => {
    const none = await gw.get('/nat/a');
    assert.equal(none.status, 401);
    assert.deepEqual(none.json(), { error: 'Authorization field missing' });
    const bad = await gw.get('/nat/a', { headers: { 'X-Plugin-Token': 'evil' } });
    assert.equal(bad.status, 403);
    const ok = await gw.get('/nat/a', { headers: { 'X-Plugin-Token': 'good-alice' } });
    assert.equal(ok.status, 200);
    const seen = ok.json();
    assert.equal(seen.headers['x-plugin-user'], 'alice');
    assert.equal(seen.headers['x-plugin-post'], 'add_header');
    assert.equal(ok.headers['x-upstream-status'], '200');
  }));

  it('a session from a policy gets the policy\'s rate limit, counted per key', T(async () => {
    const get = (k) => gw.get('/nat/p', { headers: { 'X-Plugin-Token': k } });
    assert.equal((await get('gold-1')).status, 200);
    assert.equal((await get('gold-1')).status, 200);
    const third = await get('gold-1');
    assert.equal(third.status, 429);
    assert.deepEqual(third.json(), { error: 'Rate Limit Exceeded' });
    assert.equal((await get('gold-2')).status, 200, 'another key has its own allowance');
  }));

  it('hooks run concurrently on every worker', T(async () => {
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      gw.get(`/nat/c${i}`, { headers: { 'X-Plugin-Token': `good-u${i}` } })));
    rs.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.json().headers['x-plugin-user'], `u${i}`);
    });
  }));

  it('a missing symbol, a wrong ABI, no ABI symbol, a bad path or a Go plugin reject only that API', T(async () => {
    for (const id of ['badsym', 'badabi', 'noabi', 'badpath', 'goplug']) {
      assert.equal((await gw.get(`/${id}/x`)).status, 404, id);
    }
    const logs = gw.logs();
    assert.match(logs, /API badsym: custom_middleware\.pre\[0\]: symbol "no_such_hook" not found in .*add_header\.so/);
    assert.match(logs, /API badabi: custom_middleware\.post\[0\] "hook": .*abi999\.so was built for plugin ABI version 999, this gateway has version 1/);
    assert.match(logs, /API noabi: custom_middleware\.response\[0\] "hook": .*noabi\.so does not export turnpike_plugin_abi_version/);
    assert.match(logs, /API badpath: custom_middleware\.pre\[0\] "hook": cannot load .*missing\.so/);
    assert.match(logs, /API goplug: custom_middleware\.driver "goplugin": Go plugins cannot be loaded by Turnpike/);
  }));
});
