// SPDX-License-Identifier: Apache-2.0
// More events (Tyk's event_handlers): AuthFailure from basic auth, HMAC and JWT; OrgQuotaExceeded
// and OrgRateLimitExceeded from OrganizationMonitor (enforce_org_quotas); VersionFailure for an
// unknown version (with its Reason through a custom template); and the quota trigger monitor
// for org sessions (monitor.monitor_org_keys: key "", the org's trigger_limits).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200);
      res.end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    got, url: `http://127.0.0.1:${server.address().port}`,
    of: (p) => got.filter((g) => g.url === p),
    close: () => { server.closeAllConnections(); return new Promise((r) => server.close(r)); },
  })));
}

const hook = (target, more = {}) => ({
  handler_name: 'eh_web_hook_handler',
  handler_meta: { method: 'POST', target_path: target, template_path: '', header_map: {}, event_timeout: 60, ...more },
});
const b64 = (s) => Buffer.from(s).toString('base64');
const b64url = (b) => Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const JWT_SECRET = 'events-more-jwt-secret';
function jwtHS256(claims, key) {
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(crypto.createHmac('sha256', key).update(input).digest())}`;
}
const unversioned = { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } };

function api(id, org, target, more = {}) {
  return {
    name: id, api_id: id, org_id: org, active: true, use_keyless: false,
    auth: { auth_header_name: 'Authorization' },
    version_data: unversioned,
    proxy: { listen_path: `/${id}/`, target_url: target, strip_listen_path: true },
    ...more,
  };
}
const on = (event, target, more) => ({ event_handlers: { events: { [event]: [hook(target, more)] } } });

describe('more events: auth methods, org limits, versions, org monitor', () => {
  let gw, up, rx, redis, dir;
  const T = withLogs(() => gw);
  const body = (p, i = 0) => JSON.parse(rx.of(p)[i].body);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-evmore-'));
    const tmpl = path.join(dir, 'version.json');
    fs.writeFileSync(tmpl, '{"event":"{{.Type}}","reason":"{{.Meta.Reason}}","path":"{{.Meta.Path}}","key":"{{.Meta.Key}}"}');
    redis = await startRedis();
    rx = await startReceiver();
    up = await startUpstream();
    gw = await startGateway({
      redis,
      conf: {
        hash_keys: true, hash_key_function: 'murmur32', enforce_org_quotas: true,
        monitor: {
          enable_trigger_monitors: true, monitor_user_keys: false, monitor_org_keys: true, global_trigger_limit: 0,
          configuration: { method: 'POST', target_path: `${rx.url}/monitor`, template_path: '', header_map: {}, event_timeout: 60 },
        },
      },
      apis: [
        api('basic', 'default', up.url, { use_basic_auth: true, ...on('AuthFailure', `${rx.url}/basic`) }),
        api('hmac', 'default', up.url, { enable_signature_checking: true, ...on('AuthFailure', `${rx.url}/hmac`) }),
        api('jwt', 'default', up.url, {
          enable_jwt: true, jwt_signing_method: 'hmac', jwt_source: b64(JWT_SECRET), jwt_default_policies: ['nopol'],
          ...on('AuthFailure', `${rx.url}/jwt`),
        }),
        api('oq', 'oqorg', up.url, { use_keyless: true, ...on('OrgQuotaExceeded', `${rx.url}/orgquota`) }),
        api('or', 'ororg', up.url, { use_keyless: true, ...on('OrgRateLimitExceeded', `${rx.url}/orgrate`) }),
        api('om', 'omorg', up.url, { use_keyless: true }),
        api('ver', 'default', up.url, {
          use_keyless: true,
          definition: { location: 'header', key: 'x-api-version' },
          version_data: { not_versioned: false, default_version: 'v1', versions: { v1: { name: 'v1' } } },
          ...on('VersionFailure', `${rx.url}/version`, { template_path: tmpl }),
        }),
      ],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await rx?.close(); await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('basic auth: an unknown user fires AuthFailure with the Authorization header as key', T(async () => {
    const auth = `Basic ${b64('nobody:secret')}`;
    const r = await gw.get('/basic/x', { headers: { Authorization: auth } });
    assert.equal(r.status, 401);
    await waitFor(() => rx.of('/basic').length === 1, { what: 'basic AuthFailure webhook' });
    assert.deepEqual(body('/basic'), { event: 'AuthFailure', message: 'Auth Failure', path: '/basic/x', origin: '127.0.0.1', key: auth });
  }));

  it('basic auth: a wrong password fires AuthFailure too', T(async () => {
    const c = await gw.admin('POST', '/tyk/keys/alice', {
      org_id: 'default', basic_auth_data: { password: 'right' },
      access_rights: { basic: { api_id: 'basic', api_name: 'basic', versions: ['Default'] } },
    });
    assert.equal(c.status, 200, c.text);
    assert.equal((await gw.get('/basic/ok', { headers: { Authorization: `Basic ${b64('alice:right')}` } })).status, 200);
    const auth = `Basic ${b64('alice:wrong')}`;
    const r = await gw.get('/basic/pw', { headers: { Authorization: auth } });
    assert.equal(r.status, 401);
    await waitFor(() => rx.of('/basic').some((h) => JSON.parse(h.body).path === '/basic/pw'), { what: 'second AuthFailure' });
    assert.equal(JSON.parse(rx.of('/basic').find((h) => JSON.parse(h.body).path === '/basic/pw').body).key, auth);
  }));

  it('HMAC: a signature from an unknown key fires AuthFailure with the raw header as key', T(async () => {
    const date = new Date().toUTCString();
    const sig = encodeURIComponent(crypto.createHmac('sha1', 'x').update(`date: ${date}`).digest('base64'));
    const auth = `Signature keyId="nosuchhmackey",algorithm="hmac-sha1",signature="${sig}"`;
    const r = await gw.get('/hmac/x', { headers: { Date: date, Authorization: auth } });
    assert.equal(r.status, 400);
    await waitFor(() => rx.of('/hmac').length === 1, { what: 'HMAC AuthFailure webhook' });
    const b = body('/hmac');
    assert.equal(b.event, 'AuthFailure');
    assert.equal(b.message, 'Auth Failure');
    assert.equal(b.path, '/hmac/x');
    // the default template is Go html/template: quotes come out as &#34;
    assert.equal(b.key, auth.replace(/"/g, '&#34;'));
    // a malformed header is an AuthFailure too
    assert.equal((await gw.get('/hmac/bad', { headers: { Authorization: 'Signature nonsense' } })).status, 400);
    await waitFor(() => rx.of('/hmac').some((h) => JSON.parse(h.body).path === '/hmac/bad'), { what: 'malformed HMAC AuthFailure' });
  }));

  it('JWT: a token with a bad signature fires AuthFailure (403, empty key)', T(async () => {
    const tok = jwtHS256({ sub: 'someone', exp: Math.floor(Date.now() / 1000) + 600 }, 'not-the-secret');
    const r = await gw.get('/jwt/x', { headers: { Authorization: `Bearer ${tok}` } });
    assert.equal(r.status, 403);
    await waitFor(() => rx.of('/jwt').length === 1, { what: 'JWT AuthFailure webhook' });
    const b = body('/jwt');
    assert.equal(b.event, 'AuthFailure');
    assert.equal(b.path, '/jwt/x');
    assert.equal(b.key, '', 'Tyk reports the identity it found: none for a bad signature');
  }));

  it('OrgQuotaExceeded: org id as key, once the org quota is used up', T(async () => {
    await gw.admin('POST', '/tyk/org/keys/oqorg?reset_quota=1', { org_id: 'oqorg', quota_max: 2, quota_renewal_rate: 3600 });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await gw.get('/oq/x')).status);
    assert.deepEqual(codes, [200, 200, 403]);
    await waitFor(() => rx.of('/orgquota').length === 1, { what: 'OrgQuotaExceeded webhook' });
    assert.deepEqual(body('/orgquota'),
      { event: 'OrgQuotaExceeded', message: 'Organisation quota has been exceeded', path: '/oq/x', origin: '127.0.0.1', key: 'oqorg' });
  }));

  it('OrgRateLimitExceeded: org id as key', T(async () => {
    await gw.admin('POST', '/tyk/org/keys/ororg', { org_id: 'ororg', rate: 1, per: 60, quota_max: -1 });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await gw.get('/or/y')).status);
    assert.deepEqual(codes, [200, 403, 403]);
    await waitFor(() => rx.of('/orgrate').length === 1, { what: 'OrgRateLimitExceeded webhook' });
    assert.deepEqual(body('/orgrate'),
      { event: 'OrgRateLimitExceeded', message: 'Organisation rate limit has been exceeded', path: '/or/y', origin: '127.0.0.1', key: 'ororg' });
  }));

  it('VersionFailure: an unknown version, with its Reason and no key', T(async () => {
    assert.equal((await gw.get('/ver/x', { headers: { 'x-api-version': 'v1' } })).status, 200);
    const r = await gw.get('/ver/x', { headers: { 'x-api-version': 'v9' } });
    assert.equal(r.status, 403);
    await waitFor(() => rx.of('/version').length === 1, { what: 'VersionFailure webhook' });
    assert.equal(rx.of('/version')[0].headers['content-type'], 'application/json');
    assert.deepEqual(body('/version'),
      { event: 'VersionFailure', reason: 'This API version does not seem to exist', path: '/ver/x', key: '' });
  }));

  it('monitor_org_keys: the org session\'s trigger fires TriggerExceeded with an empty key', T(async () => {
    await gw.admin('POST', '/tyk/org/keys/omorg?reset_quota=1',
      { org_id: 'omorg', quota_max: 10, quota_renewal_rate: 3600, monitor: { trigger_limits: [50] } });
    for (let i = 0; i < 4; i++) assert.equal((await gw.get('/om/x')).status, 200);
    await sleep(300);
    assert.equal(rx.of('/monitor').length, 0, 'below 50 %');
    for (let i = 0; i < 2; i++) assert.equal((await gw.get('/om/x')).status, 200);
    await waitFor(() => rx.of('/monitor').length >= 1, { what: 'org TriggerExceeded webhook' });
    assert.deepEqual(body('/monitor'),
      { event: 'TriggerExceeded', message: 'Quota trigger reached', org: 'omorg', key: '', trigger_limit: '50' });
    // user keys are not monitored here (monitor_user_keys false): the org quota above never
    // fired for the keyless requests of other orgs either
    assert.ok(rx.of('/monitor').every((h) => JSON.parse(h.body).org === 'omorg'));
  }));
});
