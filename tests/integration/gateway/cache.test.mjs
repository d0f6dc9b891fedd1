// SPDX-License-Identifier: Apache-2.0
// Response cache (Tyk's RedisCache): hits served from Redis with x-tyk-cached-response, Tyk's key
// layout and value format (so Tyk and Turnpike share entries), TTLs, cache_by_headers, status
// codes, advance_cache_config (methods, cache_key_regex on the body), upstream cache control,
// DELETE /tyk/cache/{api_id} across gateways (shared Redis, and a separate cache store reached
// through the DeleteAPICache notification), and Redis being away.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis } from '../lib/redis.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

const CACHED = 'x-tyk-cached-response';
const ext = (paths) => ({
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } },
});
const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');

/* Upstream: counts requests per method+path; /missing → 404, /forced → 500 asking to be
 * cached, /ttl → a short TTL in a custom header, POST /search → 201. */
async function countingUpstream() {
  const counts = new Map();
  const up = await startUpstream((req, res, rec) => {
    const path = req.url.split('?')[0];
    const k = `${req.method} ${req.url}`;
    const n = (counts.get(k) || 0) + 1;
    counts.set(k, n);
    let status = 200;
    const headers = { 'Content-Type': 'application/json', 'X-Up': 'yes' };
    if (path.endsWith('/missing')) status = 404;
    if (path.endsWith('/forced')) { status = 500; headers['x-tyk-cache-action-set'] = '1'; }
    if (path.endsWith('/ttl')) headers['x-custom-ttl'] = '1';
    if (path.endsWith('/search') && req.method === 'POST') status = 201;
    const body = JSON.stringify({ n, url: req.url, method: req.method, variant: req.headers['x-variant'] || null,
      body: rec.body ? rec.body.toString() : '' });
    res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  up.count = (method, url) => counts.get(`${method} ${url}`) || 0;
  return up;
}

function apis(target) {
  return [
    keylessApi({
      api_id: 'all', listen_path: '/all/', target_url: target,
      cache_options: { enable_cache: true, cache_timeout: 60, cache_all_safe_requests: true, cache_response_codes: [200] },
    }),
    keylessApi({
      api_id: 'short', listen_path: '/short/', target_url: target,
      cache_options: { enable_cache: true, cache_timeout: 1, cache_all_safe_requests: true },
    }),
    keylessApi({
      api_id: 'byhdr', listen_path: '/byhdr/', target_url: target,
      cache_options: { enable_cache: true, cache_timeout: 60, cache_all_safe_requests: true, cache_by_headers: ['X-Variant'] },
    }),
    keylessApi({
      api_id: 'adv', listen_path: '/adv/', target_url: target,
      cache_options: { enable_cache: true, cache_timeout: 60, cache_response_codes: [200] },
      version_data: ext({
        cache: ['/legacy'],
        advance_cache_config: [
          { path: '/search', method: 'POST', cache_key_regex: '"id":\\s*"[^"]*"', cache_response_codes: [201], timeout: 30 },
        ],
      }),
    }),
    keylessApi({
      api_id: 'upc', listen_path: '/upc/', target_url: target,
      cache_options: { enable_cache: true, cache_timeout: 60, cache_all_safe_requests: true, cache_response_codes: [200],
        enable_upstream_cache_control: true, cache_control_ttl_header: 'x-custom-ttl' },
    }),
    keylessApi({
      api_id: 'keyed', listen_path: '/keyed/', target_url: target, use_keyless: false,
      cache_options: { enable_cache: true, cache_timeout: 60, cache_all_safe_requests: true },
    }),
    keylessApi({ api_id: 'off', listen_path: '/off/', target_url: target,
      cache_options: { enable_cache: false, cache_timeout: 60, cache_all_safe_requests: true } }),
  ];
}

/* Keys of one API in Redis (SCAN, as an operator would look). */
async function cacheKeys(redis, apiId) {
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.command('SCAN', cursor, 'MATCH', `cache-${apiId}*`, 'COUNT', '1000');
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}
const waitKeys = (redis, apiId, n = 1) => waitFor(async () => (await cacheKeys(redis, apiId)).length >= n,
  { timeoutMs: 5000, what: `${n} cache key(s) for ${apiId}` });

describe('response cache', () => {
  let gw, gw2, up, redis;
  const T = withLogs(() => gw);
  before(async () => {
    redis = await startRedis();
    up = await countingUpstream();
    gw = await startGateway({ redis, apis: apis(up.url) });
    gw2 = await startGateway({ redis, apis: apis(up.url) });
  });
  after(async () => {
    await gw?.stop();
    await gw2?.stop();
    await up?.close();
    await redis?.stop();
  });

  it('first request goes upstream, the second is answered from Redis with the same body', T(async () => {
    const a = await gw.get('/all/items?x=1');
    assert.equal(a.status, 200);
    assert.equal(a.headers[CACHED], undefined);
    await waitKeys(redis, 'all');
    const b = await gw.get('/all/items?x=1');
    assert.equal(b.status, 200);
    assert.equal(b.headers[CACHED], '1');
    assert.equal(b.text, a.text);
    assert.equal(b.headers['x-up'], 'yes');
    assert.equal(b.headers['content-type'], 'application/json');
    assert.equal(up.count('GET', '/items?x=1'), 1);
    // another query string is another entry
    const c = await gw.get('/all/items?x=2');
    assert.equal(c.headers[CACHED], undefined);
    assert.equal(up.count('GET', '/items?x=2'), 1);
  }));

  it('stores Tyk\'s key and value: cache-<api><api><ip><md5(METHOD-URL)>, base64(response)|expiry', T(async () => {
    await gw.get('/all/layout');
    const key = `cache-allall127.0.0.1${md5('GET-/all/layout')}`;
    await waitFor(async () => (await redis.command('EXISTS', key)) === 1, { what: key });
    const v = await redis.command('GET', key);
    const [b64, ts] = v.split('|');
    const raw = Buffer.from(b64, 'base64').toString();
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(raw, /\r\n\r\n\{"n":1,"url":"\/layout"/);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Number(ts) >= now + 55 && Number(ts) <= now + 61, `expiry ${ts} vs now ${now}`);
    const ttl = await redis.command('TTL', key);
    assert.ok(ttl > 55 && ttl <= 60, `TTL ${ttl}`);
  }));

  it('serves an entry written in Tyk\'s format (chunked body, its own headers)', T(async () => {
    const raw = 'HTTP/1.1 203 Non-Authoritative Information\r\nContent-Type: text/plain\r\nX-From: tyk\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const key = `cache-allall127.0.0.1${md5('GET-/all/fromtyk')}`;
    const exp = Math.floor(Date.now() / 1000) + 60;
    await redis.command('SET', key, `${Buffer.from(raw).toString('base64')}|${exp}`, 'EX', '60');
    const r = await gw.get('/all/fromtyk');
    assert.equal(r.status, 203);
    assert.equal(r.text, 'hello world');
    assert.equal(r.headers['x-from'], 'tyk');
    assert.equal(r.headers[CACHED], '1');
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.equal(up.count('GET', '/fromtyk'), 0);
    // an expired or broken entry is removed and the upstream answers
    await redis.command('SET', key, `${Buffer.from(raw).toString('base64')}|${exp - 120}`);
    const e = await gw.get('/all/fromtyk');
    assert.equal(e.headers[CACHED], undefined);
    assert.equal(up.count('GET', '/fromtyk'), 1);
    const key2 = `cache-allall127.0.0.1${md5('GET-/all/broken')}`;
    await redis.command('SET', key2, 'not base64!|9999999999');
    const f = await gw.get('/all/broken');
    assert.equal(f.status, 200);
    assert.equal(up.count('GET', '/broken'), 1);
  }));

  it('If-None-Match on a hit with the same ETag gives 304', T(async () => {
    const raw = 'HTTP/1.1 200 OK\r\nEtag: "v1"\r\nContent-Length: 4\r\n\r\nbody';
    const key = `cache-allall127.0.0.1${md5('GET-/all/etag')}`;
    await redis.command('SET', key, `${Buffer.from(raw).toString('base64')}|${Math.floor(Date.now() / 1000) + 60}`);
    const r = await gw.get('/all/etag', { headers: { 'If-None-Match': '"v1"' } });
    assert.equal(r.status, 304);
    assert.equal(r.text, '');
    const s = await gw.get('/all/etag');
    assert.equal(s.status, 200);
    assert.equal(s.text, 'body');
  }));

  it('only listed response codes are cached; POST is not a safe request', T(async () => {
    await gw.get('/all/missing');
    const b = await gw.get('/all/missing');
    assert.equal(b.status, 404);
    assert.equal(b.headers[CACHED], undefined);
    assert.equal(up.count('GET', '/missing'), 2);
    await gw.get('/all/post', { method: 'POST', body: 'x' });
    const p = await gw.get('/all/post', { method: 'POST', body: 'x' });
    assert.equal(p.headers[CACHED], undefined);
    assert.equal(up.count('POST', '/post'), 2);
  }));

  it('entries expire after cache_timeout', T(async () => {
    await gw.get('/short/t');
    await waitKeys(redis, 'short');
    const hit = await gw.get('/short/t');
    assert.equal(hit.headers[CACHED], '1');
    await sleep(2100);
    const miss = await gw.get('/short/t');
    assert.equal(miss.headers[CACHED], undefined);
    assert.equal(up.count('GET', '/t'), 2);
  }));

  it('cache_by_headers keeps one entry per header value', T(async () => {
    const a1 = await gw.get('/byhdr/v', { headers: { 'X-Variant': 'a' } });
    await waitKeys(redis, 'byhdr', 1);
    const b1 = await gw.get('/byhdr/v', { headers: { 'X-Variant': 'b' } });
    assert.equal(b1.headers[CACHED], undefined);
    await waitKeys(redis, 'byhdr', 2);
    const a2 = await gw.get('/byhdr/v', { headers: { 'X-Variant': 'a' } });
    const b2 = await gw.get('/byhdr/v', { headers: { 'X-Variant': 'b' } });
    assert.equal(a2.headers[CACHED], '1');
    assert.equal(b2.headers[CACHED], '1');
    assert.equal(JSON.parse(a2.text).variant, 'a');
    assert.equal(a2.text, a1.text);
    assert.equal(b2.text, b1.text);
    assert.equal(up.count('GET', '/v'), 2);
    // Tyk's key: md5("GET-/byhdr/v-X-Variant-a")
    assert.equal(await redis.command('EXISTS', `cache-byhdrbyhdr127.0.0.1${md5('GET-/byhdr/v-X-Variant-a')}`), 1);
  }));

  it('advance_cache_config caches its method only, keyed by the cache_key_regex match of the body', T(async () => {
    const s1 = await gw.get('/adv/search', { method: 'POST', body: '{"id": "1", "noise": "a"}' });
    assert.equal(s1.status, 201);
    await waitKeys(redis, 'adv', 1);
    const s2 = await gw.get('/adv/search', { method: 'POST', body: '{"id": "1", "noise": "b"}' });
    assert.equal(s2.headers[CACHED], '1');
    assert.equal(s2.status, 201);
    assert.equal(s2.text, s1.text);
    const s3 = await gw.get('/adv/search', { method: 'POST', body: '{"id": "2"}' });
    assert.equal(s3.headers[CACHED], undefined);
    assert.equal(up.count('POST', '/search'), 2);
    // the entry's own timeout (30) wins over cache_timeout (60)
    const keys = await cacheKeys(redis, 'adv');
    const ttls = await Promise.all(keys.map((k) => redis.command('TTL', k)));
    assert.ok(ttls.every((t) => t > 0 && t <= 30), `TTLs ${ttls}`);
    // GET on that path is not cached
    await gw.get('/adv/search');
    const g = await gw.get('/adv/search');
    assert.equal(g.headers[CACHED], undefined);
    assert.equal(up.count('GET', '/search'), 2);
  }));

  it('legacy extended_paths.cache caches safe methods on its paths only', T(async () => {
    await gw.get('/adv/legacy');
    await waitFor(async () => (await redis.command('EXISTS', `cache-advadv127.0.0.1${md5('GET-/adv/legacy')}`)) === 1);
    const h = await gw.get('/adv/legacy');
    assert.equal(h.headers[CACHED], '1');
    await gw.get('/adv/legacy', { method: 'PUT', body: 'x' });
    const p = await gw.get('/adv/legacy', { method: 'PUT', body: 'x' });
    assert.equal(p.headers[CACHED], undefined);
    await gw.get('/adv/other');
    const o = await gw.get('/adv/other');
    assert.equal(o.headers[CACHED], undefined);
    assert.equal(up.count('GET', '/legacy'), 1);
    assert.equal(up.count('PUT', '/legacy'), 2);
    assert.equal(up.count('GET', '/other'), 2);
  }));

  it('upstream cache control: x-tyk-cache-action-set caches any code, the TTL header sets the TTL', T(async () => {
    await gw.get('/upc/forced');
    await waitKeys(redis, 'upc', 1);
    const f = await gw.get('/upc/forced');
    assert.equal(f.status, 500);
    assert.equal(f.headers[CACHED], '1');
    assert.equal(up.count('GET', '/forced'), 1);
    await gw.get('/upc/ttl');
    const key = `cache-upcupc127.0.0.1${md5('GET-/upc/ttl')}`;
    await waitFor(async () => (await redis.command('EXISTS', key)) === 1);
    const ttl = await redis.command('TTL', key);
    assert.ok(ttl >= 0 && ttl <= 1, `TTL ${ttl}`);
  }));

  it('keyed APIs cache per credential (the token is part of the key)', T(async () => {
    const mk = async (id) => {
      const r = await gw.admin('POST', `/tyk/keys/${id}`, {
        org_id: 'default', rate: 1000, per: 1, quota_max: -1,
        access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } },
      });
      assert.equal(r.status, 200, r.text);
      return id;
    };
    const ka = await mk('cachekeya1');
    const kb = await mk('cachekeyb2');
    const denied = await gw.get('/keyed/k');
    assert.equal(denied.status, 401);
    await gw.get('/keyed/k', { headers: { Authorization: ka } });
    await waitFor(async () => (await redis.command('EXISTS', `cache-keyedkeyed${ka}${md5('GET-/keyed/k')}`)) === 1);
    const b = await gw.get('/keyed/k', { headers: { Authorization: kb } });
    assert.equal(b.headers[CACHED], undefined);
    const a2 = await gw.get('/keyed/k', { headers: { Authorization: ka } });
    assert.equal(a2.headers[CACHED], '1');
    assert.equal(up.count('GET', '/k'), 2);
  }));

  it('enable_cache false never caches', T(async () => {
    await gw.get('/off/x');
    await gw.get('/off/x');
    assert.equal(up.count('GET', '/x'), 2);
    assert.equal((await cacheKeys(redis, 'off')).length, 0);
  }));

  it('two gateways on one Redis share entries; DELETE /tyk/cache/{api_id} drops them for both', T(async () => {
    await gw.get('/all/shared');
    await waitFor(async () => (await redis.command('EXISTS', `cache-allall127.0.0.1${md5('GET-/all/shared')}`)) === 1);
    const other = await gw2.get('/all/shared');
    assert.equal(other.headers[CACHED], '1');
    assert.equal(up.count('GET', '/shared'), 1);

    const denied = await gw2.admin('DELETE', '/tyk/cache/all', undefined, { secret: 'wrong' });
    assert.equal(denied.status, 403);
    const r = await gw2.admin('DELETE', '/tyk/cache/all');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { status: 'ok', message: 'cache invalidated' });
    assert.equal((await cacheKeys(redis, 'all')).length, 0);
    // other APIs keep theirs
    assert.ok((await cacheKeys(redis, 'byhdr')).length > 0);
    const again = await gw.get('/all/shared');
    assert.equal(again.headers[CACHED], undefined);
    assert.equal(up.count('GET', '/shared'), 2);
    const wrongMethod = await gw.admin('GET', '/tyk/cache/all');
    assert.equal(wrongMethod.status, 405);
  }));

  it('DeleteAPICache reaches a gateway with a separate cache store', T(async () => {
    const cacheRedis = await startRedis();
    const gw3 = await startGateway({
      redis,
      apis: apis(up.url),
      conf: { enable_separate_cache_store: true, cache_storage: { type: 'redis', host: '127.0.0.1', port: cacheRedis.port } },
    });
    try {
      await gw3.get('/all/separate');
      await waitKeys(cacheRedis, 'all', 1);
      assert.equal((await cacheKeys(redis, 'all')).filter((k) => k.endsWith(md5('GET-/all/separate'))).length, 0);
      const hit = await gw3.get('/all/separate');
      assert.equal(hit.headers[CACHED], '1');
      // invalidated through gw (main Redis only): the signed notification makes gw3 purge its store
      const r = await gw.admin('DELETE', '/tyk/cache/all');
      assert.equal(r.status, 200);
      await waitFor(async () => (await cacheKeys(cacheRedis, 'all')).length === 0,
        { timeoutMs: 5000, what: 'separate cache store purged' });
      const miss = await gw3.get('/all/separate');
      assert.equal(miss.headers[CACHED], undefined);
    } finally {
      await gw3.stop();
      await cacheRedis.stop();
    }
  }));
});

describe('response cache without Redis', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  before(async () => {
    redis = await startRedis();
    up = await countingUpstream();
    gw = await startGateway({ redis, apis: apis(up.url) });
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    await redis?.stop();
  });

  it('requests are still proxied (never an error) and nothing is cached', T(async () => {
    await redis.kill();
    for (let i = 0; i < 3; i++) {
      const r = await gw.get('/all/down');
      assert.equal(r.status, 200);
      assert.equal(r.headers[CACHED], undefined);
    }
    assert.equal(up.count('GET', '/down'), 3);
    const d = await gw.admin('DELETE', '/tyk/cache/all');
    assert.equal(d.status, 500);
    assert.deepEqual(JSON.parse(d.text), { status: 'error', message: 'Cache invalidation failed' });
  }));
});
