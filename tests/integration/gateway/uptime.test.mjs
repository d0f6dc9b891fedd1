// SPDX-License-Identifier: Apache-2.0
// Uptime tests (Tyk's host checker): every API's uptime_tests.check_list is probed each
// uptime_tests.config.time_wait seconds; results become UptimeReportData records (msgpack maps with
// Tyk's Go field names, read here with an independent decoder) in host-checker:tyk-uptime-analytics;
// failure_trigger_sample_size failures mark a host down (Redis marker + load balancer skips it).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { decode } from '@msgpack/msgpack';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { freePort } from '../lib/ports.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

const LIST = 'host-checker:tyk-uptime-analytics';
// Tyk's UptimeReportData, in the Go struct's order.
const GO_FIELDS = ['URL', 'RequestTime', 'ResponseCode', 'TCPError', 'ServerError', 'Day', 'Month', 'Year',
  'Hour', 'Minute', 'TimeStamp', 'ExpireAt', 'APIID', 'OrgID'];

async function records(port) {
  const raw = await redisCommand(port, 'LRANGE', LIST, '0', '-1', { binary: true });
  return raw.map((b) => decode(b, { useBigInt64: false }));
}

const byUrl = (recs, url) => recs.filter((r) => r.URL === url);

/* A TCP server speaking a tiny protocol: answers "PONG" to "PING". */
async function startPingServer() {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => { if (String(d).includes('PING')) s.write('PONG'); });
    s.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    close() { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(() => r())); },
  };
}

const api = (id, checks, extra = {}) => keylessApi({
  api_id: id, name: `uptime ${id}`, org_id: 'org-up', listen_path: `/${id}/`,
  target_url: 'http://127.0.0.1:1', uptime_tests: { check_list: checks, config: {} }, ...extra,
});

