// SPDX-License-Identifier: Apache-2.0
// Analytics records as Tyk writes them: msgpack maps keyed by Go field names in the Redis list
// analytics-tyk-system-analytics, read here with an independent msgpack decoder
// (@msgpack/msgpack); the on-disk spool while Redis is down; nothing lost on shutdown.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from '@msgpack/msgpack';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { murmur32 } from '../lib/murmur.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

const LIST = 'analytics-tyk-system-analytics';

// Every key of Tyk's AnalyticsRecord, in the Go struct's order (msgpack v2 writes them all).
const GO_FIELDS = ['Method', 'Host', 'Path', 'RawPath', 'ContentLength', 'UserAgent', 'Day', 'Month',
  'Year', 'Hour', 'ResponseCode', 'APIKey', 'TimeStamp', 'APIVersion', 'APIName', 'APIID', 'OrgID',
  'OauthID', 'RequestTime', 'RawRequest', 'RawResponse', 'IPAddress', 'Geo', 'Network', 'Latency',
  'Tags', 'Alias', 'TrackPath', 'ExpireAt', 'ApiSchema', 'GraphQLStats', 'CollectionName', 'OriginalPath',
  'ListenPath', 'MCPStats'];

async function records(port, key = LIST) {
  const raw = await redisCommand(port, 'LRANGE', key, '0', '-1', { binary: true });
  return raw.map((b) => decode(b, { useBigInt64: false }));
}

async function allRecords(port) {
  let out = await records(port);
  for (let i = 0; i < 10; i++) out = out.concat(await records(port, `${LIST}_${i}`));
  return out;
}

const keyedApi = (target, extra = {}) => ({
  name: 'Keyed API', api_id: 'keyed', org_id: 'org1', use_keyless: false, active: true,
  auth: { auth_header_name: 'Authorization' },
  version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
  proxy: { listen_path: '/keyed/', target_url: target, strip_listen_path: true },
  ...extra,
});

