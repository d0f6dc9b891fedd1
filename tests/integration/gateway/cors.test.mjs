// SPDX-License-Identifier: Apache-2.0
// CORS (Tyk's CORS middleware on rs/cors v1.11): pre-flights answered 204 by the gateway,
// Access-Control-* headers on proxied and error responses, disallowed origins get none,
// options_passthrough hands OPTIONS to the upstream, bad CORS settings reject the API.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
const ACAO = 'access-control-allow-origin';

/* Every value of a response header, in order, from rawHeaders. */
function all(r, name) {
  const out = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    if (r.rawHeaders[i].toLowerCase() === name.toLowerCase()) out.push(r.rawHeaders[i + 1]);
  }
  return out;
}

describe('CORS', () => {
  let gw, up;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream((req, res) => {
      const h = { 'Content-Type': 'application/json' };
      if (req.url.includes('withcors')) {
        h['Access-Control-Allow-Origin'] = 'http://upstream.example';
        h['Access-Control-Allow-Credentials'] = 'false';
        h.Vary = 'Accept-Encoding';
      }
      if (req.method === 'OPTIONS') h['X-Upstream-Options'] = 'yes';
      res.writeHead(200, h);
      res.end(JSON.stringify({ method: req.method, url: req.url }));
    });
    const cors = {
      enable: true,
      allowed_origins: ['http://example.com', 'https://*.example.org'],
      allowed_methods: ['GET', 'POST'],
      allowed_headers: ['Content-Type', 'Authorization'],
      exposed_headers: ['x-rate-limit', 'X-Request-Id'],
      allow_credentials: true,
      max_age: 86400,
    };
    gw = await startGateway({
      apis: [
        keylessApi({ api_id: 'cors', listen_path: '/cors/', target_url: up.url, CORS: cors }),
        keylessApi({ api_id: 'open', listen_path: '/open/', target_url: up.url, CORS: { enable: true } }),
        keylessApi({ api_id: 'off', listen_path: '/off/', target_url: up.url, CORS: { ...cors, enable: false } }),
        {
          name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' }, CORS: cors,
          version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true },
        },
        {
          name: 'pass', api_id: 'pass', org_id: 'default', use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' }, CORS: { ...cors, options_passthrough: true },
          version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
          proxy: { listen_path: '/pass/', target_url: up.url, strip_listen_path: true },
        },
        keylessApi({ api_id: 'badcors', listen_path: '/badcors/', target_url: up.url,
          CORS: { enable: true, allowed_origins: 'http://example.com' } }),
        keylessApi({ api_id: 'badcors2', listen_path: '/badcors2/', target_url: up.url,
          CORS: { enable: true, allowed_methods: ['GET', 7] } }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  const preflight = (path, origin, method, headers) => gw.get(path, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method,
      ...(headers !== undefined ? { 'Access-Control-Request-Headers': headers } : {}) },
  });

  it('answers an allowed pre-flight itself: 204, echoed origin/method/headers, credentials, max-age', T(async () => {
    up.reset();
    const r = await preflight('/cors/items', 'http://example.com', 'POST', 'authorization,content-type');
    assert.equal(r.status, 204);
    assert.equal(r.headers[ACAO], 'http://example.com');
    assert.equal(r.headers['access-control-allow-methods'], 'POST');
    assert.equal(r.headers['access-control-allow-headers'], 'authorization,content-type');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-max-age'], '86400');
    assert.deepEqual(all(r, 'vary'), [PREFLIGHT_VARY]);
    assert.equal(r.headers['content-length'], undefined, '204 carries no Content-Length');
    assert.equal(r.headers['access-control-expose-headers'], undefined);
    assert.equal(r.body.length, 0);
    assert.equal(up.requests.length, 0, 'the upstream is not called for a pre-flight');
  }));

  it('matches origins case-insensitively and with one wildcard', T(async () => {
    let r = await preflight('/cors/', 'HTTP://EXAMPLE.COM', 'GET');
    assert.equal(r.headers[ACAO], 'HTTP://EXAMPLE.COM', 'the Origin is echoed as sent');
    r = await preflight('/cors/', 'https://api.eu.example.org', 'GET');
    assert.equal(r.headers[ACAO], 'https://api.eu.example.org');
    r = await preflight('/cors/', 'https://example.org', 'GET');
    assert.equal(r.headers[ACAO], undefined, 'the wildcard needs prefix and suffix to fit');
    r = await preflight('/cors/', 'http://api.example.org', 'GET');
    assert.equal(r.headers[ACAO], undefined, 'scheme is part of the pattern');
  }));

  it('refused pre-flights still get 204 and Vary, but no Access-Control-Allow-*', T(async () => {
    up.reset();
    for (const [origin, method, hdrs, why] of [
      ['http://evil.com', 'GET', undefined, 'origin'],
      ['http://example.com', 'DELETE', undefined, 'method'],
      ['http://example.com', 'get', undefined, 'methods match case-sensitively'],
      ['http://example.com', 'POST', 'x-custom', 'header not allowed'],
      ['http://example.com', 'POST', 'content-type,authorization', 'requested headers must be sorted'],
      ['http://example.com', 'POST', 'Authorization', 'requested headers must be lower-case'],
    ]) {
      const r = await preflight('/cors/x', origin, method, hdrs);
      assert.equal(r.status, 204, why);
      assert.equal(r.headers[ACAO], undefined, why);
      assert.equal(r.headers['access-control-allow-methods'], undefined, why);
      assert.deepEqual(all(r, 'vary'), [PREFLIGHT_VARY], why);
    }
    assert.equal(up.requests.length, 0);
  }));

  it('adds Allow-Origin, Expose-Headers and Credentials to a proxied response', T(async () => {
    up.reset();
    const r = await gw.get('/cors/items', { headers: { Origin: 'http://example.com' } });
    assert.equal(r.status, 200);
    assert.equal(r.json().url, '/items');
    assert.equal(r.headers[ACAO], 'http://example.com');
    assert.equal(r.headers['access-control-expose-headers'], 'X-Rate-Limit, X-Request-Id');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.deepEqual(all(r, 'vary'), ['Origin']);
    assert.equal(up.requests.length, 1);
  }));

  it("replaces the upstream's own CORS headers and keeps its Vary", T(async () => {
    const r = await gw.get('/cors/withcors', { headers: { Origin: 'https://a.example.org' } });
    assert.equal(r.status, 200);
    assert.deepEqual(all(r, 'access-control-allow-origin'), ['https://a.example.org']);
    assert.deepEqual(all(r, 'access-control-allow-credentials'), ['true']);
    assert.deepEqual(all(r, 'vary').sort(), ['Accept-Encoding', 'Origin']);
  }));

  it('a disallowed origin or method is still proxied, without CORS headers', T(async () => {
    up.reset();
    let r = await gw.get('/cors/items', { headers: { Origin: 'http://evil.com' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers[ACAO], undefined);
    assert.deepEqual(all(r, 'vary'), ['Origin']);
    r = await gw.get('/cors/items', { method: 'DELETE', headers: { Origin: 'http://example.com' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers[ACAO], undefined);
    r = await gw.get('/cors/withcors', { headers: { Origin: 'http://evil.com' } });
    assert.equal(r.headers[ACAO], 'http://upstream.example', "the upstream's header passes when the gateway sets none");
    r = await gw.get('/cors/items');
    assert.equal(r.headers[ACAO], undefined);
    assert.deepEqual(all(r, 'vary'), ['Origin'], 'Vary: Origin even without an Origin');
    assert.equal(up.requests.length, 4);
  }));

  it('a plain OPTIONS request (no Access-Control-Request-Method) is answered 200 empty', T(async () => {
    up.reset();
    const r = await gw.get('/cors/items', { method: 'OPTIONS', headers: { Origin: 'http://example.com' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '0');
    assert.equal(r.headers[ACAO], 'http://example.com');
    assert.equal(up.requests.length, 0);
  }));

  it('defaults: every origin ("*"), methods GET/POST/HEAD, headers accept/content-type/x-requested-with', T(async () => {
    let r = await gw.get('/open/', { headers: { Origin: 'http://anything.test' } });
    assert.equal(r.headers[ACAO], '*');
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
    r = await preflight('/open/', 'http://anything.test', 'HEAD', 'accept,content-type,x-requested-with');
    assert.equal(r.headers[ACAO], '*');
    assert.equal(r.headers['access-control-allow-headers'], 'accept,content-type,x-requested-with');
    assert.equal(r.headers['access-control-max-age'], undefined);
    r = await preflight('/open/', 'http://anything.test', 'PUT');
    assert.equal(r.headers[ACAO], undefined);
  }));

  it('CORS headers are on error responses too; pre-flights skip authentication', T(async () => {
    let r = await gw.get('/keyed/x', { headers: { Origin: 'http://example.com' } });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json(), { error: 'Authorization field missing' });
    assert.equal(r.headers[ACAO], 'http://example.com');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    r = await preflight('/keyed/x', 'http://example.com', 'GET');
    assert.equal(r.status, 204);
    assert.equal(r.headers[ACAO], 'http://example.com');
  }));

  it('options_passthrough: OPTIONS skip every middleware (auth too) and reach the upstream', T(async () => {
    up.reset();
    const r = await preflight('/pass/withcors', 'http://example.com', 'POST');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-upstream-options'], 'yes');
    assert.equal(r.headers[ACAO], 'http://upstream.example', 'only the upstream answers CORS');
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0].method, 'OPTIONS');
    const g = await gw.get('/pass/withcors', { headers: { Origin: 'http://example.com' } });
    assert.equal(g.status, 401, 'other methods still authenticate');
    assert.equal(g.headers[ACAO], 'http://example.com');
  }));

  it('CORS disabled: no headers, OPTIONS proxied', T(async () => {
    up.reset();
    let r = await gw.get('/off/', { headers: { Origin: 'http://example.com' } });
    assert.equal(r.headers[ACAO], undefined);
    assert.equal(r.headers.vary, undefined);
    r = await preflight('/off/', 'http://example.com', 'GET');
    assert.equal(r.headers['x-upstream-options'], 'yes');
    assert.equal(up.requests.length, 2);
  }));

  it('a malformed CORS object rejects the API with a message naming the field', T(async () => {
    assert.equal((await gw.get('/badcors/')).status, 404);
    assert.equal((await gw.get('/badcors2/')).status, 404);
    assert.match(gw.logs(), /API badcors: CORS\.allowed_origins: must be a list of strings/);
    assert.match(gw.logs(), /API badcors2: CORS\.allowed_methods\[1\]: must be a string/);
  }));
});
