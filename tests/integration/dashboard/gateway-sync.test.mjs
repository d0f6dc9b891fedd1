// SPDX-License-Identifier: Apache-2.0
// Gateway <-> Dashboard sync: node registration and the one-time nonce chain, /system/apis and
// /system/policies, a real gateway in dashboard mode (use_db_app_configs) that serves what was
// imported or created in the Dashboard, segmentation tags, a wrong node secret, and a Dashboard
// that goes away (the gateway keeps what it has). On SQLite and PostgreSQL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES, DASH_NODE_SECRET } from '../lib/dashboard.mjs';
import { startGateway, keylessApi } from '../lib/gateway.mjs';
import { waitFor } from '../lib/procs.mjs';
import { freePort } from '../lib/ports.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startUpstream } from '../lib/upstream.mjs';

after(stopSharedPostgres);

const ORG = 'sync-org';

function wrapper(def) { return { api_definition: def, hook_references: [], is_site: false, sort_by: 0 }; }

function dashGateway(dash, redis) {
  return startGateway({ redis, conf: { use_db_app_configs: true, db_app_conf_options: { connection_string: dash.url } } });
}

// A node's call to the dashboard.
function nodeCall(dash, method, p, { secret = DASH_NODE_SECRET, node, nonce, session } = {}) {
  const headers = { authorization: secret, 'x-tyk-hostname': 'test-host' };
  if (node) headers['x-tyk-nodeid'] = node;
  if (nonce !== undefined) headers['x-tyk-nonce'] = nonce;
  if (session) headers['x-tyk-session-id'] = session;
  return dash.raw(method, p, undefined, headers);
}

const status = async (gw, p) => (await gw.get(p, { timeoutMs: 3000 }).catch(() => ({ status: 0 }))).status;

