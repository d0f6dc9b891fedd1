// SPDX-License-Identifier: Apache-2.0
// Hot reload under load (spec/gateway.md §15) and pub/sub signing (§7.3).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startGateway, keylessApi, withLogs, NODE_SECRET } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { request } from '../lib/http.mjs';
import { sleep, waitFor } from '../lib/procs.mjs';

const CHANNEL = 'tyk.cluster.notifications';

export function signedMessage(command, payload, secret = NODE_SECRET) {
  const signature = crypto.createHash('sha256').update(command + payload + secret).digest('hex');
  return JSON.stringify({ command, payload, signature, algorithm: 5 });
}

describe('hot reload', () => {
  let gw, up;
  const T = withLogs(() => gw);

  before(async () => {
    up = await startUpstream(undefined, { name: 'up' });
    gw = await startGateway({
      apis: [
        keylessApi({ api_id: 'stable', listen_path: '/stable/', target_url: up.url }),
        keylessApi({ api_id: 'marker', listen_path: '/marker/', target_url: `${up.url}/v0` }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  async function markerVersion() {
    const r = await gw.get('/marker/probe', { timeoutMs: 3000 });
    if (r.status !== 200) return null;
    const m = /^\/v(\d+)\//.exec(r.json().url);
    return m ? Number(m[1]) : null;
  }

  it('≥ 20 reloads (/tyk/reload, SIGHUP, signed pub/sub) under load: zero failed requests', { timeout: 120000 }, T(async () => {
    let stop = false;
    const stats = { ok: 0, fail: 0, errors: [] };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const record = (p) => p.then((r) => {
      if (r.status === 200) stats.ok++;
      else { stats.fail++; if (stats.errors.length < 10) stats.errors.push(`status ${r.status}: ${r.text.slice(0, 100)}`); }
    }, (e) => { stats.fail++; if (stats.errors.length < 10) stats.errors.push(e.message); });
    const keepAliveClient = async (i) => {
      while (!stop) await record(request(`${gw.url}/stable/ka${i}`, { agent, timeoutMs: 5000 }));
    };
    const freshClient = async () => {
      while (!stop) await record(request(`${gw.url}/stable/fresh`, { timeoutMs: 5000 }));
    };
    const loops = [...Array(8).keys()].map(keepAliveClient).concat([freshClient(), freshClient()]);

    const methods = ['api', 'sighup', 'pubsub'];
    const done = [];
    try {
      for (let i = 1; i <= 21; i++) {
        const how = methods[i % 3];
        gw.writeApi(keylessApi({ api_id: 'marker', listen_path: '/marker/', target_url: `${up.url}/v${i}` }));
        if (how === 'api') {
          await gw.reload({ block: true });
        } else if (how === 'sighup') {
          process.kill(gw.pid, 'SIGHUP');
        } else {
          const n = await gw.redis.command('PUBLISH', CHANNEL, signedMessage('ApiUpdated', `marker-${i}`));
          assert.ok(n >= 1, 'gateway is subscribed to tyk.cluster.notifications');
        }
        await waitFor(async () => (await markerVersion()) === i,
          { timeoutMs: 6000, intervalMs: 50, what: `reload #${i} via ${how}` });
        done.push(how);
      }
    } finally {
      stop = true;
      await Promise.all(loops);
      agent.destroy();
    }
    assert.equal(done.length, 21);
    assert.ok(stats.ok > 100, `only ${stats.ok} requests went through`);
    assert.equal(stats.fail, 0, `${stats.fail} failed of ${stats.ok + stats.fail}: ${stats.errors.join(' | ')}`);
  }));

  it('unsigned or wrongly signed pub/sub messages are ignored', { timeout: 20000 }, T(async () => {
    gw.writeApi(keylessApi({ api_id: 'unsigned', listen_path: '/unsigned/', target_url: up.url }));
    await gw.redis.command('PUBLISH', CHANNEL, JSON.stringify({ command: 'ApiUpdated', payload: 'x' }));
    await gw.redis.command('PUBLISH', CHANNEL, signedMessage('ApiUpdated', 'x', 'wrong-secret'));
    await gw.redis.command('PUBLISH', CHANNEL, JSON.stringify({ command: 'ApiUpdated', payload: 'x', signature: '', algorithm: 5 }));
    await sleep(3000);
    assert.equal((await gw.get('/unsigned/x')).status, 404, 'unsigned notification must not reload');
    await gw.redis.command('PUBLISH', CHANNEL, signedMessage('ApiUpdated', 'x'));
    await waitFor(async () => (await gw.get('/unsigned/x')).status === 200, { timeoutMs: 6000, what: 'signed reload' });
  }));

  it('a broken API file does not take down the loaded APIs; a new good file goes live', T(async () => {
    gw.writeApi({ file: 'broken.json', content: '{"api_id": "broken", "proxy": ' });
    gw.writeApi(keylessApi({ api_id: 'fresh', listen_path: '/fresh/', target_url: up.url }));
    await gw.reload();
    assert.equal((await gw.get('/stable/x')).status, 200);
    assert.equal((await gw.get('/fresh/x')).status, 200);
    assert.equal((await gw.get('/broken/x')).status, 404);
  }));

  it('a removed API file goes away after reload', T(async () => {
    gw.removeApi('fresh');
    await gw.reload();
    assert.equal((await gw.get('/fresh/x')).status, 404);
    assert.equal((await gw.get('/stable/x')).status, 200);
  }));
});

describe('allow_insecure_configs', () => {
  let gw, up;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({ conf: { allow_insecure_configs: true } });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('unsigned ApiUpdated is accepted', T(async () => {
    gw.writeApi(keylessApi({ api_id: 'unsigned', listen_path: '/unsigned/', target_url: up.url }));
    await gw.redis.command('PUBLISH', CHANNEL, JSON.stringify({ command: 'ApiUpdated', payload: 'x' }));
    await waitFor(async () => (await gw.get('/unsigned/x')).status === 200, { timeoutMs: 6000, what: 'unsigned reload' });
  }));
});