describe('analytics records (Tyk msgpack layout)', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { enable_analytics: true, hash_keys: true, analytics_config: { ignored_ips: ['10.9.9.9'] } },
      apis: [
        keylessApi({ api_id: 'open', name: 'Open API', org_id: 'org1', listen_path: '/open/', target_url: up.url,
          tag_headers: ['X-Team'], tags: ['edge'] }),
        keylessApi({ api_id: 'quiet', listen_path: '/quiet/', target_url: up.url, do_not_track: true }),
        keylessApi({ api_id: 'detailed', listen_path: '/detailed/', target_url: up.url, enable_detailed_recording: true }),
        keyedApi(up.url),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await redis?.stop(); });

  it('writes one record per proxied request with every Go field', T(async () => {
    await redisCommand(redis.port, 'DEL', LIST);
    const before = Math.floor(Date.now() / 1000);
    const r = await gw.get('/open/items/7?x=1', { headers: { 'User-Agent': 'analytics-test/1', 'X-Team': 'blue' } });
    assert.equal(r.status, 200);
    let recs = [];
    await waitFor(async () => (recs = await records(redis.port)).length === 1, { what: 'one record' });
    const rec = recs[0];
    assert.deepEqual(Object.keys(rec), GO_FIELDS);
    assert.equal(rec.Method, 'GET');
    assert.equal(rec.Host, new URL(up.url).host);
    assert.equal(rec.Path, '/items/7', 'listen path stripped on proxied records');
    assert.equal(rec.RawPath, '/items/7');
    assert.equal(rec.OriginalPath, '/open/items/7');
    assert.equal(rec.ListenPath, '/open/');
    assert.equal(rec.ContentLength, 0);
    assert.equal(rec.UserAgent, 'analytics-test/1');
    assert.equal(rec.ResponseCode, 200);
    assert.equal(rec.APIKey, '');
    assert.equal(rec.APIVersion, 'Non Versioned');
    assert.equal(rec.APIName, 'Open API');
    assert.equal(rec.APIID, 'open');
    assert.equal(rec.OrgID, 'org1');
    assert.equal(rec.IPAddress, '127.0.0.1');
    assert.equal(rec.RawRequest, '');
    assert.ok(Array.isArray(rec.TimeStamp) && rec.TimeStamp.length === 2, 'time.Time as [sec, nsec]');
    assert.ok(rec.TimeStamp[0] >= before && rec.TimeStamp[0] <= before + 5);
    const d = new Date(rec.TimeStamp[0] * 1000);
    assert.equal(rec.Year, d.getFullYear());
    assert.equal(rec.Month, d.getMonth() + 1);
    assert.equal(rec.Day, d.getDate());
    assert.equal(rec.Hour, d.getHours());
    const years = (rec.ExpireAt[0] - rec.TimeStamp[0]) / (365 * 24 * 3600);
    assert.ok(Math.abs(years - 100) < 0.01, `ExpireAt 100 years ahead, got ${years}`);
    assert.deepEqual(Object.keys(rec.Latency), ['Total', 'Upstream', 'Gateway']);
    assert.ok(rec.Latency.Total >= rec.Latency.Upstream);
    assert.equal(rec.RequestTime, rec.Latency.Total);
    assert.deepEqual(rec.Tags, ['x-team-blue', 'edge', 'org-org1', 'api-open']);
    assert.deepEqual(Object.keys(rec.Network), ['OpenConnections', 'ClosedConnection', 'BytesIn', 'BytesOut']);
    assert.deepEqual(Object.keys(rec.Geo), ['Country', 'City', 'Location']);
    assert.equal(rec.TrackPath, false);
  }));

  it('records auth failures with the full path and zero latency, and hashes keys', T(async () => {
    await redisCommand(redis.port, 'DEL', LIST);
    const token = 'org1abcdef0123456789';
    await redisCommand(redis.port, 'SET', `apikey-${murmur32(token)}`, JSON.stringify({
      org_id: 'org1', alias: 'alice', tags: ['gold-tier'], apply_policies: [], rate: 100, per: 1,
      quota_max: -1, expires: 0,
      access_rights: { keyed: { api_id: 'keyed', api_name: 'Keyed API', versions: ['Default'] } },
    }));
    const denied401 = await gw.get('/keyed/a');
    assert.equal(denied401.status, 401, `${JSON.stringify(denied401.headers)} ${denied401.text}`);
    assert.equal((await gw.get('/keyed/b', { headers: { Authorization: token } })).status, 200);
    let recs = [];
    await waitFor(async () => (recs = await records(redis.port)).length === 2, { what: 'two records' });
    // Each worker pushes its own batches: the list order across requests is not fixed.
    const denied = recs.find((r) => r.Path === '/keyed/a');
    const ok = recs.find((r) => r.Path === '/b');
    assert.equal(denied.ResponseCode, 401);
    assert.equal(denied.Path, '/keyed/a', 'error records keep the listen path');
    assert.equal(denied.RequestTime, 0);
    assert.equal(denied.Latency.Total, 0);
    assert.equal(denied.APIKey, '');
    assert.deepEqual(denied.Tags, ['org-org1', 'api-keyed']);
    assert.equal(ok.ResponseCode, 200);
    assert.equal(ok.Path, '/b');
    assert.equal(ok.APIKey, murmur32(token), 'hash_keys: the record carries the hashed key');
    assert.equal(ok.Alias, 'alice');
    assert.deepEqual(ok.Tags, ['gold-tier', `key-${murmur32(token)}`, 'org-org1', 'api-keyed']);
  }));

  it('honours do_not_track, ignored_ips and detailed recording', T(async () => {
    await redisCommand(redis.port, 'DEL', LIST);
    assert.equal((await gw.get('/quiet/x')).status, 200);
    assert.equal((await gw.get('/open/ignored', { headers: { 'X-Real-IP': '10.9.9.9' } })).status, 200);
    assert.equal((await gw.get('/detailed/y?q=2', { headers: { 'X-Probe': 'yes' } })).status, 200);
    let recs = [];
    await waitFor(async () => (recs = await records(redis.port)).length >= 1, { what: 'records' });
    await sleep(400);
    recs = await records(redis.port);
    assert.equal(recs.length, 1, 'do_not_track API and ignored IPs write nothing');
    const raw = Buffer.from(recs[0].RawRequest, 'base64').toString();
    assert.match(raw, /^GET \/detailed\/y\?q=2 HTTP\/1\.1\r\n/);
    assert.match(raw, /\r\nX-Probe: yes\r\n/i);
    const resp = Buffer.from(recs[0].RawResponse, 'base64').toString();
    assert.match(resp, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(resp, /\r\nContent-Type: application\/json\r\n/i);
    assert.match(resp, /\r\n\r\n\{"method":"GET","url":"\/y\?q=2"/, 'the body as the client got it');
  }));
});

