// SPDX-License-Identifier: Apache-2.0
// Endpoint-level rate limits (Tyk 5.x access_rights[api].endpoints): the matching endpoint's
// limit replaces the API-level rate with its own counter "rate-limit-<key>-<HashStr(M:path)>",
// and policies merge endpoint limits (the faster limit wins per METHOD:path).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { murmur32 } from '../lib/murmur.mjs';

const API = 'epapi';

function keyedApi(target) {
  return {
    name: API, api_id: API, org_id: 'default', use_keyless: false, active: true,
    auth: { auth_header_name: 'Authorization' },
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: '/ep/', target_url: target, strip_listen_path: true },
  };
}

const right = (extra = {}) => ({ [API]: { api_id: API, api_name: API, versions: ['Default'], ...extra } });
const ep = (p, ...methods) => ({ path: p, methods: methods.map(([name, rate, per]) => ({ name, limit: { rate, per } })) });

async function codes(gw, n, p, token, method = 'GET') {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await gw.get(p, { method, headers: { Authorization: token } })).status);
  return out;
}

describe('endpoint rate limits, in-memory limiter (default)', () => {
  let gw, up, redis, polDir;
  const T = withLogs(() => gw);
  const store = (token, s) => redisCommand(redis.port, 'SET', `apikey-${murmur32(token)}`, JSON.stringify({ org_id: 'default', ...s }));

  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    polDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-eppol-'));
    const pol = (id, endpoints) => ({
      id, name: id, org_id: 'default', active: true, rate: 100, per: 60, quota_max: -1,
      access_rights: right({ endpoints }),
    });
    fs.writeFileSync(path.join(polDir, 'slowget.json'), JSON.stringify(pol('slowget', [ep('/merged', ['GET', 2, 60])])));
    fs.writeFileSync(path.join(polDir, 'fastget.json'), JSON.stringify(pol('fastget', [ep('/merged', ['GET', 4, 60], ['POST', 1, 60])])));
    gw = await startGateway({
      redis,
      conf: { hash_keys: true, hash_key_function: 'murmur32', policies: { policy_source: 'file', policy_path: polDir } },
      apis: [keyedApi(up.url)],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
    if (polDir) fs.rmSync(polDir, { recursive: true, force: true });
  });

  it('the endpoint limit applies instead of the API-level one, only for its method', T(async () => {
    await store('epkey000001', {
      rate: 100, per: 60,
      access_rights: right({ endpoints: [ep('/slow', ['GET', 2, 60])] }),
    });
    const r = [];
    for (let i = 0; i < 3; i++) r.push(await gw.get('/ep/slow', { headers: { Authorization: 'epkey000001' } }));
    assert.deepEqual(r.map((x) => x.status), [200, 200, 429]);
    assert.deepEqual(JSON.parse(r[2].text), { error: 'Rate Limit Exceeded' });
    // POST is not listed for /slow: the API-level 100 per 60 s governs it
    assert.deepEqual(await codes(gw, 4, '/ep/slow', 'epkey000001', 'POST'), [200, 200, 200, 200]);
    // other paths: the API-level counter, untouched by the endpoint's
    assert.deepEqual(await codes(gw, 3, '/ep/other', 'epkey000001'), [200, 200, 200]);
  }));

  it('method names match case-insensitively; {id} segments match any value', T(async () => {
    await store('epkey000002', {
      rate: 100, per: 60,
      access_rights: right({ endpoints: [ep('/users/{id}', ['get', 1, 60])] }),
    });
    assert.deepEqual(await codes(gw, 2, '/ep/users/42', 'epkey000002'), [200, 429]);
    // same endpoint, same counter: another id is limited too
    assert.deepEqual(await codes(gw, 1, '/ep/users/43', 'epkey000002'), [429]);
  }));

  it('without prefix/suffix matching the endpoint path is an unanchored regex, as in Tyk', T(async () => {
    await store('epkey000003', {
      rate: 100, per: 60,
      access_rights: right({ endpoints: [ep('/slow', ['GET', 1, 60])] }),
    });
    assert.deepEqual(await codes(gw, 2, '/ep/x/slow/y', 'epkey000003'), [200, 429]);
  }));

  it('a key without a root rate still gets the endpoint limit', T(async () => {
    await store('epkey000004', { access_rights: right({ endpoints: [ep('/only', ['GET', 1, 60])] }) });
    assert.deepEqual(await codes(gw, 2, '/ep/only', 'epkey000004'), [200, 429]);
    assert.deepEqual(await codes(gw, 3, '/ep/free', 'epkey000004'), [200, 200, 200]);
  }));

  it('two policies: endpoint limits merge, the faster one wins per METHOD:path', T(async () => {
    await store('epkey000005', { apply_policies: ['slowget', 'fastget'] });
    // GET /merged: 2/60 vs 4/60 → 4; POST /merged only in one policy → 1/60
    assert.deepEqual(await codes(gw, 5, '/ep/merged', 'epkey000005'), [200, 200, 200, 200, 429]);
    assert.deepEqual(await codes(gw, 2, '/ep/merged', 'epkey000005', 'POST'), [200, 429]);
    const r = await gw.admin('GET', `/tyk/keys/epkey000005?api_id=${API}`);
    assert.equal(r.status, 200, r.text);
  }));
});

describe('endpoint rate limits, Redis sliding log', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);

  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: {
        hash_keys: true, hash_key_function: 'murmur32', enable_redis_rolling_limiter: true,
        http_server_options: { enable_path_prefix_matching: true, enable_path_suffix_matching: true },
      },
      apis: [keyedApi(up.url)],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await redis?.stop(); });

  it('counts under rate-limit-<keyhash>-<murmur32("METHOD:path")>, the API counter apart', T(async () => {
    const token = 'epredis00001';
    await redisCommand(redis.port, 'SET', `apikey-${murmur32(token)}`, JSON.stringify({
      org_id: 'default', rate: 50, per: 30,
      access_rights: right({ endpoints: [ep('/items/{id}', ['GET', 2, 30])] }),
    }));
    assert.deepEqual(await codes(gw, 3, '/ep/items/7', token), [200, 200, 429]);
    const epKey = `rate-limit-${murmur32(token)}-${murmur32('GET:/items/{id}')}`;
    assert.equal(await redisCommand(redis.port, 'ZCARD', epKey), 3);
    const ttl = await redisCommand(redis.port, 'TTL', epKey);
    assert.ok(ttl > 0 && ttl <= 30, `ttl ${ttl}`);
    // anchored matching (prefix + suffix on): /items/7/more is not the endpoint
    assert.deepEqual(await codes(gw, 2, '/ep/items/7/more', token), [200, 200]);
    assert.equal(await redisCommand(redis.port, 'ZCARD', `rate-limit-${murmur32(token)}`), 2);
  }));
});