for (const storage of STORAGES) {
  describe(`gateway sync (${storage})`, () => {
    let redis, dash, up, gw;
    before(async () => {
      redis = await startRedis();
      up = await startUpstream();
      dash = await startDashboard({ storage, redis });
      gw = await dashGateway(dash, redis);
    });
    after(async () => {
      await gw?.stop().catch(() => {});
      await dash?.stop().catch(() => {});
      await up?.close();
      await redis?.stop();
    });

    it('registers nodes and accepts each nonce once (a replay is refused)', async () => {
      const bad = await nodeCall(dash, 'GET', '/register/node', { secret: 'wrong' });
      assert.equal(bad.status, 403);
      const reg = await nodeCall(dash, 'GET', '/register/node', { session: 'sess-1' });
      assert.equal(reg.status, 200);
      const { Status, Message, Nonce } = reg.json();
      assert.equal(Status, 'OK');
      assert.match(Message.NodeID, /^[0-9a-f]{24}$/);
      assert.ok(Nonce.length >= 16);
      const node = Message.NodeID;

      const p1 = await nodeCall(dash, 'GET', '/register/ping', { node, nonce: Nonce });
      assert.equal(p1.status, 200);
      const n2 = p1.json().Nonce;
      assert.notEqual(n2, Nonce);
      assert.equal(p1.json().Message.NodeID, node);

      const replay = await nodeCall(dash, 'GET', '/register/ping', { node, nonce: Nonce });
      assert.equal(replay.status, 403, 'an old nonce is refused');
      const forged = await nodeCall(dash, 'GET', '/system/apis', { node, nonce: 'made-up' });
      assert.equal(forged.status, 403);
      const noNode = await nodeCall(dash, 'GET', '/system/apis', { nonce: n2 });
      assert.equal(noNode.status, 403);

      // the rightful holder of the current nonce is not locked out by the replays
      const apis = await nodeCall(dash, 'GET', '/system/apis', { node, nonce: n2 });
      assert.equal(apis.status, 200);
      assert.ok(Array.isArray(apis.json().Message));
      const n3 = apis.json().Nonce;

      // same process (session) registering again keeps its node id
      const again = await nodeCall(dash, 'GET', '/register/node', { session: 'sess-1' });
      assert.equal(again.json().Message.NodeID, node);
      const n4 = again.json().Nonce;
      assert.equal((await nodeCall(dash, 'GET', '/register/ping', { node, nonce: n3 })).status, 403,
        'registering again restarts the chain');

      const del = await nodeCall(dash, 'DELETE', '/system/node', { node, nonce: n4, session: 'sess-1' });
      assert.equal(del.status, 200);
      const gone = await nodeCall(dash, 'GET', '/register/ping', { node, nonce: del.json().Nonce });
      assert.equal(gone.status, 403, 'a deregistered node is unknown');
    });

    it('shares the node registry and nonce chain between dashboards on one Redis and database', async () => {
      const main = dash.conf.storage.main;
      const other = await startDashboard({ storage, redis, postgresUrl: storage === 'postgres' ? main.connection_string : undefined,
        conf: storage === 'postgres' ? {} : { storage: { main } } });
      try {
        const reg = await nodeCall(dash, 'GET', '/register/node');
        const node = reg.json().Message.NodeID;
        const p = await nodeCall(other, 'GET', '/register/ping', { node, nonce: reg.json().Nonce });
        assert.equal(p.status, 200, 'the other dashboard knows the node and its nonce');
        assert.equal((await nodeCall(dash, 'GET', '/register/ping', { node, nonce: reg.json().Nonce })).status, 403,
          'a nonce used on one dashboard cannot be replayed on another');
        const apis = await nodeCall(dash, 'GET', '/system/apis', { node, nonce: p.json().Nonce });
        assert.equal(apis.status, 200);
        // concurrent calls with one nonce: exactly one wins
        const n = apis.json().Nonce;
        const rs = await Promise.all([dash, other, dash, other].map((d) => nodeCall(d, 'GET', '/register/ping', { node, nonce: n })));
        assert.deepEqual(rs.map((r) => r.status).sort(), [200, 403, 403, 403]);
      } finally {
        await other.stop();
      }
    });

    it('imports APIs and policies keeping their ids; bad imports store nothing', async () => {
      const def = keylessApi({ api_id: 'imp-1', listen_path: '/imp-lp-a/', target_url: up.url, org_id: ORG });
      def.id = '5f0c0c0c0c0c0c0c0c0c0c01';
      const r = await dash.admin('POST', '/admin/apis/import', { apis: [wrapper(def)] });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().Status, 'OK');

      // one bad element rejects the whole request
      const good = keylessApi({ api_id: 'imp-never', listen_path: '/imp-never/', target_url: up.url, org_id: ORG });
      const noOrg = keylessApi({ api_id: 'imp-bad', listen_path: '/imp-bad/', target_url: up.url });
      delete noOrg.org_id;
      const b = await dash.admin('POST', '/admin/apis/import', { apis: [wrapper(good), wrapper(noOrg)] });
      assert.equal(b.status, 400);
      assert.match(b.json().Message, /API 1: api_definition\.org_id is required/);
      for (const body of ['{"apis": 5}', '{"apis": [1]}', 'not json']) {
        const x = await dash.raw('POST', '/admin/apis/import', body, { 'admin-auth': 'test-admin-secret', 'Content-Type': 'application/json' });
        assert.equal(x.status, 400, body);
      }
      assert.equal((await dash.admin('POST', '/admin/apis/import', { apis: [] }, { secret: 'nope' })).status, 401);

      const pol = { _id: 'pol-imp-1', id: 'pol-imp-1', name: 'Imported', org_id: ORG, rate: 100, per: 60,
        quota_max: -1, access_rights: { 'imp-1': { api_id: 'imp-1', api_name: 'imp', versions: ['Default'] } } };
      const pr = await dash.admin('POST', '/admin/policies/import', { Data: [pol] });
      assert.equal(pr.status, 200, pr.text);
      const pb = await dash.admin('POST', '/admin/policies/import', { Data: [{ name: 'no org' }] });
      assert.equal(pb.status, 400);
      assert.match(pb.json().Message, /org_id is required/);

      // what a gateway gets
      const reg = (await nodeCall(dash, 'GET', '/register/node')).json();
      const list = await nodeCall(dash, 'GET', '/system/apis', { node: reg.Message.NodeID, nonce: reg.Nonce });
      const items = list.json().Message;
      const mine = items.find((i) => i.api_definition.api_id === 'imp-1');
      assert.ok(mine, 'imported API listed');
      assert.equal(mine.api_definition.id, '5f0c0c0c0c0c0c0c0c0c0c01', 'id kept');
      assert.equal(mine.oas, null);
      assert.ok(!items.some((i) => ['imp-never', 'imp-bad'].includes(i.api_definition.api_id)), 'rejected import stored nothing');
      const pols = await nodeCall(dash, 'GET', '/system/policies', { node: reg.Message.NodeID, nonce: list.json().Nonce });
      assert.equal(pols.status, 200);
      assert.ok(pols.json().Message.some((p) => p._id === 'pol-imp-1' && p.rate === 100));
    });

    it('a dashboard-mode gateway serves imported APIs and policies, and follows updates', async () => {
      await waitFor(async () => (await status(gw, '/imp-lp-a/x')) === 200, { timeoutMs: 8000, what: 'gateway serves imp-1' });
      await waitFor(async () => (await gw.admin('GET', '/tyk/policies/pol-imp-1')).status === 200,
        { timeoutMs: 8000, what: 'gateway has the imported policy' });
      assert.equal((await gw.admin('GET', '/tyk/policies/pol-imp-1')).json().rate, 100);
      const hello = (await gw.admin('GET', '/hello')).json();
      assert.equal(hello.details.dashboard.status, 'pass');
      assert.equal(hello.status, 'pass');

      // re-import with a new listen path: the notification reloads the gateway
      const def = keylessApi({ api_id: 'imp-1', listen_path: '/imp-lp-b/', target_url: up.url, org_id: ORG });
      assert.equal((await dash.admin('POST', '/admin/apis/import', { apis: [wrapper(def)] })).status, 200);
      await waitFor(async () => (await status(gw, '/imp-lp-b/x')) === 200, { timeoutMs: 4000, what: 'new listen path served' });
      assert.equal(await status(gw, '/imp-lp-a/x'), 404);
    });

    it('APIs created and deleted through the Dashboard API appear and disappear on the gateway', async () => {
      const { key } = await bootstrapOrg(dash);
      const def = keylessApi({ api_id: 'crud-1', listen_path: '/crud-1/', target_url: up.url });
      const c = await dash.api(key, 'POST', '/api/apis', { api_definition: def });
      assert.equal(c.status, 200, c.text);
      const id = c.json().Meta;
      await waitFor(async () => (await status(gw, '/crud-1/x')) === 200, { timeoutMs: 2000, what: 'created API served within 2 s' });
      const d = await dash.api(key, 'DELETE', `/api/apis/${id}`);
      assert.equal(d.status, 200, d.text);
      await waitFor(async () => (await status(gw, '/crud-1/x')) === 404, { timeoutMs: 2000, what: 'deleted API gone within 2 s' });
    });

    it("refuses API writes on the gateway's control API in dashboard mode, as Tyk does", async () => {
      const def = keylessApi({ api_id: 'ctl-w', listen_path: '/ctl-w/', target_url: up.url });
      for (const [m, p] of [['POST', '/tyk/apis'], ['PUT', '/tyk/apis/ctl-w'], ['DELETE', '/tyk/apis/ctl-w']]) {
        const r = await gw.admin(m, p, m === 'DELETE' ? undefined : def);
        assert.equal(r.status, 500, `${m} ${p}`);
        assert.equal(r.json().message, 'Due to enabled use_db_app_configs, please use the Dashboard API');
      }
      assert.equal((await gw.admin('GET', '/tyk/apis')).status, 200, 'reads still work');
    });

    it('a segmented node loads only APIs carrying one of its tags', async () => {
      const tagged = keylessApi({ api_id: 'seg-edge', listen_path: '/seg-edge/', target_url: up.url, org_id: ORG, tags: ['edge'] });
      const other = keylessApi({ api_id: 'seg-core', listen_path: '/seg-core/', target_url: up.url, org_id: ORG, tags: ['core'] });
      const off = keylessApi({ api_id: 'seg-off', listen_path: '/seg-off/', target_url: up.url, org_id: ORG, tags: ['edge'], tags_disabled: true });
      assert.equal((await dash.admin('POST', '/admin/apis/import', { apis: [wrapper(tagged), wrapper(other), wrapper(off)] })).status, 200);
      const seg = await startGateway({ redis, conf: { use_db_app_configs: true,
        db_app_conf_options: { connection_string: dash.url, node_is_segmented: true, tags: ['edge'] } } });
      try {
        await waitFor(async () => (await status(seg, '/seg-edge/x')) === 200, { timeoutMs: 8000, what: 'segment API served' });
        assert.equal(await status(seg, '/seg-core/x'), 404, 'other tag not loaded');
        assert.equal(await status(seg, '/seg-off/x'), 404, 'tags_disabled not loaded');
        assert.equal(await status(seg, '/imp-lp-b/x'), 404, 'untagged not loaded');
        // the unsegmented gateway loads everything
        await waitFor(async () => (await status(gw, '/seg-core/x')) === 200, { timeoutMs: 4000, what: 'all APIs on the unsegmented node' });
        assert.equal(await status(gw, '/seg-off/x'), 200);
      } finally {
        await seg.stop();
      }
      assert.match(seg.logs(), /node [0-9a-f]{24} deregistered/, 'deregisters (DELETE /system/node) on shutdown');
    });

    it('registers again when the dashboard forgets the node (403 on the heartbeat)', async () => {
      const before = (gw.logs().match(/node registered with/g) || []).length;
      const keys = await redis.command('KEYS', 'turnpike-dash-node:*');
      assert.ok(keys.length >= 1);
      await redis.command('DEL', ...keys);
      await waitFor(() => (gw.logs().match(/node registered with/g) || []).length > before,
        { timeoutMs: 8000, what: 'gateway registered again' });
      assert.match(gw.logs(), /heartbeat refused .*registering again/);
      await waitFor(async () => (await gw.admin('GET', '/hello')).json().details.dashboard.status === 'pass',
        { timeoutMs: 5000, what: 'dashboard healthy again' });
      assert.equal(await status(gw, '/imp-lp-b/x'), 200);
    });

    it('a gateway with the wrong node secret is refused, says why, and serves nothing', async () => {
      const bad = await startGateway({ redis, conf: { node_secret: 'not-the-secret', use_db_app_configs: true,
        db_app_conf_options: { connection_string: dash.url } } });
      try {
        await waitFor(() => /refused to register this node.*node_secret/.test(bad.logs()), { timeoutMs: 5000, what: 'refusal logged' });
        const hello = (await bad.admin('GET', '/hello')).json();
        assert.equal(hello.details.dashboard.status, 'fail');
        assert.equal(hello.status, 'warn');
        assert.equal(await status(bad, '/imp-lp-b/x'), 404);
      } finally {
        await bad.stop();
      }
    });

    it('keeps serving its APIs when the dashboard goes away, across reloads', async () => {
      assert.equal(await status(gw, '/imp-lp-b/x'), 200);
      await dash.stop();
      dash = null;
      await gw.reload();
      await waitFor(() => /keeping the \d+ loaded before/.test(gw.logs()), { timeoutMs: 5000, what: 'fallback logged' });
      assert.equal(await status(gw, '/imp-lp-b/x'), 200, 'still served after a reload without the dashboard');
      await waitFor(async () => (await gw.admin('GET', '/hello')).json().details.dashboard.status === 'fail',
        { timeoutMs: 6000, what: '/hello reports the dashboard down' });
      assert.equal((await gw.admin('GET', '/tyk/policies/pol-imp-1')).status, 200, 'policies kept too');
    });
  });

  describe(`dashboard outages (${storage})`, () => {
    it('serves nothing until the dashboard answers, then loads from it', async () => {
      const redis = await startRedis();
      const up = await startUpstream();
      const port = await freePort();
      let dash = null;
      const gw = await startGateway({ redis, conf: { use_db_app_configs: true,
        db_app_conf_options: { connection_string: `http://127.0.0.1:${port}` } } });
      try {
        await waitFor(() => /cannot register yet/.test(gw.logs()), { timeoutMs: 5000, what: 'registration retry logged' });
        const hello = (await gw.admin('GET', '/hello')).json();
        assert.equal(hello.details.dashboard.status, 'fail');
        assert.equal(hello.status, 'warn');
        dash = await startDashboard({ storage, redis, conf: { listen_port: port } });
        const def = keylessApi({ api_id: 'late-1', listen_path: '/late-1/', target_url: up.url, org_id: ORG });
        assert.equal((await dash.admin('POST', '/admin/apis/import', { apis: [wrapper(def)] })).status, 200);
        // registration is retried every 5 s; then the gateway reloads from the dashboard
        await waitFor(async () => (await status(gw, '/late-1/x')) === 200, { timeoutMs: 15000, what: 'API served once registered' });
        assert.equal((await gw.admin('GET', '/hello')).json().details.dashboard.status, 'pass');
      } finally {
        await gw.stop().catch(() => {});
        await dash?.stop().catch(() => {});
        await up.close();
        await redis.stop();
      }
    });

    it('refuses node calls with 503 while its Redis (the node registry) is down', async () => {
      const redis = await startRedis();
      const dash = await startDashboard({ storage, redis });
      try {
        assert.equal((await nodeCall(dash, 'GET', '/register/node')).status, 200);
        await redis.kill();
        const r = await nodeCall(dash, 'GET', '/register/node');
        assert.equal(r.status, 503);
        assert.match(r.json().Message, /Redis/);
        const p = await nodeCall(dash, 'GET', '/register/ping', { node: 'abc', nonce: 'x' });
        assert.equal(p.status, 503);
        await redis.start();
        await waitFor(async () => (await nodeCall(dash, 'GET', '/register/node')).status === 200,
          { timeoutMs: 5000, what: 'registration works again' });
      } finally {
        await dash.stop();
        await redis.stop();
      }
    });
  });
}
