// SPDX-License-Identifier: Apache-2.0
// Dashboard API: classic APIs (/api/apis) and Tyk OAS APIs (/api/apis/oas) on SQLite and
// PostgreSQL — CRUD, paging, search, validation (nothing stored on a refusal), listen-path
// uniqueness, SQL-ish text, cross-org isolation, RBAC and the signed notifications to gateways.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES, DASH_NODE_SECRET } from '../lib/dashboard.mjs';
import { redisSubscribe, startRedis } from '../lib/redis.mjs';
import { startGateway } from '../lib/gateway.mjs';
import { waitFor } from '../lib/procs.mjs';
import { startUpstream } from '../lib/upstream.mjs';

after(stopSharedPostgres);

let seq = 0;
/* A minimal valid wrapper; @over is merged into api_definition. */
function wrapper(over = {}) {
  const n = ++seq;
  return {
    api_definition: {
      name: `API ${n}`,
      use_keyless: true,
      active: true,
      proxy: { listen_path: `/api-${n}-${process.pid}/`, target_url: 'http://127.0.0.1:9/', strip_listen_path: true },
      version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
      ...over,
    },
  };
}

function oasDoc(over = {}) {
  const n = ++seq;
  return {
    openapi: '3.0.3',
    info: { title: `OAS ${n}`, version: '1.0.0' },
    paths: {},
    'x-tyk-api-gateway': {
      info: { name: `OAS ${n}`, state: { active: true } },
      upstream: { url: 'http://127.0.0.1:9/' },
      server: { listenPath: { value: `/oas-${n}/`, strip: true } },
      ...over,
    },
  };
}

const signature = (m) => crypto.createHash('sha256').update(m.command + m.payload + DASH_NODE_SECRET).digest('hex');

