// SPDX-License-Identifier: Apache-2.0
// Listen-path routing (spec/gateway.md §2.3, §2.6 "Listen-path routing", §16).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

describe('listen-path routing', () => {
  let gw, a, b, c;
  const T = withLogs(() => gw);

  before(async () => {
    a = await startUpstream(undefined, { name: 'a' });
    b = await startUpstream(undefined, { name: 'b' });
    c = await startUpstream(undefined, { name: 'c' });
    gw = await startGateway({
      conf: { enable_custom_domains: true },
      apis: [
        // longest listen path first: /foo-bar must win over /foo
        keylessApi({ api_id: 'short', listen_path: '/foo', target_url: a.url }),
        keylessApi({ api_id: 'long', listen_path: '/foo-bar', target_url: b.url }),
        // path joining
        keylessApi({ api_id: 'strip', listen_path: '/x/', target_url: `${a.url}/base` }),
        keylessApi({ api_id: 'nostrip', listen_path: '/keep/', target_url: `${a.url}/base`, strip_listen_path: false }),
        keylessApi({ api_id: 'slash', listen_path: '/ts/', target_url: `${a.url}/base/` }),
        keylessApi({ api_id: 'nopath', listen_path: '/np/', target_url: a.url }),
        // mux template in the listen path
        keylessApi({ api_id: 'tmpl', listen_path: '/users/{id}/orders/', target_url: `${c.url}/svc` }),
        // custom domains: the domain API and a domain-less API on the same path
        keylessApi({ api_id: 'dom', listen_path: '/dom/', target_url: b.url, domain: 'api.example.test' }),
        keylessApi({ api_id: 'nodom', listen_path: '/dom/', target_url: c.url }),
        // internal APIs are not routed publicly
        keylessApi({ api_id: 'internal1', listen_path: '/internal/', target_url: a.url, internal: true }),
        // inactive APIs are not loaded (Tyk docs: "an inactive API will not [be loaded], resulting in a 404")
        keylessApi({ api_id: 'inactive1', listen_path: '/inactive/', target_url: a.url, active: false }),
        // invalid definitions are skipped, the rest load
        { file: 'broken.json', content: '{"api_id": "broken", "proxy": {"listen_path": "/broken/", ' },
        keylessApi({ api_id: 'emptylp', listen_path: '', target_url: a.url }),
        keylessApi({ api_id: 'spacelp', listen_path: '/has space/', target_url: a.url }),
        keylessApi({ api_id: 'survivor', listen_path: '/survivor/', target_url: c.url }),
        // a second API on the same listen path is moved to "<listen path>-<api_id>"
        keylessApi({ api_id: 'zdup', listen_path: '/survivor/', target_url: a.url }),
      ],
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([a?.close(), b?.close(), c?.close()]);
  });

  async function via(path, up, opts = {}) {
    up.reset();
    const r = await gw.get(path, opts);
    return { r, rec: up.requests[0] };
  }

  it('longest listen path wins (/foo-bar over /foo)', T(async () => {
    const r1 = await gw.get('/foo-bar/x');
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json().upstream, 'b');
    assert.equal(r1.json().url, '/x');
    const r2 = await gw.get('/foo/x');
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json().upstream, 'a');
    assert.equal(r2.json().url, '/x');
  }));

  it('listen path is a plain prefix without enable_strict_routes (/foo matches /foobar)', T(async () => {
    const r = await gw.get('/foobar');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().upstream, 'a');
  }));

  it('strip_listen_path joins onto the target path and keeps the query', T(async () => {
    const { r, rec } = await via('/x/a/b?q=1&r=%20x', a);
    assert.equal(r.status, 200, r.text);
    assert.equal(rec.url, '/base/a/b?q=1&r=%20x');
  }));

  it('strip_listen_path=false keeps the listen path after the target path', T(async () => {
    const { r, rec } = await via('/keep/a?z=9', a);
    assert.equal(r.status, 200, r.text);
    assert.equal(rec.url, '/base/keep/a?z=9');
  }));

  it('target path with a trailing slash gets a single slash', T(async () => {
    const { r, rec } = await via('/ts/a/b', a);
    assert.equal(r.status, 200, r.text);
    assert.equal(rec.url, '/base/a/b');
  }));

  it('target without a path', T(async () => {
    const { r, rec } = await via('/np/a/b?x=1', a);
    assert.equal(r.status, 200, r.text);
    assert.equal(rec.url, '/a/b?x=1');
    const { r: r2, rec: rec2 } = await via('/np/', a);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(rec2.url, '/');
  }));

  it('listen path with a {id} segment routes and strips the matched prefix', T(async () => {
    const { r, rec } = await via('/users/42/orders/list?all=1', c);
    assert.equal(r.status, 200, r.text);
    assert.equal(rec.url, '/svc/list?all=1');
    const { r: r2, rec: rec2 } = await via('/users/abc-7/orders/9', c);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(rec2.url, '/svc/9');
  }));

  it('every API is also mounted on /<api_id>/', T(async () => {
    const { r, rec } = await via('/survivor/ping', c);
    assert.equal(r.status, 200, r.text);
    assert.ok(rec, 'survivor upstream got the request');
    c.reset();
    const r2 = await gw.get('/survivor/hello?x=1');
    assert.equal(r2.status, 200);
    const { r: r3, rec: rec3 } = await via('/nopath/q?k=v', a);
    assert.equal(r3.status, 200, r3.text);
    assert.ok(rec3, '/<api_id>/ mount reached the upstream');
    assert.match(rec3.url, /\/q\?k=v$/);
  }));

  it('unknown path → 404', T(async () => {
    const r = await gw.get('/no-such-api/x');
    assert.equal(r.status, 404);
  }));

  it('custom domains: Host selects the domain API, other hosts the domain-less one', T(async () => {
    const r1 = await gw.get('/dom/x', { headers: { Host: 'api.example.test' } });
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json().upstream, 'b');
    const r2 = await gw.get('/dom/x', { headers: { Host: 'other.example.test' } });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json().upstream, 'c');
  }));

  it('internal APIs are not reachable from outside', T(async () => {
    a.reset();
    const r1 = await gw.get('/internal/x');
    assert.equal(r1.status, 404);
    const r2 = await gw.get('/internal1/x');
    assert.equal(r2.status, 404);
    assert.equal(a.requests.length, 0);
  }));

  it('a broken API file is skipped and the other APIs load', T(async () => {
    const r = await gw.get('/broken/x');
    assert.equal(r.status, 404);
    const ok = await gw.get('/survivor/x');
    assert.equal(ok.status, 200);
  }));

  it('a duplicate listen path: the first API keeps it, the later one moves to -<api_id>', T(async () => {
    a.reset();
    c.reset();
    assert.equal((await gw.get('/survivor/x')).status, 200);
    assert.equal(c.requests.length, 1);
    assert.equal(a.requests.length, 0);
    assert.equal((await gw.get('/survivor-zdup/y')).status, 200);
    assert.equal(a.requests.length, 1);
    assert.equal(a.requests[0].url, '/y');
  }));

  it('APIs with an empty listen path or a space in it are skipped', T(async () => {
    assert.equal((await gw.get('/emptylp/x')).status, 404);
    assert.equal((await gw.get('/spacelp/x')).status, 404);
    assert.equal((await gw.get('/has%20space/x')).status, 404);
    assert.equal((await gw.get('/survivor/x')).status, 200);
  }));

  it('an inactive API ("active": false) is not served: 404 on its listen path and its id', T(async () => {
    a.reset();
    assert.equal((await gw.get('/inactive/x')).status, 404);
    assert.equal((await gw.get('/inactive1/x')).status, 404);
    assert.equal(a.requests.length, 0);
  }));
});
