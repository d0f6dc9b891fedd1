// SPDX-License-Identifier: Apache-2.0
// extended_paths.method_transforms: the upstream gets to_method (case-insensitive in the
// definition); a method Tyk does not allow answers 405 "Method not allowed"; middlewares after
// TransformMethod still match the method the client used; a URL rewrite and a method transform
// on the same request both apply.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const ext = (paths) => ({
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } },
});
const body = (r) => JSON.parse(r.text);

describe('method_transforms', () => {
  let gw, up;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      apis: [keylessApi({
        api_id: 'mt', listen_path: '/mt/', target_url: up.url,
        version_data: ext({
          method_transforms: [
            { path: '/to-post', method: 'GET', to_method: 'post' },
            { path: '/to-put', method: 'POST', to_method: 'PUT' },
            { path: '/to-head', method: 'GET', to_method: 'HEAD' },
            { path: '/mocked', method: 'GET', to_method: 'DELETE' },
            { path: '/both', method: 'GET', to_method: 'PATCH' },
          ],
          url_rewrites: [{ path: '/both', method: 'GET', match_pattern: '/mt/both', rewrite_to: '/rewritten' }],
          mock_response: [{ path: '/mocked', method: 'GET', code: 200, body: 'mocked' }],
        }),
      })],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('the upstream gets the new method; the body goes along', T(async () => {
    const a = await gw.get('/mt/to-post');
    assert.equal(a.status, 200);
    assert.equal(body(a).method, 'POST');
    const b = await gw.get('/mt/to-put', { method: 'POST', body: 'hello' });
    assert.equal(body(b).method, 'PUT');
    assert.equal(body(b).bodyLength, 5);
    assert.equal(body(await gw.get('/mt/to-put')).method, 'GET', 'another method: untouched');
  }));

  it('a method Tyk does not allow answers 405', T(async () => {
    const n = up.requests.length;
    const r = await gw.get('/mt/to-head');
    assert.equal(r.status, 405);
    assert.deepEqual(body(r), { error: 'Method not allowed' });
    assert.equal(up.requests.length, n);
  }));

  it('later middlewares match the original method; rewrite and transform combine', T(async () => {
    const m = await gw.get('/mt/mocked');
    assert.equal(m.text, 'mocked', 'mock_response for GET still answers');
    const both = body(await gw.get('/mt/both'));
    assert.equal(both.method, 'PATCH');
    assert.equal(both.url, '/rewritten');
  }));
});
