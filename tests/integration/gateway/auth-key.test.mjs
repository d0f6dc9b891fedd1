// SPDX-License-Identifier: Apache-2.0
// Auth-token authentication against sessions stored the way Tyk stores them, key expiry,
// access rights, allowed URLs, policies, rate limits and quotas, and Redis outages.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { request } from '../lib/http.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { murmur32 } from '../lib/murmur.mjs';

function keyedApi(extra = {}) {
  return {
    name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
    auth: { auth_header_name: 'Authorization' },
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: '/keyed/', target_url: extra.target, strip_listen_path: true },
    ...extra.def,
  };
}

const rights = (v = {}) => ({ keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'], ...v } });

describe('auth token and sessions (hash_keys on, murmur32)', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  const store = (token, session) => redisCommand(redis.port, 'SET', `apikey-${murmur32(token)}`, JSON.stringify(session));
  const get = (p, headers = {}) => gw.get(p, { headers });

  let polDir;
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    polDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-pol-'));
    fs.writeFileSync(path.join(polDir, 'gold.json'), JSON.stringify({
      id: 'gold', name: 'Gold', org_id: 'default', active: true, rate: 2, per: 60, quota_max: -1,
      access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } },
    }));
    gw = await startGateway({
      redis,
      conf: {
        hash_keys: true, hash_key_function: 'murmur32',
        policies: { policy_source: 'file', policy_path: polDir },
        local_session_cache: { cached_session_timeout: 1 },
      },
      apis: [
        keyedApi({ target: up.url }),
        { ...keyedApi({ target: up.url }), api_id: 'other', name: 'other', proxy: { listen_path: '/other/', target_url: up.url, strip_listen_path: true } },
        { ...keyedApi({ target: up.url }), api_id: 'param', name: 'param',
          auth_configs: { authToken: { auth_header_name: 'X-Key', use_param: true, param_name: 'k', use_cookie: true, cookie_name: 'kc' } },
          proxy: { listen_path: '/param/', target_url: up.url, strip_listen_path: true } },
      ],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
    if (polDir) fs.rmSync(polDir, { recursive: true, force: true });
  });

  it('a key with apply_policies gets the policy\'s access rights and rate (2 per 60 s)', T(async () => {
    await store('policykey123', { org_id: 'default', apply_policies: ['gold'] });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await get('/keyed/p', { Authorization: 'policykey123' })).status);
    assert.deepEqual(codes, [200, 200, 429]);
    assert.equal((await get('/other/p', { Authorization: 'policykey123' })).status, 403);
  }));

  it('no credential → 401 "Authorization field missing"', T(async () => {
    const r = await get('/keyed/x');
    assert.equal(r.status, 401);
    assert.equal(JSON.parse(r.text).error, 'Authorization field missing');
  }));

  it('unknown key → 403 "Access to this API has been disallowed"', T(async () => {
    const r = await get('/keyed/x', { Authorization: 'no-such-key-1234' });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.text).error, 'Access to this API has been disallowed');
  }));

  it('a full legacy-form session stored under apikey-<murmur32> is honoured, Bearer stripped', T(async () => {
    await store('legacyfull1234', {
      last_check: 0, allowance: 1000, rate: 1000, per: 60, throttle_interval: 0, throttle_retry_limit: 0,
      max_query_depth: 0, date_created: '2024-01-02T03:04:05.123456789Z', expires: 0, quota_max: -1,
      quota_renews: 1700000000, quota_remaining: 0, quota_renewal_rate: 0,
      access_rights: { keyed: { api_name: 'keyed', api_id: 'keyed', versions: ['Default'], allowed_urls: [],
        restricted_types: [], allowed_types: [], limit: null, field_access_rights: [], disable_introspection: false,
        allowance_scope: '' } },
      org_id: 'default', oauth_client_id: '', oauth_keys: null, certificate: '', basic_auth_data: { password: '', hash_type: '' },
      jwt_data: { secret: '' }, hmac_enabled: false, enable_http_signature_validation: false, hmac_string: '',
      rsa_certificate_id: '', is_inactive: false, apply_policy_id: '', apply_policies: [], data_expires: 0,
      monitor: { trigger_limits: null }, enable_detail_recording: false, enable_detailed_recording: false,
      meta_data: {}, tags: [], alias: 'legacy', last_updated: '1700000000', id_extractor_deadline: 0, session_lifetime: 0,
    });
    const r = await get('/keyed/hello', { Authorization: 'Bearer legacyfull1234' });
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).url, '/hello');
  }));

  it('a sparse (omitzero) session is honoured; access to another API is refused', T(async () => {
    await store('sparse123456', { org_id: 'default', access_rights: rights() });
    assert.equal((await get('/keyed/a', { Authorization: 'sparse123456' })).status, 200);
    const r = await get('/other/a', { Authorization: 'sparse123456' });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.text).error, 'Access to this API has been disallowed');
  }));

  it('query parameter and cookie sources (auth_configs.authToken)', T(async () => {
    await store('paramkey1234', { org_id: 'default', access_rights: { param: { api_id: 'param', versions: ['Default'] } } });
    assert.equal((await get('/param/a?k=paramkey1234')).status, 200);
    assert.equal((await get('/param/a', { Cookie: 'x=1; kc=paramkey1234' })).status, 200);
    assert.equal((await get('/param/a', { 'X-Key': 'paramkey1234' })).status, 200);
    assert.equal((await get('/param/a')).status, 401);
  }));

  it('inactive key → 403 "Key is inactive, please renew"; expired → 401 "Key has expired, please renew"', T(async () => {
    await store('inactive1234', { org_id: 'default', is_inactive: true, access_rights: rights() });
    let r = await get('/keyed/a', { Authorization: 'inactive1234' });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.text).error, 'Key is inactive, please renew');
    await store('expired12345', { org_id: 'default', expires: Math.floor(Date.now() / 1000) - 10, access_rights: rights() });
    r = await get('/keyed/a', { Authorization: 'expired12345' });
    assert.equal(r.status, 401);
    assert.equal(JSON.parse(r.text).error, 'Key has expired, please renew');
  }));

  it('allowed_urls limit paths and methods → 403 "Access to this resource has been disallowed"', T(async () => {
    await store('granular1234', { org_id: 'default', access_rights: rights({ allowed_urls: [{ url: '/books', methods: ['GET'] }] }) });
    assert.equal((await get('/keyed/books/1', { Authorization: 'granular1234' })).status, 200);
    const r = await get('/keyed/cars/1', { Authorization: 'granular1234' });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.text).error, 'Access to this resource has been disallowed');
    const p = await request(`${gw.url}/keyed/books/1`, { method: 'POST', body: 'x', headers: { Authorization: 'granular1234' } });
    assert.equal(p.status, 403);
  }));

  it('a deleted key stops working once the local cache entry lapses', T(async () => {
    await store('shortlived12', { org_id: 'default', access_rights: rights() });
    assert.equal((await get('/keyed/a', { Authorization: 'shortlived12' })).status, 200);
    await redisCommand(redis.port, 'DEL', `apikey-${murmur32('shortlived12')}`);
    await new Promise((res) => setTimeout(res, 1300)); // cached_session_timeout: 1 s
    assert.equal((await get('/keyed/a', { Authorization: 'shortlived12' })).status, 403);
  }));

  it('quota 5: exactly 5 admitted, X-RateLimit headers count down, counter under quota-<hash>', T(async () => {
    await store('quota5key123', { org_id: 'default', quota_max: 5, quota_renewal_rate: 3600, access_rights: rights() });
    const codes = [];
    let last;
    for (let i = 0; i < 8; i++) {
      const r = await get('/keyed/q', { Authorization: 'quota5key123' });
      codes.push(r.status);
      if (r.status === 200) last = r;
      if (r.status === 403) assert.equal(JSON.parse(r.text).error, 'Quota exceeded');
    }
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 403, 403, 403]);
    assert.equal(last.headers['x-ratelimit-limit'], '5');
    assert.equal(last.headers['x-ratelimit-remaining'], '0');
    const counter = await redisCommand(redis.port, 'GET', `quota-${murmur32('quota5key123')}`);
    assert.equal(Number(counter), 8); // blocked requests count too, as in Tyk
    const ttl = await redisCommand(redis.port, 'TTL', `quota-${murmur32('quota5key123')}`);
    assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
  }));

  it('rate 3 per 60 s (in-memory limiter): the 4th request → 429 "Rate Limit Exceeded"', T(async () => {
    await store('rate3key1234', { org_id: 'default', rate: 3, per: 60, access_rights: rights() });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await get('/keyed/r', { Authorization: 'rate3key1234' })).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
  }));

  it('Redis down: a cached key keeps working, an uncached one gets 503 (never 401/403); recovery', { timeout: 30000 }, T(async () => {
    await store('cachedkey123', { org_id: 'default', access_rights: rights() });
    assert.equal((await get('/keyed/a', { Authorization: 'cachedkey123' })).status, 200);
    await redis.stop();
    const cached = await get('/keyed/a', { Authorization: 'cachedkey123' });
    assert.ok([200, 503].includes(cached.status), `cached key during outage: ${cached.status}`);
    const r = await get('/keyed/a', { Authorization: 'neverseen1234' });
    assert.equal(r.status, 503);
    assert.match(JSON.parse(r.text).error, /unavailable/i);
    await redis.restart();
    const t0 = Date.now();
    let ok = false;
    while (Date.now() - t0 < 8000) {
      await store('afteroutage1', { org_id: 'default', access_rights: rights() }).catch(() => {});
      const a = await get('/keyed/a', { Authorization: 'afteroutage1' });
      if (a.status === 200) { ok = true; break; }
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.ok(ok, 'keys work again after Redis returns');
    assert.ok(Date.now() - t0 < 5000 + 1000, `recovered in ${Date.now() - t0} ms`);
  }));
});