for (const storage of STORAGES) {
  describe(`dashboard APIs (${storage})`, () => {
    let dash, A, B;
    const count = async (who = A) => (await dash.api(who.key, 'GET', '/api/apis?p=0')).json().apis.length;
    const create = async (w, who = A) => dash.api(who.key, 'POST', '/api/apis', w);

    before(async () => {
      dash = await startDashboard({ storage, conf: { notify_on_change: true } });
      A = await bootstrapOrg(dash, { name: 'Org A' });
      B = await bootstrapOrg(dash, { name: 'Org B' });
    });
    after(async () => { await dash?.stop(); });

    it('creates, gets (by id or api_id), updates and deletes a classic API', async () => {
      const w = wrapper({ org_id: 'someone-elses-org', custom_field_kept: { deep: [1, 2] } });
      const c = await create(w);
      assert.equal(c.status, 200, c.text);
      const body = c.json();
      assert.equal(body.Status, 'OK');
      assert.equal(body.Message, 'API created');
      assert.match(body.Meta, /^[0-9a-f]{24}$/);
      assert.match(body.ID, /^[0-9a-f]{32}$/);
      for (const id of [body.Meta, body.ID]) {
        const g = await dash.api(A.key, 'GET', `/api/apis/${id}`);
        assert.equal(g.status, 200);
        const got = g.json();
        assert.equal(got.api_definition.id, body.Meta);
        assert.equal(got.api_definition.api_id, body.ID);
        assert.equal(got.api_definition.org_id, A.orgId, 'org_id is always the caller\'s');
        assert.equal(got.api_definition.name, w.api_definition.name);
        assert.deepEqual(got.api_definition.custom_field_kept, { deep: [1, 2] }, 'unknown definition fields are kept');
        assert.deepEqual(got.hook_references, []);
        assert.deepEqual(got.user_owners, []);
        assert.equal(got.is_site, false);
      }
      const before = (await dash.api(A.key, 'GET', `/api/apis/${body.ID}`)).json();
      const upd = structuredClone(before);
      upd.api_definition.name = 'Renamed API';
      const u = await dash.api(A.key, 'PUT', `/api/apis/${body.ID}`, upd);
      assert.equal(u.status, 200, u.text);
      assert.deepEqual(u.json(), { Status: 'OK', Message: 'Api updated', Meta: '' });
      const after1 = (await dash.api(A.key, 'GET', `/api/apis/${body.Meta}`)).json();
      assert.equal(after1.api_definition.name, 'Renamed API');
      assert.equal(after1.created_at, before.created_at);
      const d = await dash.api(A.key, 'DELETE', `/api/apis/${body.Meta}`);
      assert.equal(d.status, 200);
      assert.deepEqual(d.json(), { Status: 'OK', Message: 'API deleted', Meta: null });
      const gone = await dash.api(A.key, 'GET', `/api/apis/${body.ID}`);
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.json(), { Status: 'Error', Message: 'API not found', Meta: null });
      assert.equal((await dash.api(A.key, 'DELETE', `/api/apis/${body.ID}`)).status, 404);
      assert.equal((await dash.api(A.key, 'PUT', `/api/apis/${body.ID}`, upd)).status, 404);
    });

    it('keeps a given api_id and refuses one already taken', async () => {
      const apiId = `given-${Date.now()}`;
      const c = await create(wrapper({ api_id: apiId }));
      assert.equal(c.status, 200, c.text);
      assert.equal(c.json().ID, apiId);
      const dup = await create(wrapper({ api_id: apiId }));
      assert.equal(dup.status, 409);
      assert.match(dup.json().Message, /already exists/);
      assert.equal((await create(wrapper({ api_id: 'bad/id' }))).status, 400);
    });

    it('pages and searches the list', async () => {
      const tag = `Pager${Date.now()}`;
      for (let i = 0; i < 12; i++) assert.equal((await create(wrapper({ name: `${tag} ${i}` }))).status, 200);
      const all = (await dash.api(A.key, 'GET', '/api/apis')).json();
      const p1 = (await dash.api(A.key, 'GET', '/api/apis?p=1')).json();
      assert.equal(p1.apis.length, 10);
      assert.equal(p1.pages, Math.ceil(all.apis.length / 10));
      const p2 = (await dash.api(A.key, 'GET', '/api/apis?p=2')).json();
      assert.equal(p2.apis.length, Math.min(10, all.apis.length - 10));
      assert.equal(new Set([...p1.apis, ...p2.apis].map((w) => w.api_definition.id)).size, p1.apis.length + p2.apis.length);
      for (const path of [`/api/apis?q=${tag.toLowerCase()}`, `/api/apis/search?q=${tag}`]) {
        const s = (await dash.api(A.key, 'GET', path)).json();
        assert.equal(s.apis.length, 12, path);
        assert.ok(s.apis.every((w) => w.api_definition.name.startsWith(tag)));
      }
      const one = (await dash.api(A.key, 'GET', `/api/apis/search?q=${encodeURIComponent(`${tag} 11`)}`)).json();
      assert.deepEqual(one.apis.map((w) => w.api_definition.name), [`${tag} 11`]);
    });

    it('refuses invalid definitions with a clear 4xx and stores nothing', async () => {
      const base = () => wrapper();
      const cases = [
        ['malformed JSON', '{"api_definition": {', 400, /JSON|json/],
        ['an array', [], 400, /object/],
        ['a bare definition', base().api_definition, 400, /unknown field "name"/],
        ['an unknown top-level field', { ...base(), surprise: 1 }, 400, /unknown field "surprise"/],
        ['no api_definition', { hook_references: [] }, 400, /api_definition/],
        ['no name', wrapper({ name: undefined }), 400, /name is required/],
        ['an empty name', wrapper({ name: '' }), 400, /name is required/],
        ['no proxy', wrapper({ proxy: undefined }), 400, /proxy is required/],
        ['proxy not an object', wrapper({ proxy: 'x' }), 400, /proxy must be an object/],
        ['a relative listen_path', wrapper({ proxy: { listen_path: 'rel/', target_url: 'http://a/' } }), 422, /must start with "\/"/],
        ['a numeric listen_path', wrapper({ proxy: { listen_path: 5, target_url: 'http://a/' } }), 400, /listen_path must be a string/],
        ['no target_url', wrapper({ proxy: { listen_path: '/nt/' } }), 422, /target_url/],
        ['an ftp target_url', wrapper({ proxy: { listen_path: '/ftp/', target_url: 'ftp://a/' } }), 422, /target_url/],
        ['a target_url without host', wrapper({ proxy: { listen_path: '/nh/', target_url: 'http://' } }), 422, /target_url/],
        ['active as a string', wrapper({ active: 'yes' }), 400, /active must be a boolean/],
        ['use_keyless as a number', wrapper({ use_keyless: 1 }), 400, /use_keyless must be a boolean/],
        ['version_data as a string', wrapper({ version_data: 'v1' }), 400, /version_data must be an object/],
        ['a version that is not an object', wrapper({ version_data: { versions: { Default: 3 } } }), 400, /versions.Default must be an object/],
        ['a bad extended_paths regex', wrapper({
          version_data: { not_versioned: true, versions: { Default: { name: 'Default', use_extended_paths: true,
            extended_paths: { ignored: [{ path: '/foo/[unclosed', method_actions: {} }] } } } },
        }), 422, /extended_paths\.ignored\[0\]\.path.*not a valid path pattern/],
        ['a bad url_rewrites pattern', wrapper({
          version_data: { not_versioned: true, versions: { Default: { name: 'Default',
            extended_paths: { url_rewrites: [{ path: '/r', method: 'GET', match_pattern: '(open', rewrite_to: '/x' }] } } } },
        }), 422, /url_rewrites\[0\]\.match_pattern/],
        ['tags with a number', wrapper({ tags: ['ok', 7] }), 400, /tags\[1\] must be a string/],
        ['a Tyk OAS wrapper on the classic endpoint', { ...base(), oas: { openapi: '3.0.3' } }, 400, /\/api\/apis\/oas/],
      ];
      const n0 = await count();
      for (const [what, body, status, msg] of cases) {
        const r = await dash.api(A.key, 'POST', '/api/apis', body, typeof body === 'string' ? { headers: { 'Content-Type': 'application/json' } } : undefined);
        assert.equal(r.status, status, `${what}: ${r.text}`);
        assert.equal(r.json().Status, 'Error', what);
        assert.match(r.json().Message, msg, what);
      }
      assert.equal(await count(), n0, 'nothing was stored');
      // what is allowed: service discovery without a target, a {param} path, an internal API
      const sd = wrapper({ proxy: { listen_path: `/sd-${seq}/`, service_discovery: { use_discovery_service: true } } });
      assert.equal((await create(sd)).status, 200);
      // no listen path: Tyk's default, /<api_id>/
      const nolp = await create(wrapper({ proxy: { target_url: 'http://a/' } }));
      assert.equal(nolp.status, 200, nolp.text);
      const nolpDoc = (await dash.api(A.key, 'GET', `/api/apis/${nolp.json().ID}`)).json();
      assert.equal(nolpDoc.api_definition.proxy.listen_path, `/${nolp.json().ID}/`);
      const param = wrapper();
      param.api_definition.version_data.versions.Default.extended_paths = { white_list: [{ path: '/users/{id}/orders', method_actions: {} }] };
      assert.equal((await create(param)).status, 200);
    });

    it('keeps listen paths unique within an organisation', async () => {
      const lp = `/unique-${Date.now()}`;
      const first = await create(wrapper({ proxy: { listen_path: `${lp}/`, target_url: 'http://a/' } }));
      assert.equal(first.status, 200);
      for (const path of [`${lp}/`, lp]) {
        const r = await create(wrapper({ proxy: { listen_path: path, target_url: 'http://a/' } }));
        assert.equal(r.status, 409, path);
        assert.match(r.json().Message, /listen path .* already used/);
      }
      // another host is another route
      assert.equal((await create(wrapper({ domain: 'other.example', proxy: { listen_path: `${lp}/`, target_url: 'http://a/' } }))).status, 409,
        'an API without a domain listens on every host');
      // another organisation may use the same path
      assert.equal((await create(wrapper({ proxy: { listen_path: `${lp}/`, target_url: 'http://a/' } }), B)).status, 200);
      // updating an API keeps its own path; taking another's is refused
      const second = await create(wrapper());
      const doc = (await dash.api(A.key, 'GET', `/api/apis/${second.json().ID}`)).json();
      doc.api_definition.name = 'still mine';
      assert.equal((await dash.api(A.key, 'PUT', `/api/apis/${second.json().ID}`, doc)).status, 200);
      doc.api_definition.proxy.listen_path = `${lp}/`;
      const steal = await dash.api(A.key, 'PUT', `/api/apis/${second.json().ID}`, doc);
      assert.equal(steal.status, 409);
      const kept = (await dash.api(A.key, 'GET', `/api/apis/${second.json().ID}`)).json();
      assert.equal(kept.api_definition.name, 'still mine', 'the refused update changed nothing');
    });

    it('stores SQL-ish text verbatim and never lets it change a query', async () => {
      const evil = "x'); DROP TABLE tyk_apis; --";
      const w = wrapper({ name: evil, proxy: { listen_path: "/sql'--/", target_url: "http://h/?q='OR'1'='1'--" } });
      const c = await create(w);
      assert.equal(c.status, 200, c.text);
      const got = (await dash.api(A.key, 'GET', `/api/apis/${c.json().ID}`)).json();
      assert.equal(got.api_definition.name, evil);
      assert.equal(got.api_definition.proxy.listen_path, "/sql'--/");
      assert.equal(got.api_definition.proxy.target_url, "http://h/?q='OR'1'='1'--");
      const s = (await dash.api(A.key, 'GET', `/api/apis?q=${encodeURIComponent("' OR '1'='1")}`)).json();
      assert.equal(s.apis.length, 0);
      const pct = (await dash.api(A.key, 'GET', `/api/apis?q=${encodeURIComponent('%')}`)).json();
      assert.equal(pct.apis.length, 0, '% is a literal in q=');
      assert.equal((await dash.api(A.key, 'GET', `/api/apis/${encodeURIComponent("' OR 1=1 --")}`)).status, 404);
      assert.ok((await count()) > 0, 'the table is still there');
    });

    it('isolates organisations', async () => {
      const c = await create(wrapper({ name: 'A secret API' }));
      const { Meta: id, ID: apiId } = c.json();
      for (const ref of [id, apiId]) {
        assert.equal((await dash.api(B.key, 'GET', `/api/apis/${ref}`)).status, 404);
        assert.equal((await dash.api(B.key, 'DELETE', `/api/apis/${ref}`)).status, 404);
        assert.equal((await dash.api(B.key, 'PUT', `/api/apis/${ref}`, wrapper())).status, 404);
      }
      const listB = (await dash.api(B.key, 'GET', '/api/apis?p=0')).json().apis;
      assert.ok(listB.every((w) => w.api_definition.org_id === B.orgId));
      assert.ok(!listB.some((w) => w.api_definition.id === id));
      assert.equal((await dash.api(B.key, 'GET', '/api/apis/search?q=secret')).json().apis.length, 0);
      assert.equal((await dash.api(A.key, 'GET', `/api/apis/${id}`)).json().api_definition.name, 'A secret API');
    });

    it('enforces the apis permission', async () => {
      const R = await bootstrapOrg(dash, { name: 'Readers', permissions: { apis: 'read' } });
      assert.equal((await dash.api(R.key, 'GET', '/api/apis')).status, 200);
      const r = await dash.api(R.key, 'POST', '/api/apis', wrapper());
      assert.equal(r.status, 403);
      assert.equal(r.json().Status, 'Error');
      assert.match(r.json().Message, /^access denied: You do not have permission to access\s+\/api\/apis$/);
      const N = await bootstrapOrg(dash, { name: 'No APIs', permissions: { policy: 'write' } });
      assert.equal((await dash.api(N.key, 'GET', '/api/apis')).status, 403);
      assert.equal((await dash.api(null, 'GET', '/api/apis')).status, 401);
    });

    it('tells gateways about every change, signed with the node secret', async () => {
      const sub = await redisSubscribe(dash.redis.port, 'tyk.cluster.notifications');
      try {
        assert.equal((await create(wrapper({ active: 'no' }))).status, 400);
        const c = await create(wrapper());
        const apiId = c.json().ID;
        const doc = (await dash.api(A.key, 'GET', `/api/apis/${apiId}`)).json();
        assert.equal((await dash.api(A.key, 'PUT', `/api/apis/${apiId}`, doc)).status, 200);
        assert.equal((await dash.api(A.key, 'DELETE', `/api/apis/${apiId}`)).status, 200);
        const seen = [];
        for (const command of ['ApiAdded', 'ApiUpdated', 'ApiRemoved']) {
          const m = JSON.parse((await sub.waitFor((x) => JSON.parse(x.message).command === command)).message);
          assert.equal(m.payload, apiId, command);
          assert.equal(m.algorithm, 5);
          assert.equal(m.signature, signature(m), `${command} signature`);
          seen.push(m);
        }
        assert.equal(sub.messages.length, 3, 'the refused create published nothing');
      } finally { sub.close(); }
    });

    it('handles Tyk OAS APIs', async () => {
      const sub = await redisSubscribe(dash.redis.port, 'tyk.cluster.notifications');
      try {
        const doc = oasDoc();
        const c = await dash.api(A.key, 'POST', '/api/apis/oas', doc);
        assert.equal(c.status, 200, c.text);
        const { ID: apiId, Meta: id } = c.json();
        assert.equal(c.json().Message, 'API created');
        assert.match(apiId, /^[0-9a-f]{32}$/);
        const m = JSON.parse((await sub.waitFor((x) => JSON.parse(x.message).command === 'ApiAdded')).message);
        assert.equal(m.payload, apiId);
        assert.equal(m.signature, signature(m));
        const g = (await dash.api(A.key, 'GET', `/api/apis/oas/${apiId}`)).json();
        assert.equal(g.info.title, doc.info.title);
        assert.equal(g['x-tyk-api-gateway'].info.id, apiId);
        assert.equal(g['x-tyk-api-gateway'].info.orgId, A.orgId);
        const w = (await dash.api(A.key, 'GET', `/api/apis/${id}`)).json();
        assert.equal(w.api_definition.is_oas, true);
        assert.equal(w.api_definition.api_id, apiId);
        assert.equal(w.api_definition.org_id, A.orgId);
        assert.equal(w.api_definition.proxy.listen_path, doc['x-tyk-api-gateway'].server.listenPath.value);
        assert.equal(w.api_definition.proxy.target_url, 'http://127.0.0.1:9/');
        assert.equal(w.api_definition.use_keyless, true);
        assert.equal(w.oas.info.title, doc.info.title);
        const list = (await dash.api(A.key, 'GET', '/api/apis/oas')).json();
        assert.ok(list.apis.some((o) => o['x-tyk-api-gateway'].info.id === apiId));
        assert.ok(list.apis.every((o) => o['x-tyk-api-gateway']), 'only OAS APIs');
        assert.equal(typeof list.pages, 'number');
        // update through the OAS endpoint; the classic one refuses
        const upd = structuredClone(g);
        upd['x-tyk-api-gateway'].upstream.url = 'https://upstream.example/';
        const u = await dash.api(A.key, 'PUT', `/api/apis/oas/${apiId}`, upd);
        assert.equal(u.status, 200, u.text);
        assert.equal((await dash.api(A.key, 'GET', `/api/apis/${apiId}`)).json().api_definition.proxy.target_url, 'https://upstream.example/');
        assert.equal((await dash.api(A.key, 'PUT', `/api/apis/${apiId}`, w)).status, 400);
        // a classic API is not served as OAS
        const classic = (await create(wrapper())).json().ID;
        assert.equal((await dash.api(A.key, 'GET', `/api/apis/oas/${classic}`)).status, 400);
        // another org does not see it
        assert.equal((await dash.api(B.key, 'GET', `/api/apis/oas/${apiId}`)).status, 404);
        assert.ok(!(await dash.api(B.key, 'GET', '/api/apis/oas')).json().apis.some((o) => o['x-tyk-api-gateway'].info.id === apiId));
        const d = await dash.api(A.key, 'DELETE', `/api/apis/oas/${apiId}`);
        assert.equal(d.status, 200);
        assert.equal((await dash.api(A.key, 'GET', `/api/apis/oas/${apiId}`)).status, 404);
      } finally { sub.close(); }
    });

    it('refuses invalid Tyk OAS documents and stores nothing', async () => {
      const taken = oasDoc();
      assert.equal((await dash.api(A.key, 'POST', '/api/apis/oas', taken)).status, 200);
      const without = (path) => { const d = oasDoc(); let o = d; const ks = path.split('.'); for (const k of ks.slice(0, -1)) o = o[k]; delete o[ks.at(-1)]; return d; };
      const cases = [
        ['no x-tyk-api-gateway', without('x-tyk-api-gateway'), 400, /x-tyk-api-gateway is required/],
        ['no openapi', without('openapi'), 400, /openapi/],
        ['no info', without('info'), 400, /info/],
        ['no name', without('x-tyk-api-gateway.info.name'), 400, /info\.name is required/],
        ['no listen path', without('x-tyk-api-gateway.server.listenPath'), 400, /listenPath\.value is required/],
        ['a relative listen path', oasDoc({ server: { listenPath: { value: 'x/' } } }), 422, /must start with "\/"/],
        ['no upstream', without('x-tyk-api-gateway.upstream'), 422, /upstream\.url/],
        ['a bad upstream', oasDoc({ upstream: { url: 'gopher://x' } }), 422, /upstream\.url/],
        ['active as a string', oasDoc({ info: { name: 'n', state: { active: 'yes' } } }), 400, /active must be a boolean/],
        ['a listen path in use', oasDoc({ server: { listenPath: { value: taken['x-tyk-api-gateway'].server.listenPath.value } } }), 409, /already used/],
      ];
      const n0 = await count();
      for (const [what, body, status, msg] of cases) {
        const r = await dash.api(A.key, 'POST', '/api/apis/oas', body);
        assert.equal(r.status, status, `${what}: ${r.text}`);
        assert.match(r.json().Message, msg, what);
      }
      assert.equal(await count(), n0);
    });
  });
}