describe('analytics: multiple keys, ignored IPs', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { enable_analytics: true, analytics_config: { enable_multiple_analytics_keys: true } },
      apis: [keylessApi({ api_id: 'open', listen_path: '/open/', target_url: up.url })],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); await redis?.stop(); });

  it('spreads batches over analytics-tyk-system-analytics_0.._9', T(async () => {
    for (let i = 0; i < 40; i++) {
      assert.equal((await gw.get(`/open/${i}`)).status, 200);
      if (i % 4 === 3) await sleep(250); // several batches
    }
    let recs = [];
    await waitFor(async () => (recs = await allRecords(redis.port)).length === 40, { what: '40 records' });
    assert.equal((await records(redis.port)).length, 0, 'nothing in the unsuffixed list');
    const paths = recs.map((r) => r.Path).sort();
    assert.equal(new Set(paths).size, 40);
    const ttl = await redisCommand(redis.port, 'TTL', `${LIST}_${Number(await firstSuffix(redis.port))}`);
    assert.ok(ttl > 0 && ttl <= 60, `lists get storage_expiration_time as TTL, got ${ttl}`);
  }));
});

async function firstSuffix(port) {
  for (let i = 0; i < 10; i++) if ((await redisCommand(port, 'LLEN', `${LIST}_${i}`)) > 0) return i;
  return -1;
}

describe('analytics: Redis outage spools to disk, nothing lost', () => {
  let gw, up, redis, spool;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    spool = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-spool-'));
    gw = await startGateway({
      redis,
      conf: { enable_analytics: true, turnpike_analytics_spool_dir: spool, storage: { timeout: 1 } },
      apis: [keylessApi({ api_id: 'open', listen_path: '/open/', target_url: up.url })],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
    fs.rmSync(spool, { recursive: true, force: true });
  });

  it('keeps serving, spools while Redis is down, pushes every record once it is back', T(async () => {
    for (let i = 0; i < 10; i++) assert.equal((await gw.get(`/open/before-${i}`)).status, 200);
    await waitFor(async () => (await records(redis.port)).length === 10, { what: '10 records' });
    await redis.proc.kill('SIGKILL');
    await sleep(300);
    for (let i = 0; i < 50; i++) assert.equal((await gw.get(`/open/during-${i}`)).status, 200);
    await sleep(600);
    const mid = JSON.parse((await gw.admin('GET', '/tyk/turnpike/analytics')).text);
    assert.equal(mid.spooled, 50, JSON.stringify(mid));
    assert.equal(mid.dropped, 0);
    assert.ok(fs.readdirSync(spool).some((f) => f.endsWith('.spool')), 'spool files on disk');
    // redis-server started again on the same port, empty (no persistence): only the
    // spooled records can arrive, and all of them must.
    await redis.restart();
    let recs = [];
    await waitFor(async () => (recs = await records(redis.port)).length === 50, { timeoutMs: 15000, what: '50 spooled records' });
    assert.deepEqual(recs.map((r) => r.Path).sort(), Array.from({ length: 50 }, (_, i) => `/during-${i}`).sort());
    await waitFor(async () => fs.readdirSync(spool).filter((f) => f.endsWith('.spool')).length === 0, { what: 'spool emptied' });
    const st = JSON.parse((await gw.admin('GET', '/tyk/turnpike/analytics')).text);
    assert.equal(st.replayed, 50);
    assert.equal(st.spool_bytes, 0);
    assert.equal(st.dropped, 0);
  }));
});