describe('policies and the Redis sliding log shared by two gateways', () => {
  let gwA, gwB, up, redis;
  const T = withLogs(() => gwA);

  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    const conf = { hash_keys: false, enable_redis_rolling_limiter: true };
    const apis = [keyedApi({ target: up.url })];
    gwA = await startGateway({ redis, conf, apis });
    gwB = await startGateway({ redis, conf, apis });
  });
  after(async () => { await gwA?.stop(); await gwB?.stop(); await up?.close(); await redis?.stop(); });

  it('limit 100 per 10 s across two gateways: a burst of 1000 admits exactly 100; log entries as Tyk', { timeout: 60000 }, T(async () => {
    await redisCommand(redis.port, 'SET', 'apikey-burstkey1234', JSON.stringify({ org_id: 'default', rate: 100, per: 10, access_rights: rights() }));
    let ok = 0, limited = 0, other = 0;
    const one = async (gw) => {
      const r = await gw.get('/keyed/b', { headers: { Authorization: 'burstkey1234' } });
      if (r.status === 200) ok++; else if (r.status === 429) limited++; else other++;
    };
    const jobs = [];
    for (let i = 0; i < 1000; i++) jobs.push(one(i % 2 ? gwA : gwB));
    // bounded concurrency: node's agent pools the sockets
    await Promise.all(jobs);
    assert.equal(other, 0);
    assert.equal(ok, 100);
    assert.equal(limited, 900);
    const members = await redisCommand(redis.port, 'ZRANGE', 'rate-limit-burstkey1234', '0', '2', 'WITHSCORES');
    assert.match(members[0], /^\d{19}$/);
    // member == score == the nanosecond timestamp (the score is a double, so compare loosely)
    assert.ok(Math.abs(Number(members[0]) - Number(members[1])) < 1e3, `${members[0]} vs ${members[1]}`);
    const ttl = await redisCommand(redis.port, 'TTL', 'rate-limit-burstkey1234');
    assert.ok(ttl > 0 && ttl <= 10, `ttl ${ttl}`);
  }));
});