/* What the stored documents are for: a gateway in dashboard mode loads them (through the
 * dashboard's /system routes) and follows every change on the notifications. */
describe('APIs and policies reach a dashboard-mode gateway', () => {
  let redis, dash, gw, up, A;
  const status = async (p) => (await gw.get(p, { timeoutMs: 3000 }).catch(() => ({ status: 0 }))).status;
  before(async () => {
    redis = await startRedis();
    up = await startUpstream((req, res) => { res.writeHead(200); res.end('upstream'); });
    dash = await startDashboard({ storage: 'sqlite', redis, conf: { notify_on_change: true } });
    A = await bootstrapOrg(dash, { name: 'Gateway org' });
    gw = await startGateway({ redis, conf: { use_db_app_configs: true, db_app_conf_options: { connection_string: dash.url },
      policies: { policy_source: 'service', policy_connection_string: dash.url } } });
  });
  after(async () => {
    await gw?.stop();
    await dash?.stop();
    await up?.close();
    await redis?.stop();
  });

  it('serves classic and OAS APIs created, changed and deleted here, and loads policies', async () => {
    const c = await dash.api(A.key, 'POST', '/api/apis', { api_definition: {
      name: 'Gateway classic', use_keyless: true, active: true,
      proxy: { listen_path: '/gw-classic/', target_url: up.url, strip_listen_path: true },
      version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
    } });
    assert.equal(c.status, 200, c.text);
    const apiId = c.json().ID;
    await waitFor(async () => (await status('/gw-classic/x')) === 200, { timeoutMs: 8000, what: 'classic API served' });

    const o = oasDoc({ upstream: { url: up.url }, server: { listenPath: { value: '/gw-oas/', strip: true } } });
    assert.equal((await dash.api(A.key, 'POST', '/api/apis/oas', o)).status, 200);
    await waitFor(async () => (await status('/gw-oas/x')) === 200, { timeoutMs: 8000, what: 'OAS API served' });

    const doc = (await dash.api(A.key, 'GET', `/api/apis/${apiId}`)).json();
    doc.api_definition.proxy.listen_path = '/gw-moved/';
    assert.equal((await dash.api(A.key, 'PUT', `/api/apis/${apiId}`, doc)).status, 200);
    await waitFor(async () => (await status('/gw-moved/x')) === 200, { timeoutMs: 8000, what: 'new listen path served' });
    assert.equal(await status('/gw-classic/x'), 404);

    const p = await dash.api(A.key, 'POST', '/api/portal/policies', { name: 'gw policy', rate: 7, per: 1,
      access_rights: { [apiId]: { versions: ['Default'] } } });
    assert.equal(p.status, 200, p.text);
    const polId = p.json().Message;
    await waitFor(async () => (await gw.admin('GET', `/tyk/policies/${polId}`)).status === 200,
      { timeoutMs: 8000, what: 'gateway has the policy' });
    assert.equal((await gw.admin('GET', `/tyk/policies/${polId}`)).json().rate, 7);

    assert.equal((await dash.api(A.key, 'DELETE', `/api/apis/${apiId}`)).status, 200);
    await waitFor(async () => (await status('/gw-moved/x')) === 404, { timeoutMs: 8000, what: 'deleted API gone' });
  });
});
