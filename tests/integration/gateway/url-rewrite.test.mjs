// SPDX-License-Identifier: Apache-2.0
// extended_paths.url_rewrites as Tyk applies them: match_pattern against the URL as received
// (listen path and query included), $N captures, triggers (headers, query values, path parts,
// session meta data, request context, payload; any/all; reverse) with their
// $tyk_context.trigger-<n>-<name>-<i> values, $tyk_meta, a full URL sending the request to
// another upstream, and tyk:// looping (self, by name, by id) which reaches internal endpoints,
// with Tyk's loop limit and errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const ext = (paths) => ({
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } },
});
const body = (r) => JSON.parse(r.text);

describe('url_rewrites', () => {
  let gw, up, up2;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream(null, { name: 'one' });
    up2 = await startUpstream(null, { name: 'two' });
    gw = await startGateway({
      apis: [
        keylessApi({
          api_id: 'rw', listen_path: '/rw/', target_url: up.url,
          version_data: ext({
            url_rewrites: [
              { path: '/basic/{id}', method: 'GET', match_pattern: '/rw/basic/(\\w+)', rewrite_to: '/new/$1?id=$1' },
              { path: '/qs', method: 'GET', match_pattern: '(.*)', rewrite_to: '$1&added=yes' },
              {
                path: '/trig', method: 'GET', match_pattern: '/rw/trig', rewrite_to: '/default',
                triggers: [
                  { on: 'any', options: { header_matches: { 'x-route': { match_rx: '^beta-(\\w+)$' } } },
                    rewrite_to: '/hdr/$tyk_context.trigger-0-X-Route-0-0' },
                  { on: 'all', options: {
                    query_val_matches: { q: { match_rx: '^(\\d+)$' } },
                    path_part_matches: { part: { match_rx: '^tr(ig)$' } },
                  }, rewrite_to: '/all/$tyk_context.trigger-1-q-0-0/$tyk_context.trigger-1-part-0-0' },
                  { on: 'any', options: { header_matches: { 'x-not': { match_rx: '^no$', reverse: true } } },
                    rewrite_to: '/reverse/$tyk_context.trigger-2-X-Not-0' },
                ],
              },
              {
                path: '/pay', method: 'POST', match_pattern: '/rw/pay', rewrite_to: '/nopay',
                triggers: [{ on: 'any', options: { payload_matches: { match_rx: '"kind":"(\\w+)"' } },
                  rewrite_to: '/kind/$tyk_context.trigger-0-payload-0-0/$tyk_context.trigger-0-payload' }],
              },
              { path: '/away', method: 'GET', match_pattern: '/rw/away(.*)', rewrite_to: `${up2.url}/elsewhere$1` },
              { path: '/loop/{x}', method: 'GET', match_pattern: '/rw/loop/(\\w+)', rewrite_to: 'tyk://self/inner/$1' },
              { path: '/cross', method: 'GET', match_pattern: '/rw/cross', rewrite_to: 'tyk://Target API/tgt/private?method=POST' },
              { path: '/byid', method: 'GET', match_pattern: '/rw/byid', rewrite_to: 'tyk://tgt/tgt/open' },
              { path: '/nowhere', method: 'GET', match_pattern: '/rw/nowhere', rewrite_to: 'tyk://nope/x' },
              { path: '/forever', method: 'GET', match_pattern: 'forever', rewrite_to: 'tyk://self/forever' },
              { path: '/limited', method: 'GET', match_pattern: 'limited', rewrite_to: 'tyk://self/limited?loop_limit=2' },
              { path: '/mocked', method: 'GET', match_pattern: '/rw/mocked', rewrite_to: '/not-mocked' },
            ],
            internal: [{ path: '/inner/{x}', method: 'GET' }],
            mock_response: [{ path: '/mocked', method: 'GET', code: 200, body: 'mocked' }],
          }),
        }),
        keylessApi({
          api_id: 'tgt', name: 'Target API', listen_path: '/tgt/', target_url: up2.url, internal: true,
          version_data: ext({ internal: [{ path: '/private', method: 'POST' }] }),
        }),
        keylessApi({
          api_id: 'ctx', listen_path: '/ctx/', target_url: up.url, enable_context_vars: true,
          version_data: ext({
            url_rewrites: [{
              path: '/', method: 'GET', match_pattern: '/ctx/(.*)', rewrite_to: '/plain/$1',
              triggers: [{ on: 'any', options: { request_context_matches: { path: { match_rx: '^/ctx/hit/(\\w+)$' } } },
                rewrite_to: '/hit/$tyk_context.trigger-0-path-0?from=$tyk_context.path' }],
            }],
          }),
        }),
        {
          name: 'meta', api_id: 'meta', org_id: 'default', use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: ext({
            url_rewrites: [{
              path: '/m', method: 'GET', match_pattern: '/meta/m', rewrite_to: '/plain',
              triggers: [{ on: 'any', options: { session_meta_matches: { tier: { match_rx: '^gold-(\\w+)$' } } },
                rewrite_to: '/tier/$tyk_context.trigger-0-tier-0/$tyk_meta.region/$tyk_meta.level/$tyk_meta.none' }],
            }],
          }),
          proxy: { listen_path: '/meta/', target_url: up.url, strip_listen_path: true },
        },
        keylessApi({
          api_id: 'badrx', listen_path: '/badrx/', target_url: up.url,
          version_data: ext({ url_rewrites: [{ path: '/x', method: 'GET', match_pattern: '/x(', rewrite_to: '/y' }] }),
        }),
        keylessApi({
          api_id: 'badtrig', listen_path: '/badtrig/', target_url: up.url,
          version_data: ext({ url_rewrites: [{ path: '/x', method: 'GET', match_pattern: '/x', rewrite_to: '/y',
            triggers: [{ on: 'any', options: { header_matches: { h: { match_rx: '[' } } }, rewrite_to: '/z' }] }] }),
        }),
      ],
    });
    const r = await gw.admin('POST', '/tyk/keys/metakey', {
      org_id: 'default', meta_data: { tier: 'gold-plus', region: 'eu west', level: 3 },
      access_rights: { meta: { api_id: 'meta', api_name: 'meta', versions: ['Default'] } },
    });
    assert.equal(r.status, 200, r.text);
  });
  after(async () => { await gw?.stop(); await up?.close(); await up2?.close(); });

  const upstreamUrl = async (p, opts) => {
    const r = await gw.get(p, opts);
    assert.equal(r.status, 200, `${p}: ${r.status} ${r.text}`);
    return body(r);
  };

  it('match_pattern captures fill $N; the whole URL is replaced (the query only if rewrite_to has one)', T(async () => {
    assert.equal((await upstreamUrl('/rw/basic/abc?x=1')).url, '/new/abc?id=abc');
    assert.equal((await upstreamUrl('/rw/qs?a=1')).url, '/qs?a=1&added=yes', '$1 holds path and query');
    assert.equal((await upstreamUrl('/rw/other?a=1')).url, '/other?a=1', 'no entry: untouched');
  }));

  it('triggers: header (any), query + path part (all), reverse, in order; else rewrite_to', T(async () => {
    assert.equal((await upstreamUrl('/rw/trig', { headers: { 'X-Route': 'beta-two' } })).url, '/hdr/two');
    assert.equal((await upstreamUrl('/rw/trig?q=12')).url, '/all/12/ig');
    assert.equal((await upstreamUrl('/rw/trig?q=abc', { headers: { 'X-Not': 'yes' } })).url, '/reverse/',
      'reverse: a value that does not match fires the trigger (no capture)');
    assert.equal((await upstreamUrl('/rw/trig?q=abc', { headers: { 'X-Not': 'no' } })).url, '/default');
    assert.equal((await upstreamUrl('/rw/trig')).url, '/default', 'reverse needs the header to be there');
  }));

  it('payload trigger reads the body, which still reaches the upstream whole', T(async () => {
    const payload = '{"kind":"fruit","n":1}';
    const r = await upstreamUrl('/rw/pay', { method: 'POST', body: payload, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.url, '/kind/fruit/%22kind%22%3A%22fruit%22', 'context values are query-escaped');
    assert.equal(r.method, 'POST');
    assert.equal(r.bodyLength, payload.length);
    assert.equal((await upstreamUrl('/rw/pay', { method: 'POST', body: '{}' })).url, '/nopay');
  }));

  it('request context (enable_context_vars) and session meta data triggers, $tyk_meta values', T(async () => {
    const hit = await upstreamUrl('/ctx/hit/abc');
    assert.equal(hit.url, '/hit/abc?from=%2Fctx%2Fhit%2Fabc');
    assert.equal((await upstreamUrl('/ctx/miss')).url, '/plain/miss');
    const m = await upstreamUrl('/meta/m', { headers: { Authorization: 'metakey' } });
    assert.equal(m.url, '/tier/plus/eu+west/3/', '$tyk_meta: escaped, numbers as Go prints them, unknown → ""');
  }));

  it('a full URL sends the request to that host, with its path and Host header', T(async () => {
    const n1 = up.requests.length;
    const r = await upstreamUrl('/rw/away/x?y=2');
    assert.equal(r.upstream, 'two');
    assert.equal(r.url, '/elsewhere/x?y=2');
    assert.equal(r.headers.host, new URL(up2.url).host);
    assert.equal(up.requests.length, n1, 'the API target was not called');
  }));

  it('middlewares after URLRewrite still see the original path (Tyk applies it at the end)', T(async () => {
    const r = await gw.get('/rw/mocked');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'mocked');
  }));

  it('tyk://self loops through the API again and reaches its internal endpoint; the query is kept', T(async () => {
    assert.equal((await gw.get('/rw/inner/abc')).status, 403, 'internal: not reachable directly');
    const r = await upstreamUrl('/rw/loop/abc?keep=1');
    assert.equal(r.upstream, 'one');
    assert.equal(r.url, '/inner/abc?keep=1');
  }));

  it('tyk://<api name> and tyk://<api id> reach an internal API; ?method= sets the method', T(async () => {
    assert.equal((await gw.get('/tgt/open')).status, 404, 'internal APIs are not routed');
    const r = await upstreamUrl('/rw/cross');
    assert.equal(r.upstream, 'two');
    assert.equal(r.url, '/private');
    assert.equal(r.method, 'POST');
    const byId = await upstreamUrl('/rw/byid');
    assert.equal(byId.upstream, 'two');
    assert.equal(byId.url, '/open');
  }));

  it('an unknown loop target and endless loops answer 500 with Tyk messages', T(async () => {
    const a = await gw.get('/rw/nowhere');
    assert.equal(a.status, 500);
    assert.deepEqual(body(a), { error: "Can't detect loop target" });
    const n = up.requests.length;
    const b = await gw.get('/rw/forever');
    assert.equal(b.status, 500);
    assert.deepEqual(body(b), { error: 'Loop level too deep. Found more than 5 loops in single request' });
    const c = await gw.get('/rw/limited');
    assert.equal(c.status, 500);
    assert.deepEqual(body(c), { error: 'Loop level too deep. Found more than 2 loops in single request' });
    assert.equal(up.requests.length, n, 'nothing reached the upstream');
  }));

  it('a bad match_pattern or trigger regex rejects the API at load, naming the field', T(async () => {
    assert.equal((await gw.get('/badrx/x')).status, 404);
    assert.equal((await gw.get('/badtrig/x')).status, 404);
    assert.match(gw.logs(), /API badrx: version Default: extended_paths\.url_rewrites\[0\]\.match_pattern "\/x\(": invalid regular expression/);
    assert.match(gw.logs(), /API badtrig: .*url_rewrites\[0\]\.triggers\[0\]\.options\.header_matches\.h\.match_rx "\[": invalid regular expression/);
  }));
});