describe('session cache invalidation over pub/sub', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { hash_keys: false, local_session_cache: { cached_session_timeout: 300 } },
      apis: [keyedApi({ target: up.url })],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await redis?.stop(); });

  it('a signed KeySpaceUpdateNotification drops the cached session in every worker', T(async () => {
    const { createHash } = await import('node:crypto');
    await redisCommand(redis.port, 'SET', 'apikey-evictme1234', JSON.stringify({ org_id: 'default', access_rights: rights() }));
    // warm both workers' caches
    for (let i = 0; i < 6; i++) assert.equal((await gw.get('/keyed/a', { headers: { Authorization: 'evictme1234' }, agent: false })).status, 200);
    await redisCommand(redis.port, 'DEL', 'apikey-evictme1234');
    // still cached: the deletion is not seen yet
    assert.equal((await gw.get('/keyed/a', { headers: { Authorization: 'evictme1234' } })).status, 200);
    const command = 'KeySpaceUpdateNotification', payload = 'evictme1234';
    const signature = createHash('sha256').update(command + payload + 'node-secret').digest('hex');
    await redisCommand(redis.port, 'PUBLISH', 'tyk.cluster.notifications', JSON.stringify({ command, payload, signature, algorithm: 5 }));
    let status = 0;
    for (let i = 0; i < 20 && status !== 403; i++) {
      await new Promise((res) => setTimeout(res, 50));
      status = (await gw.get('/keyed/a', { headers: { Authorization: 'evictme1234' }, agent: false })).status;
    }
    assert.equal(status, 403);
    for (let i = 0; i < 6; i++) assert.equal((await gw.get('/keyed/a', { headers: { Authorization: 'evictme1234' }, agent: false })).status, 403);
  }));
});

