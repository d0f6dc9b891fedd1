// SPDX-License-Identifier: Apache-2.0
// The audit log (audit.enabled, audit.path): every successful change through /api and /admin is
// recorded in the database and the file, never with passwords or keys; /api/audit-logs lists
// the caller's org's records with Tyk's filters and paging. On SQLite and PostgreSQL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES } from '../lib/dashboard.mjs';
import { makeTempDir } from '../lib/gateway.mjs';
import { waitFor } from '../lib/procs.mjs';

after(stopSharedPostgres);

const uniq = () => Math.random().toString(16).slice(2, 10);
const email = (p = 'u') => `${p}-${uniq()}@example.com`;
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

for (const storage of STORAGES) {
  describe(`dashboard audit log (${storage})`, () => {
    let dash;
    let org;
    let auditFile;
    let auditDir;
    const secretPassword = `Very-secret-${uniq()}`;
    let created; // {id, key}
    before(async () => {
      auditDir = makeTempDir('turnpike-audit-');
      auditFile = path.join(auditDir, 'audit.log');
      dash = await startDashboard({ storage, conf: { audit: { enabled: true, path: auditFile } } });
      org = await bootstrapOrg(dash);
      const c = await dash.api(org.key, 'POST', '/api/users',
        { email_address: email('audited'), password: secretPassword, user_permissions: { apis: 'read' }, active: true });
      assert.equal(c.status, 200, c.text);
      const id = c.json().Meta;
      created = { id, key: (await dash.api(org.key, 'GET', `/api/users/${id}`)).json().access_key };
      assert.equal((await dash.api(org.key, 'PUT', `/api/users/${id}`, { first_name: 'Audited' })).status, 200);
      assert.equal((await dash.api(org.key, 'POST', '/api/usergroups', { name: 'Audit group', user_permissions: { apis: 'read' } })).status, 200);
      assert.equal((await dash.api(org.key, 'PUT', `/api/users/${id}/actions/key/reset`)).status, 200);
      // neither a failed write nor a read is recorded
      assert.equal((await dash.api(org.key, 'POST', '/api/usergroups', { name: '' })).status, 400);
      assert.equal((await dash.api(org.key, 'GET', '/api/users')).status, 200);
    });
    after(async () => {
      await dash?.stop();
      if (auditDir) fs.rmSync(auditDir, { recursive: true, force: true });
    });

    const list = async (query = '', key = org.key) => {
      const r = await dash.api(key, 'GET', `/api/audit-logs${query}`);
      assert.equal(r.status, 200, r.text);
      return r.json();
    };

    it('records each successful write with who, what, where and the outcome', async () => {
      const { audit_logs: logs, pages } = await list();
      assert.equal(typeof pages, 'number');
      const me = org.email;
      // the org's own writes: the password set at bootstrap, user create + update, group create, key reset
      const actions = logs.map((l) => l.action);
      assert.deepEqual(actions, [
        'PUT /api/users/{id}/actions/key/reset',
        'POST /api/usergroups',
        'PUT /api/users/{id}',
        'POST /api/users',
        'POST /api/users/{id}/actions/reset',
      ], 'newest first; failed writes and reads are not recorded');
      const upd = logs[2];
      assert.match(upd.id, /^[0-9a-f]{24}$/);
      assert.equal(upd._id, upd.id);
      assert.match(upd.req_id, /^[0-9a-f-]{36}$/);
      assert.equal(upd.org_id, org.orgId);
      assert.equal(upd.user, me);
      assert.equal(upd.user_id, org.userId);
      assert.equal(upd.method, 'PUT');
      assert.equal(upd.url, `/api/users/${created.id}`);
      assert.equal(upd.status, 200);
      assert.equal(upd.ip, '127.0.0.1');
      assert.ok(Math.abs(upd.timestamp - Date.now() / 1000) < 120);
      assert.match(upd.date, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
      const one = await dash.api(org.key, 'GET', `/api/audit-logs/${upd.id}`);
      assert.equal(one.status, 200);
      assert.deepEqual(one.json(), upd);
    });

    it('filters by user, action, method, status, ip, url and dates', async () => {
      const n = (await list()).audit_logs.length;
      assert.equal((await list(`?user=${encodeURIComponent(org.email)}`)).audit_logs.length, n);
      assert.equal((await list('?user=nobody%40example.com')).audit_logs.length, 0);
      assert.equal((await list(`?action=${encodeURIComponent('POST /api/users')}`)).audit_logs.length, 1);
      assert.equal((await list('?method=POST')).audit_logs.length, 3);
      assert.equal((await list('?method=put')).audit_logs.length, 2);
      assert.equal((await list('?status=200')).audit_logs.length, n);
      assert.equal((await list('?status=400')).audit_logs.length, 0);
      assert.equal((await list('?ip=127.0.0.1')).audit_logs.length, n);
      assert.equal((await list('?ip=10.0.0.1')).audit_logs.length, 0);
      assert.equal((await list('?url=usergroups')).audit_logs.length, 1);
      assert.equal((await list('?url=USERGROUPS')).audit_logs.length, 0, 'url is case-sensitive, as Tyk documents');
      assert.equal((await list('?url=%25')).audit_logs.length, 0, 'no LIKE wildcards');
      assert.equal((await list(`?from_date=${day(0)}&to_date=${day(0)}`)).audit_logs.length, n);
      assert.equal((await list(`?from_date=${day(1)}`)).audit_logs.length, 0);
      assert.equal((await list(`?to_date=${day(-1)}`)).audit_logs.length, 0);
      assert.equal((await list('?method=POST&url=users')).audit_logs.length, 2);
    });

    it('refuses malformed filters with 400', async () => {
      for (const q of ['?from_date=yesterday', '?to_date=2024-13-01', '?status=abc', '?status=2000',
        "?method=GET'%20OR%20'1'%3D'1", '?ip=1.2.3.4%22', '?from_date=2024-01-01%27']) {
        const r = await dash.api(org.key, 'GET', `/api/audit-logs${q}`);
        assert.equal(r.status, 400, `${q} → ${r.text}`);
        assert.equal(r.json().Status, 'Error');
      }
      assert.equal((await list("?user=x'%20OR%20'1'%3D'1")).audit_logs.length, 0);
      assert.equal((await list("?action=x'%3B%20DROP%20TABLE%20tyk_audit_logs%3B--")).audit_logs.length, 0);
      assert.ok((await list()).audit_logs.length > 0, 'the table is intact');
    });

    it('pages newest first by page_size', async () => {
      for (let i = 0; i < 10; i++) {
        assert.equal((await dash.api(org.key, 'POST', '/api/usergroups', { name: `P${i}`, user_permissions: { apis: 'read' } })).status, 200);
      }
      const all = (await list()).audit_logs;
      const p1 = await list('?p=1');
      assert.equal(p1.audit_logs.length, 10);
      assert.equal(p1.pages, Math.ceil(all.length / 10));
      assert.deepEqual(p1.audit_logs.map((l) => l.id), all.slice(0, 10).map((l) => l.id));
      const p2 = await list('?p=2');
      assert.deepEqual(p2.audit_logs.map((l) => l.id), all.slice(10, 20).map((l) => l.id));
    });

    it('downloads every match as JSON or CSV (no paging)', async () => {
      const all = (await list()).audit_logs;
      const j = await dash.api(org.key, 'GET', '/api/audit-logs?download=true&p=1');
      assert.equal(j.status, 200);
      assert.match(j.headers['content-disposition'], /attachment/);
      assert.deepEqual(j.json().map((r) => r.id), all.map((r) => r.id));
      const c = await dash.api(org.key, 'GET', '/api/audit-logs?download=true&type=csv&method=POST');
      assert.equal(c.status, 200);
      assert.match(c.headers['content-type'], /text\/csv/);
      const rows = c.text.trim().split('\r\n');
      assert.equal(rows[0], 'id,req_id,org_id,date,timestamp,ip,user,action,method,url,status');
      const posts = all.filter((r) => r.method === 'POST');
      assert.equal(rows.length, posts.length + 1);
      assert.ok(rows[1].startsWith(`${posts[0].id},`));
      assert.match(rows[1], /,"\w{3}, \d{2} \w{3} \d{4} [0-9:]{8} \+0000",/, 'a date with commas is quoted');
    });

    it('appends every record to audit.path as JSON lines', async () => {
      const db = (await list()).audit_logs;
      await waitFor(() => fs.existsSync(auditFile) &&
        fs.readFileSync(auditFile, 'utf8').trim().split('\n').length >= db.length + 2, { what: 'audit file lines' });
      const lines = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const ids = new Set(lines.map((l) => l.id));
      for (const r of db) assert.ok(ids.has(r.id), `record ${r.id} is in the file`);
      // the Admin API's writes are there too (org and user creation)
      assert.ok(lines.some((l) => l.action === 'POST /admin/organisations' && l.user === 'admin-api'));
      assert.ok(lines.some((l) => l.action === 'POST /admin/users'));
    });

    it('never writes passwords or access keys to the log', async () => {
      const fileText = fs.readFileSync(auditFile, 'utf8');
      const apiText = (await dash.api(org.key, 'GET', '/api/audit-logs')).text;
      const newKey = (await dash.admin('GET', `/admin/users/${created.id}`)).json().access_key;
      for (const secret of [secretPassword, org.password, org.key, created.key, newKey]) {
        assert.ok(!fileText.includes(secret), 'not in the file');
        assert.ok(!apiText.includes(secret), 'not in the API');
      }
      assert.ok(!fileText.includes('$2'), 'no password hash');
    });

    it('masks keys in recorded paths (/api/keys/{keyId})', async (t) => {
      // needs the keys resource and a gateway behind tyk_api_config (other suites' set-up)
      let envMod;
      try { envMod = await import('./gateway-env.mjs'); } catch { t.skip('gateway-env.mjs not available'); return; }
      const { startUpstream } = await import('../lib/upstream.mjs');
      const up = await startUpstream();
      const env = await envMod.startDashWithGateway(storage, { dashConf: { audit: { enabled: true } } });
      try {
        const o = await bootstrapOrg(env.dash);
        const apiId = `audit${storage}`;
        await envMod.addApi(env, o, envMod.authApi(o, apiId, `/${apiId}/`, up.url));
        const secretKey = `auditsecret${uniq()}WXYZ`;
        const c = await env.dash.api(o.key, 'POST', `/api/keys/${secretKey}`,
          { rate: 100, per: 1, access_rights: { [apiId]: { api_id: apiId, api_name: apiId, versions: ['Default'] } } });
        if (c.status !== 200) { t.skip(`custom keys not available: ${c.status} ${c.text}`); return; }
        const r = await env.dash.api(o.key, 'GET', `/api/audit-logs?url=${encodeURIComponent('/api/keys/')}`);
        const rec = r.json().audit_logs.find((l) => l.action === 'POST /api/keys/{keyId}');
        assert.ok(rec, r.text);
        assert.equal(rec.url, '/api/keys/****WXYZ');
        assert.ok(!r.text.includes(secretKey));
      } finally { await env.stop(); await up.close(); }
    });

    it('needs the audit_logs permission and stays inside the org', async () => {
      const r = await dash.api(org.key, 'POST', '/api/users', { email_address: email(), user_permissions: { apis: 'read' }, active: true });
      const key = (await dash.api(org.key, 'GET', `/api/users/${r.json().Meta}`)).json().access_key;
      const denied = await dash.api(key, 'GET', '/api/audit-logs');
      assert.equal(denied.status, 403);
      assert.equal(denied.json().Message, 'access denied: You do not have permission to access  /api/audit-logs');
      const other = await bootstrapOrg(dash);
      const theirs = await list('', other.key);
      assert.ok(theirs.audit_logs.every((l) => l.org_id === other.orgId));
      const mine = (await list()).audit_logs[0];
      assert.equal((await dash.api(other.key, 'GET', `/api/audit-logs/${mine.id}`)).status, 404);
      assert.equal((await dash.api(org.key, 'GET', '/api/audit-logs/nope')).status, 404);
    });
  });
}
