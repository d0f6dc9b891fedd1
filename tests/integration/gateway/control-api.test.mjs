// SPDX-License-Identifier: Apache-2.0
// Control API (spec/gateway.md §6 common rules, §6.1, §6.2).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, keylessApi, withLogs, SECRET } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { redisSubscribe } from '../lib/redis.mjs';
import { freePort } from '../lib/ports.mjs';
import { request } from '../lib/http.mjs';
import { waitFor } from '../lib/procs.mjs';

const DENIED = { status: 'error', message: 'Attempted administrative access with invalid or missing key!' };
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function assertJson(r, status, body) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  if (body !== undefined) assert.deepEqual(r.json(), body);
}

describe('control API', () => {
  let gw, up;
  const T = withLogs(() => gw);

  before(async () => {
    up = await startUpstream(undefined, { name: 'up' });
    gw = await startGateway({
      conf: { liveness_check: { check_duration: 1 } },
      apis: [keylessApi({ api_id: 'existing', listen_path: '/existing/', target_url: up.url })],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('missing or wrong X-Tyk-Authorization → 403', T(async () => {
    assertJson(await gw.admin('GET', '/tyk/apis', undefined, { secret: null }), 403, DENIED);
    assertJson(await gw.admin('GET', '/tyk/apis', undefined, { secret: 'wrong' }), 403, DENIED);
    assertJson(await gw.admin('GET', '/tyk/reload', undefined, { secret: '' }), 403, DENIED);
    assertJson(await gw.admin('POST', '/tyk/apis', { api_id: 'x' }, { secret: `${SECRET}x` }), 403, DENIED);
  }));

  it('GET /tyk/apis lists the loaded definitions', T(async () => {
    const r = await gw.admin('GET', '/tyk/apis');
    assertJson(r, 200);
    const list = r.json();
    assert.ok(Array.isArray(list));
    const e = list.find((d) => d.api_id === 'existing');
    assert.ok(e, JSON.stringify(list).slice(0, 500));
    assert.equal(e.proxy.listen_path, '/existing/');
    assert.ok(r.text.endsWith('\n'), 'JSON encoded with a trailing newline');
  }));

  it('GET /tyk/apis/{id} and 404 for unknown ids', T(async () => {
    const r = await gw.admin('GET', '/tyk/apis/existing');
    assertJson(r, 200);
    assert.equal(r.json().api_id, 'existing');
    assert.equal(r.json().proxy.target_url, up.url);
    assertJson(await gw.admin('GET', '/tyk/apis/nope'), 404, { status: 'error', message: 'API not found' });
  }));

  it('trailing slashes are ignored', T(async () => {
    assertJson(await gw.admin('GET', '/tyk/apis/'), 200);
    const r = await gw.admin('GET', '/tyk/apis/existing/');
    assertJson(r, 200);
    assert.equal(r.json().api_id, 'existing');
  }));

  it('routes on the decoded path (a key sent percent-encoded is found), as Tyk does', T(async () => {
    const c = await gw.admin('POST', '/tyk/keys/pct-key=', { org_id: 'o', access_rights: { existing: { api_id: 'existing', versions: ['Default'] } }, rate: 1, per: 1, quota_max: -1 });
    assert.equal(c.status, 200, c.text);
    // every byte of the key percent-encoded: the control API must decode the path to find it
    const enc = [...Buffer.from(c.json().key)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
    const g = await gw.admin('GET', `/tyk/keys/${enc}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json().org_id, 'o');
    assert.equal((await gw.admin('GET', '/tyk/apis%2F')).status, 200, 'an encoded trailing slash is a trailing slash');
    assert.equal((await gw.admin('DELETE', `/tyk/keys/${enc}`)).status, 200);
  }));

  it('POST creates the file, not live until reload; reload?block=true makes it live', T(async () => {
    const def = keylessApi({ api_id: 'created1', listen_path: '/created1/', target_url: up.url });
    assertJson(await gw.admin('POST', '/tyk/apis', def), 200, { key: 'created1', status: 'ok', action: 'added' });
    const file = path.join(gw.appDir, 'created1.json');
    assert.ok(fs.existsSync(file), 'file written to app_path');
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).api_id, 'created1');
    assert.equal((await gw.get('/created1/x')).status, 404, 'not live before reload');
    assertJson(await gw.admin('GET', '/tyk/reload?block=true'), 200, { status: 'ok', message: '' });
    const r = await gw.get('/created1/x');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().upstream, 'up');
  }));

  it('POST without api_id generates one', T(async () => {
    const def = keylessApi({ api_id: '', listen_path: '/generated/', target_url: up.url });
    const r = await gw.admin('POST', '/tyk/apis', def);
    assertJson(r, 200);
    const body = r.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.action, 'added');
    assert.match(body.key, /^[0-9a-zA-Z-]{8,}$/);
    assert.ok(fs.existsSync(path.join(gw.appDir, `${body.key}.json`)));
    fs.unlinkSync(path.join(gw.appDir, `${body.key}.json`));
  }));

  it('PUT with a mismatching api_id → 400', T(async () => {
    const def = keylessApi({ api_id: 'other', listen_path: '/created1/', target_url: up.url });
    assertJson(await gw.admin('PUT', '/tyk/apis/created1', def), 400, {
      status: 'error',
      message: 'Request APIID does not match that in Definition! For Update operations these must match.',
    });
  }));

  it('PUT updates the file → action "modified"', T(async () => {
    const def = keylessApi({ api_id: 'created1', name: 'renamed', listen_path: '/created1/', target_url: up.url });
    assertJson(await gw.admin('PUT', '/tyk/apis/created1', def), 200, { key: 'created1', status: 'ok', action: 'modified' });
    assert.equal(JSON.parse(fs.readFileSync(path.join(gw.appDir, 'created1.json'), 'utf8')).name, 'renamed');
  }));

  it('DELETE removes the file → action "deleted"; unknown id → 404', T(async () => {
    assertJson(await gw.admin('DELETE', '/tyk/apis/created1'), 200, { key: 'created1', status: 'ok', action: 'deleted' });
    assert.ok(!fs.existsSync(path.join(gw.appDir, 'created1.json')));
    await gw.reload();
    assert.equal((await gw.get('/created1/x')).status, 404);
    const r = await gw.admin('DELETE', '/tyk/apis/created1');
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json().status, 'error');
  }));

  it('malformed JSON body → 400 "Request malformed"', T(async () => {
    const r = await request(`${gw.controlUrl}/tyk/apis`, { method: 'POST', body: '{"api_id": ',
      headers: { 'X-Tyk-Authorization': SECRET, 'Content-Type': 'application/json' } });
    assertJson(r, 400, { status: 'error', message: 'Request malformed' });
  }));

  it('unknown method on a known route → 405 "Method not supported"', T(async () => {
    assertJson(await gw.admin('PATCH', '/tyk/apis'), 405, { status: 'error', message: 'Method not supported' });
  }));

  it('GET /tyk/reload → {"status":"ok","message":""}', T(async () => {
    assertJson(await gw.admin('GET', '/tyk/reload'), 200, { status: 'ok', message: '' });
  }));

  it('GET /tyk/reload/group publishes GroupReload on tyk.cluster.notifications', T(async () => {
    const sub = await redisSubscribe(gw.redis.port, 'tyk.cluster.notifications');
    try {
      assertJson(await gw.admin('GET', '/tyk/reload/group'), 200, { status: 'ok', message: '' });
      const m = await sub.waitFor((x) => { try { return JSON.parse(x.message).command === 'GroupReload'; } catch { return false; } }, 5000);
      const msg = JSON.parse(m.message);
      assert.equal(msg.command, 'GroupReload');
      assert.equal(typeof msg.payload, 'string');
    } finally { sub.close(); }
  }));

  it('/hello reports health in Tyk\'s shape', T(async () => {
    const body = await waitFor(async () => {
      const r = await gw.admin('GET', '/hello', undefined, { secret: null });
      assert.equal(r.status, 200);
      const b = r.json();
      return b.details && b.details.redis ? { r, b } : null;
    }, { timeoutMs: 5000, what: '/hello details.redis' });
    const { r, b } = body;
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    assert.equal(b.status, 'pass');
    assert.equal(typeof b.version, 'string');
    assert.ok(b.version.length > 0);
    assert.equal(b.description, 'Tyk GW');
    assert.equal(b.details.redis.status, 'pass');
    assert.equal(b.details.redis.componentType, 'datastore');
    assert.match(b.details.redis.time, RFC3339);
  }));

  it('/hello rejects non-GET with 405', T(async () => {
    const r = await request(`${gw.controlUrl}/hello`, { method: 'POST', body: '' });
    assert.equal(r.status, 405);
  }));

  it('/ready → 200 "Tyk GW Ready"', T(async () => {
    const r = await request(`${gw.controlUrl}/ready`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().description, 'Tyk GW Ready');
  }));
});

describe('control_api_port', () => {
  let gw;
  const T = withLogs(() => gw);
  before(async () => {
    gw = await startGateway({ conf: { control_api_port: await freePort() } });
  });
  after(async () => { await gw?.stop(); });

  it('/tyk/* is served on the control port only', T(async () => {
    assert.notEqual(gw.controlPort, gw.port);
    const main = await request(`${gw.url}/tyk/apis`, { headers: { 'X-Tyk-Authorization': SECRET } });
    assert.equal(main.status, 404);
    const ctl = await gw.admin('GET', '/tyk/apis');
    assert.equal(ctl.status, 200, ctl.text);
    assert.ok(Array.isArray(ctl.json()));
  }));

  it('/hello is served on the control port', T(async () => {
    assert.equal((await request(`${gw.controlUrl}/hello`)).status, 200);
  }));
});

describe('health with Redis down', () => {
  let gw;
  const T = withLogs(() => gw);
  before(async () => {
    gw = await startGateway({ conf: { liveness_check: { check_duration: 1 } } });
  });
  after(async () => { await gw?.stop(); });

  it('/hello → details.redis "fail" and /ready → 503 while Redis is down; recovers after', { timeout: 40000 }, T(async () => {
    await gw.redis.stop();
    const b = await waitFor(async () => {
      const r = await request(`${gw.controlUrl}/hello`, { timeoutMs: 3000 });
      assert.equal(r.status, 200, r.text);
      const j = r.json();
      return j.details && j.details.redis && j.details.redis.status === 'fail' ? j : null;
    }, { timeoutMs: 10000, intervalMs: 200, what: '/hello redis fail' });
    assert.equal(b.status, 'fail');
    assert.equal(b.details.redis.componentType, 'datastore');
    const ready = await waitFor(async () => {
      const r = await request(`${gw.controlUrl}/ready`, { timeoutMs: 3000 });
      return r.status === 503 ? r : null;
    }, { timeoutMs: 10000, intervalMs: 200, what: '/ready 503' });
    assert.deepEqual(ready.json(), { status: 'error', message: 'Redis connection not available' });
    await gw.redis.restart();
    await waitFor(async () => {
      const r = await request(`${gw.controlUrl}/hello`, { timeoutMs: 3000 });
      return r.json().status === 'pass';
    }, { timeoutMs: 15000, intervalMs: 200, what: '/hello back to pass' });
    assert.equal((await request(`${gw.controlUrl}/ready`)).status, 200);
  }));
});