describe('API-level rate limit (global_rate_limit)', () => {
  let gw, up;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      conf: { turnpike_workers: 2 },
      apis: [{
        name: 'limited', api_id: 'limited', org_id: 'default', use_keyless: true, active: true,
        global_rate_limit: { rate: 3, per: 60 },
        version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
        proxy: { listen_path: '/limited/', target_url: up.url, strip_listen_path: true },
      }],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('3 per 60 s for everyone together, across workers: then 429 "API Rate Limit Exceeded"', T(async () => {
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await gw.get('/limited/x', { agent: false })).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429, 429]);
    const r = await gw.get('/limited/x');
    assert.equal(JSON.parse(r.text).error, 'API Rate Limit Exceeded');
  }));
});

describe('DRL: gateways find each other over pub/sub and share the rate (Tyk default limiter)', () => {
  let gwA, gwB, up, redis;
  const T = withLogs(() => gwA);
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    const conf = { hash_keys: false, drl_notification_frequency: 1, turnpike_workers: 1 };
    const apis = [keyedApi({ target: up.url })];
    gwA = await startGateway({ redis, conf, apis });
    gwB = await startGateway({ redis, conf, apis });
    // wait until both logged that 2 gateways share the limits
    const t0 = Date.now();
    while (Date.now() - t0 < 8000 && !(/2 gateway\(s\) share/.test(gwA.logs()) && /2 gateway\(s\) share/.test(gwB.logs())))
      await new Promise((r) => setTimeout(r, 100));
  });
  after(async () => { await gwA?.stop(); await gwB?.stop(); await up?.close(); await redis?.stop(); });

  it('both gateways see each other', () => {
    assert.match(gwA.logs(), /DRL: 2 gateway\(s\) share the rate limits/);
    assert.match(gwB.logs(), /DRL: 2 gateway\(s\) share the rate limits/);
  });

  it('a rate too low to split (N × drl_threshold ≥ rate/per) is counted in Redis: exactly 10 of 40', T(async () => {
    await redisCommand(redis.port, 'SET', 'apikey-lowrate1234', JSON.stringify({ org_id: 'default', rate: 10, per: 60, access_rights: rights() }));
    let ok = 0;
    for (let i = 0; i < 40; i++) {
      const r = await (i % 2 ? gwA : gwB).get('/keyed/l', { headers: { Authorization: 'lowrate1234' } });
      if (r.status === 200) ok++;
    }
    assert.equal(ok, 10);
    assert.equal(await redisCommand(redis.port, 'EXISTS', 'rate-limit-lowrate1234'), 1);
  }));

  it('a high rate is split in memory: one gateway admits half of 1200 per 60 s', { timeout: 60000 }, T(async () => {
    await redisCommand(redis.port, 'SET', 'apikey-highrate123', JSON.stringify({ org_id: 'default', rate: 1200, per: 60, access_rights: rights() }));
    let ok = 0;
    const batch = async () => { if ((await gwA.get('/keyed/h', { headers: { Authorization: 'highrate123' } })).status === 200) ok++; };
    for (let i = 0; i < 70; i++) await Promise.all(Array.from({ length: 10 }, batch));
    assert.equal(ok, 600);
    assert.equal(await redisCommand(redis.port, 'EXISTS', 'rate-limit-highrate123'), 0, 'not in Redis');
  }));
});

describe('sentinel and fixed-window limiters still enforce the quota', () => {
  for (const mode of ['enable_sentinel_rate_limiter', 'enable_fixed_window_rate_limiter']) {
    it(`${mode}: rate passes, quota 3 → the 4th request gets 403 "Quota exceeded"`, async () => {
      const up = await startUpstream();
      const gw = await startGateway({ conf: { hash_keys: false, [mode]: true }, apis: [keyedApi({ target: up.url })] });
      try {
        await redisCommand(gw.redis.port, 'SET', 'apikey-sentquota12', JSON.stringify({
          org_id: 'default', rate: 100, per: 60, quota_max: 3, quota_renewal_rate: 3600, access_rights: rights() }));
        const codes = [];
        for (let i = 0; i < 5; i++) codes.push((await gw.get('/keyed/s', { headers: { Authorization: 'sentquota12' } })).status);
        assert.deepEqual(codes, [200, 200, 200, 403, 403]);
      } finally {
        await gw.stop();
        await up.close();
      }
    });
  }
});
