// SPDX-License-Identifier: Apache-2.0
// extended_paths.track_endpoints / do_not_track_endpoints: a tracked endpoint's analytics record
// carries the endpoint as configured in Path (RawPath stays the request's) with TrackPath true;
// a do-not-track endpoint gets no record, not even for an error; other requests are unchanged.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '@msgpack/msgpack';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

const LIST = 'analytics-tyk-system-analytics';
const ext = (paths) => ({
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } },
});

async function records(port) {
  const raw = await redisCommand(port, 'LRANGE', LIST, '0', '-1', { binary: true });
  return raw.map((b) => decode(b, { useBigInt64: false }));
}

describe('track_endpoints / do_not_track_endpoints', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { enable_analytics: true },
      apis: [
        keylessApi({
          api_id: 'tr', listen_path: '/tr/', target_url: up.url,
          version_data: ext({
            track_endpoints: [{ path: '/users/{id}', method: 'GET' }],
            do_not_track_endpoints: [{ path: '/health', method: 'GET' }, { path: '/both', method: 'GET' }],
            white_list: [{ path: '/users/{id}', method: 'GET' }, { path: '/health', method: 'GET' },
              { path: '/both', method: 'GET' }, { path: '/plain', method: 'GET' }],
          }),
        }),
        {
          name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: ext({ do_not_track_endpoints: [{ path: '/secret', method: 'GET' }],
            track_endpoints: [{ path: '/both', method: 'GET' }] }),
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true },
        },
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await redis?.stop(); });

  it('a tracked endpoint records its configured path with TrackPath; others keep theirs', T(async () => {
    await redisCommand(redis.port, 'DEL', LIST);
    assert.equal((await gw.get('/tr/users/42')).status, 200);
    assert.equal((await gw.get('/tr/plain')).status, 200);
    let recs = [];
    await waitFor(async () => (recs = await records(redis.port)).length === 2, { what: 'two records' });
    const tracked = recs.find((r) => r.RawPath === '/users/42');
    assert.equal(tracked.Path, '/users/{id}');
    assert.equal(tracked.TrackPath, true);
    const plain = recs.find((r) => r.RawPath === '/plain');
    assert.equal(plain.Path, '/plain');
    assert.equal(plain.TrackPath, false);
  }));

  it('do_not_track endpoints leave no record, errors included, and win over tracking', T(async () => {
    await redisCommand(redis.port, 'DEL', LIST);
    assert.equal((await gw.get('/tr/health')).status, 200);
    assert.equal((await gw.get('/tr/both')).status, 200);
    assert.equal((await gw.get('/keyed/secret')).status, 401, 'auth runs after TrackEndpoint');
    assert.equal((await gw.get('/keyed/both')).status, 401);
    let recs = [];
    await waitFor(async () => (recs = await records(redis.port)).length >= 1, { what: 'the error record' });
    await sleep(1500); // batches flush within a second: anything else would be here by now
    recs = await records(redis.port);
    assert.equal(recs.length, 1, JSON.stringify(recs.map((r) => r.RawPath)));
    assert.equal(recs[0].ResponseCode, 401);
    assert.equal(recs[0].Path, '/both', 'error records carry the tracked path too');
    assert.equal(recs[0].TrackPath, true);
  }));
});