describe('analytics: shutdown and restart lose nothing', () => {
  it('records buffered at SIGTERM reach Redis; records spooled by a stopped gateway are pushed by the next one', async () => {
    const up = await startUpstream();
    const redis = await startRedis();
    const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-spool-'));
    const conf = { enable_analytics: true, turnpike_analytics_spool_dir: spool, storage: { timeout: 1 } };
    const apis = [keylessApi({ api_id: 'open', listen_path: '/open/', target_url: up.url })];
    try {
      let gw = await startGateway({ redis, conf, apis });
      for (let i = 0; i < 5; i++) assert.equal((await gw.get(`/open/a${i}`)).status, 200);
      await gw.stop();
      assert.equal((await records(redis.port)).length, 5, 'flushed at shutdown');

      gw = await startGateway({ redis, conf, apis });
      await redis.proc.kill('SIGKILL');
      await sleep(200);
      for (let i = 0; i < 7; i++) assert.equal((await gw.get(`/open/b${i}`)).status, 200);
      await gw.stop();
      assert.ok(fs.readdirSync(spool).some((f) => f.endsWith('.spool')), 'left in the spool');

      await redis.restart();
      gw = await startGateway({ redis, conf, apis });
      let recs = [];
      await waitFor(async () => (recs = await records(redis.port)).length === 7, { timeoutMs: 15000, what: '7 records' });
      assert.deepEqual(recs.map((r) => r.Path).sort(), Array.from({ length: 7 }, (_, i) => `/b${i}`));
      await gw.stop();
    } finally {
      await up.close(); await redis.stop();
      fs.rmSync(spool, { recursive: true, force: true });
    }
  });

  it('a full spool drops records, counts and logs them', async () => {
    const up = await startUpstream();
    const redis = await startRedis();
    const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-spool-'));
    const gw = await startGateway({
      redis,
      conf: { enable_analytics: true, turnpike_analytics_spool_dir: spool, turnpike_analytics_spool_max_bytes: 2000, storage: { timeout: 1 } },
      apis: [keylessApi({ api_id: 'open', listen_path: '/open/', target_url: up.url })],
    });
    try {
      await redis.proc.kill('SIGKILL');
      await sleep(200);
      for (let i = 0; i < 30; i++) assert.equal((await gw.get(`/open/${i}`)).status, 200);
      await sleep(600);
      const st = JSON.parse((await gw.admin('GET', '/tyk/turnpike/analytics')).text);
      assert.ok(st.spooled > 0 && st.dropped > 0, JSON.stringify(st));
      assert.equal(st.spooled + st.dropped, 30);
      assert.ok(st.spool_bytes <= 2000);
      assert.match(gw.logs(), /analytics: \d+ record\(s\) dropped \(analytics spool full\)/);
    } finally {
      await gw.stop(); await up.close(); await redis.stop();
      fs.rmSync(spool, { recursive: true, force: true });
    }
  });
});

describe('analytics: GeoIP from a MaxMind database', () => {
  let gw, up, redis, dir;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-geo-'));
    const db = path.join(dir, 'city.mmdb');
    const here = path.dirname(new URL(import.meta.url).pathname);
    const { execFileSync } = await import('node:child_process');
    execFileSync('perl', [path.join(here, '../fixtures/make-geoip-db.pl'), db]);
    gw = await startGateway({
      redis,
      conf: { enable_analytics: true, analytics_config: { enable_geo_ip: true, geo_ip_db_path: db } },
      apis: [keylessApi({ api_id: 'open', listen_path: '/open/', target_url: up.url })],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fills Geo for the real client IP, leaves it empty for unknown addresses', T(async () => {
    assert.equal((await gw.get('/open/a', { headers: { 'X-Real-IP': '81.2.69.160' } })).status, 200);
    assert.equal((await gw.get('/open/b')).status, 200);
    let recs = [];
    await waitFor(async () => (recs = await records(redis.port)).length === 2, { what: 'two records' });
    const paris = recs.find((r) => r.Path === '/a');
    assert.equal(paris.IPAddress, '81.2.69.160');
    assert.equal(paris.Geo.Country.ISOCode, 'FR');
    assert.equal(paris.Geo.City.GeoNameID, 2988507);
    assert.deepEqual(paris.Geo.City.Names, { en: 'Paris', fr: 'Paris' });
    assert.equal(paris.Geo.Location.TimeZone, 'Europe/Paris');
    assert.ok(Math.abs(paris.Geo.Location.Latitude - 48.8534) < 1e-9);
    assert.ok(Math.abs(paris.Geo.Location.Longitude - 2.3488) < 1e-9);
    const local = recs.find((r) => r.Path === '/b');
    assert.equal(local.Geo.Country.ISOCode, '');
    assert.equal(local.Geo.City.GeoNameID, 0);
  }));
});