describe('uptime tests (host checker)', { timeout: 60000 }, () => {
  let gw, redis, up, up500, ping, mute, deadPort, deadTcpPort, lbDeadPort;
  const T = withLogs(() => gw);
  let healthy, dead, err500, posted, tcpOk, tcpDead, tcpExpect;
  before(async () => {
    redis = await startRedis();
    up = await startUpstream();
    up500 = await startUpstream((req, res) => { res.writeHead(500); res.end('boom'); });
    ping = await startPingServer();
    mute = await startPingServer(); // never sent PING: says nothing
    deadPort = await freePort();
    deadTcpPort = await freePort();
    lbDeadPort = await freePort();
    healthy = `${up.url}/health`;
    dead = `http://127.0.0.1:${deadPort}/health`;
    err500 = `${up500.url}/status`;
    posted = `${up.url}/post-check`;
    tcpOk = `tcp://127.0.0.1:${ping.port}`;
    tcpDead = `tcp://127.0.0.1:${deadTcpPort}`;
    tcpExpect = `tcp://127.0.0.1:${mute.port}`; // silent: "expect PONG" times out
    gw = await startGateway({
      redis,
      conf: {
        uptime_tests: {
          disable: false,
          config: { time_wait: 1, failure_trigger_sample_size: 2, enable_uptime_analytics: true, checker_pool_size: 4 },
        },
      },
      apis: [
        api('healthy', [{ url: healthy }], { uptime_tests: { check_list: [{ url: healthy, timeout: 5e9 }], config: { expire_utime_after: 3600 } } }),
        api('dead', [{ url: dead }]),
        api('err500', [{ url: err500 }]),
        api('posted', [{
          url: posted, method: 'post', timeout: 5e9, headers: { 'X-Check': 'yes' },
          body: Buffer.from('hello uptime').toString('base64'),
        }]),
        api('tcp', [
          { url: tcpOk, protocol: 'tcp', commands: [{ name: 'send', message: 'PING' }, { name: 'expect', message: 'PONG' }] },
          { url: tcpDead, protocol: 'tcp', timeout: 500e6 },
          { url: tcpExpect, protocol: 'tcp', timeout: 300e6, commands: [{ name: 'expect', message: 'PONG' }] },
        ]),
        keylessApi({
          api_id: 'lb', org_id: 'org-up', listen_path: '/lb/', target_url: up.url,
          proxy: {
            enable_load_balancing: true, check_host_against_uptime_tests: true,
            target_list: [up.url, `http://127.0.0.1:${lbDeadPort}`],
          },
          uptime_tests: { check_list: [{ url: `${up.url}/lb-health`, timeout: 5e9 }, { url: `http://127.0.0.1:${lbDeadPort}/lb-health` }] },
        }),
        keylessApi({
          api_id: 'alldown', org_id: 'org-up', listen_path: '/alldown/', target_url: `http://127.0.0.1:${lbDeadPort}`,
          proxy: {
            enable_load_balancing: true, check_host_against_uptime_tests: true,
            target_list: [`http://127.0.0.1:${lbDeadPort}`],
          },
        }),
      ],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await up500?.close(); await ping?.close(); await mute?.close(); await redis?.stop();
  });

  it('a healthy upstream gives records with ResponseCode 200 and a RequestTime, in Tyk\'s field order', T(async () => {
    const t0 = Math.floor(Date.now() / 1000);
    let recs = [];
    await waitFor(async () => byUrl(recs = await records(redis.port), healthy).length >= 2,
      { timeoutMs: 10000, what: 'two records for the healthy check' });
    const r = byUrl(recs, healthy)[0];
    assert.deepEqual(Object.keys(r), GO_FIELDS);
    assert.equal(r.ResponseCode, 200);
    assert.equal(r.TCPError, false);
    assert.equal(r.ServerError, false);
    assert.equal(typeof r.RequestTime, 'number');
    assert.ok(r.RequestTime >= 0 && r.RequestTime < 500, `RequestTime ${r.RequestTime} ms`);
    assert.equal(r.APIID, 'healthy');
    assert.equal(r.OrgID, 'org-up');
    assert.ok(Array.isArray(r.TimeStamp) && r.TimeStamp.length === 2, 'time.Time as [sec, nsec]');
    assert.ok(r.TimeStamp[0] >= t0 - 1 && r.TimeStamp[0] <= t0 + 10);
    const d = new Date(r.TimeStamp[0] * 1000);
    assert.deepEqual([r.Year, r.Month, r.Day, r.Hour, r.Minute],
      [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes()], 'local time parts');
    assert.equal(r.ExpireAt[0] - r.TimeStamp[0], 3600, 'expire_utime_after');
    const other = byUrl(recs, err500)[0] || byUrl(recs, dead)[0];
    assert.ok(other, 'records for the other checks too');
    const years = (other.ExpireAt[0] - other.TimeStamp[0]) / (365 * 24 * 3600);
    assert.ok(Math.abs(years - 100) < 0.01, `no expire_utime_after: 100 years, got ${years}`);
    // The checker hits the URL itself, one request per round, and closes the connection.
    const hits = up.requests.filter((q) => q.url === '/health');
    assert.ok(hits.length >= 2);
    assert.equal(hits[0].method, 'GET');
    assert.equal(hits[0].headers.connection, 'close');
  }));

  it('a closed port gives TCPError with code 521; a 500 gives ServerError', T(async () => {
    let recs = [];
    await waitFor(async () => byUrl(recs = await records(redis.port), dead).length >= 1
      && byUrl(recs, err500).length >= 1, { timeoutMs: 10000, what: 'records for the failing checks' });
    const d = byUrl(recs, dead)[0];
    assert.equal(d.TCPError, true);
    assert.equal(d.ResponseCode, 521, 'Tyk records 521 for TCP errors');
    assert.equal(d.ServerError, false, 'Tyk computes ServerError before the 521 override');
    assert.equal(d.APIID, 'dead');
    const e = byUrl(recs, err500)[0];
    assert.equal(e.ResponseCode, 500);
    assert.equal(e.ServerError, true);
    assert.equal(e.TCPError, false);
  }));

  it('sends the configured method, headers and base64-decoded body', T(async () => {
    await waitFor(() => up.requests.some((q) => q.url === '/post-check'), { timeoutMs: 10000, what: 'POST check' });
    const q = up.requests.find((x) => x.url === '/post-check');
    assert.equal(q.method, 'POST');
    assert.equal(q.headers['x-check'], 'yes');
    assert.equal(q.body.toString(), 'hello uptime');
  }));

  it('tcp checks: connect + send/expect pass, a closed port or a wrong answer fail', T(async () => {
    let recs = [];
    await waitFor(async () => [tcpOk, tcpDead, tcpExpect].every((u) => byUrl(recs, u).length >= 1)
      || (recs = await records(redis.port), false), { timeoutMs: 10000, what: 'tcp records' });
    const ok = byUrl(recs, tcpOk)[0];
    assert.equal(ok.ResponseCode, 200);
    assert.equal(ok.TCPError, false);
    const bad = byUrl(recs, tcpDead)[0];
    assert.equal(bad.TCPError, true);
    assert.equal(bad.ResponseCode, 521);
    const wrong = byUrl(recs, tcpExpect)[0];
    assert.equal(wrong.TCPError, true, 'expectation not met');
  }));

  it('failure_trigger_sample_size failures mark the host down (Redis marker, log), and it comes back up', T(async () => {
    const key = `host-checker:PollerCheckerInstance:127.0.0.1:${deadPort}`;
    await waitFor(async () => (await redisCommand(redis.port, 'GET', key)) === '1',
      { timeoutMs: 10000, what: 'down marker' });
    const ttl = Number(await redisCommand(redis.port, 'TTL', key));
    assert.ok(ttl > 0 && ttl <= 2, `marker TTL = time_wait × sample size, got ${ttl}`);
    await waitFor(() => new RegExp(`\\[HOST CHECKER\\] \\[HOST DOWN BUT NOT REACHED LIMIT\\]: ${dead}`).test(gw.logs()) &&
      new RegExp(`Host is DOWN: ${dead}`).test(gw.logs()), { timeoutMs: 5000, what: 'host-down log lines' });
    assert.equal(await redisCommand(redis.port, 'GET', `host-checker:PollerCheckerInstance:${new URL(up.url).host}`), null,
      'no marker for the healthy host');
    assert.equal(await redisCommand(redis.port, 'GET', 'host-checker:PollerActiveInstanceID') !== null, true,
      'this gateway holds the poller key');
    // Bring the host up: the same number of successes clears it.
    const srv = http.createServer((req, res) => { res.writeHead(200); res.end('ok'); });
    await new Promise((r) => srv.listen(deadPort, '127.0.0.1', r));
    try {
      await waitFor(async () => (await redisCommand(redis.port, 'GET', key)) === null,
        { timeoutMs: 10000, what: 'marker deleted once the host answers' });
      // The log line and the marker's DEL are two outputs of the same step: wait for both.
      await waitFor(() => new RegExp(`Host is UP: +${dead}`).test(gw.logs()),
        { timeoutMs: 5000, what: '"Host is UP" logged' });
    } finally {
      await new Promise((r) => srv.close(() => r()));
    }
  }));

  it('check_host_against_uptime_tests: the load balancer skips hosts marked down; none left → 503', T(async () => {
    await waitFor(async () => (await redisCommand(redis.port, 'GET', `host-checker:PollerCheckerInstance:127.0.0.1:${lbDeadPort}`)) === '1',
      { timeoutMs: 10000, what: 'LB dead host marked down' });
    for (let i = 0; i < 6; i++) {
      const r = await gw.get(`/lb/x${i}`);
      assert.equal(r.status, 200, `request ${i} went to the live target`);
    }
    const r = await gw.get('/alldown/x');
    assert.equal(r.status, 503);
    assert.equal(r.text, 'all hosts are down\n');
  }));

  it('a second gateway on the same Redis does not poll, and follows the poller\'s down markers', T(async () => {
    const gw2 = await startGateway({
      redis, apis: [keylessApi({
        api_id: 'alldown', org_id: 'org-up', listen_path: '/alldown/', target_url: `http://127.0.0.1:${lbDeadPort}`,
        proxy: { enable_load_balancing: true, check_host_against_uptime_tests: true, target_list: [`http://127.0.0.1:${lbDeadPort}`] },
        uptime_tests: { check_list: [{ url: `http://127.0.0.1:${lbDeadPort}/gw2-health` }] },
      })],
      conf: { uptime_tests: { config: { time_wait: 1, enable_uptime_analytics: true } } },
    });
    try {
      await waitFor(async () => (await gw2.get('/alldown/x')).status === 503, { timeoutMs: 5000, what: 'gw2 sees the marker' });
      await sleep(1500);
      assert.doesNotMatch(gw2.logs(), /Starting Poller/);
      assert.equal(byUrl(await records(redis.port), `http://127.0.0.1:${lbDeadPort}/gw2-health`).length, 0,
        'the follower runs no checks');
    } finally {
      await gw2.stop();
    }
  }));
});

describe('uptime tests switched off', { timeout: 30000 }, () => {
  let gwOff, gwNoRec, redisOff, redisNoRec, up;
  before(async () => {
    up = await startUpstream();
    redisOff = await startRedis();
    redisNoRec = await startRedis();
    const apis = [api('healthy', [{ url: `${up.url}/off-health` }])];
    gwOff = await startGateway({
      redis: redisOff, apis,
      conf: { uptime_tests: { disable: true, config: { time_wait: 1, enable_uptime_analytics: true } } },
    });
    gwNoRec = await startGateway({
      redis: redisNoRec, apis: [api('healthy', [{ url: `${up.url}/norec-health` }])],
      conf: { uptime_tests: { config: { time_wait: 1, enable_uptime_analytics: false } } },
    });
  });
  after(async () => { await gwOff?.stop(); await gwNoRec?.stop(); await up?.close(); await redisOff?.stop(); await redisNoRec?.stop(); });

  it('uptime_tests.disable: no checks, no records, no poller key', async () => {
    await waitFor(() => up.requests.some((q) => q.url === '/norec-health'), { timeoutMs: 10000, what: 'the other gateway checks' });
    await sleep(1500);
    assert.equal(up.requests.filter((q) => q.url === '/off-health').length, 0, 'no check requests');
    assert.deepEqual(await records(redisOff.port), []);
    assert.equal(await redisCommand(redisOff.port, 'GET', 'host-checker:PollerActiveInstanceID'), null);
    assert.match(gwOff.logs(), /uptime tests are disabled/);
  });

  it('enable_uptime_analytics false: checks run, no records are written', async () => {
    await waitFor(() => up.requests.filter((q) => q.url === '/norec-health').length >= 2, { timeoutMs: 10000, what: 'two checks' });
    await sleep(500);
    assert.deepEqual(await records(redisNoRec.port), []);
  });
});
