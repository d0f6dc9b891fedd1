// SPDX-License-Identifier: Apache-2.0
// Admin API: organisations and the bootstrap flow (org, admin user, password), on SQLite and
// PostgreSQL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES, DASH_NODE_SECRET } from '../lib/dashboard.mjs';
import { redisSubscribe } from '../lib/redis.mjs';

after(stopSharedPostgres);

for (const storage of STORAGES) {
  describe(`admin API (${storage})`, () => {
    let dash;
    before(async () => { dash = await startDashboard({ storage }); });
    after(async () => { await dash?.stop(); });

    it('refuses a missing or wrong admin-auth with 401', async () => {
      for (const secret of [null, 'wrong']) {
        const r = await dash.admin('GET', '/admin/organisations', undefined, { secret });
        assert.equal(r.status, 401);
        assert.deepEqual(r.json(), { Status: 'Error', Message: 'Not authorised', Meta: null });
      }
    });

    it('creates, lists, gets, updates and deletes organisations', async () => {
      const c = await dash.admin('POST', '/admin/organisations', { owner_name: 'Acme', owner_slug: 'acme' });
      assert.equal(c.status, 200);
      const body = c.json();
      assert.equal(body.Status, 'OK');
      assert.equal(body.Message, 'Org created');
      assert.match(body.Meta, /^[0-9a-f]{24}$/);
      const id = body.Meta;
      const g = await dash.admin('GET', `/admin/organisations/${id}`);
      assert.equal(g.status, 200);
      assert.equal(g.json().owner_name, 'Acme');
      assert.equal(g.json().id, id);
      const u = await dash.admin('PUT', `/admin/organisations/${id}`, { owner_name: 'Acme Ltd', owner_slug: 'acme' });
      assert.equal(u.status, 200);
      assert.equal((await dash.admin('GET', `/admin/organisations/${id}`)).json().owner_name, 'Acme Ltd');
      const l = await dash.admin('GET', '/admin/organisations');
      assert.equal(l.status, 200);
      assert.ok(l.json().organisations.some((o) => o.id === id));
      assert.equal(typeof l.json().pages, 'number');
      const d = await dash.admin('DELETE', `/admin/organisations/${id}`);
      assert.equal(d.status, 200);
      assert.equal((await dash.admin('GET', `/admin/organisations/${id}`)).status, 404);
      assert.equal((await dash.admin('DELETE', `/admin/organisations/${id}`)).status, 404);
    });

    it('imports an organisation keeping its id, and refuses a duplicate', async () => {
      const org = { id: '5e9d9544a1dcd60001d0ed20', owner_name: 'Imported' };
      assert.equal((await dash.admin('POST', '/admin/organisations/import', org)).status, 200);
      assert.equal((await dash.admin('GET', `/admin/organisations/${org.id}`)).json().owner_name, 'Imported');
      assert.equal((await dash.admin('POST', '/admin/organisations/import', org)).status, 409);
    });

    it('pages organisations by page_size', async () => {
      for (let i = 0; i < 12; i++) await dash.admin('POST', '/admin/organisations', { owner_name: `P${i}` });
      const all = (await dash.admin('GET', '/admin/organisations')).json().organisations.length;
      const p1 = (await dash.admin('GET', '/admin/organisations?p=1')).json();
      assert.equal(p1.organisations.length, 10);
      assert.equal(p1.pages, Math.ceil(all / 10));
      const p2 = (await dash.admin('GET', `/admin/organisations?p=${p1.pages}`)).json();
      assert.equal(p2.organisations.length, all - 10 * (p1.pages - 1));
    });

    it('bootstraps an admin user whose key and password work', async () => {
      const b = await bootstrapOrg(dash);
      assert.match(b.key, /^[0-9a-f]{32}$/);
      const g = await dash.admin('GET', `/admin/users/${b.userId}`);
      assert.equal(g.status, 200);
      assert.equal(g.json().email_address, b.email);
      assert.equal(g.json().password, '', 'the password hash is never sent');
      // A second password change needs the current one.
      const bad = await dash.api(b.key, 'POST', `/api/users/${b.userId}/actions/reset`,
        { current_password: 'nope-nope', new_password: 'Another-123' });
      assert.equal(bad.status, 401);
      const ok = await dash.api(b.key, 'POST', `/api/users/${b.userId}/actions/reset`,
        { current_password: b.password, new_password: 'Another-123' });
      assert.equal(ok.status, 200);
      assert.equal((await dash.api('0'.repeat(32), 'POST', `/api/users/${b.userId}/actions/reset`,
        { new_password: 'x-123456' })).status, 401);
    });

    it('refuses bad user objects with 400/403, storing nothing', async () => {
      const b = await bootstrapOrg(dash);
      const cases = [
        [{ org_id: b.orgId, email_address: 'not-an-email' }, 400],
        [{ org_id: b.orgId, email_address: 'x@example.com', first_name: 7 }, 400],
        [{ org_id: b.orgId, email_address: 'x@example.com', surprise: true }, 400],
        [{ org_id: b.orgId, email_address: b.email }, 403],
        [{ org_id: 'no-such-org', email_address: 'y@example.com' }, 400],
      ];
      for (const [body, status] of cases) {
        const r = await dash.admin('POST', '/admin/users', body);
        assert.equal(r.status, status, JSON.stringify(body) + ' → ' + r.text);
        assert.equal(r.json().Status, 'Error');
      }
      const m = await dash.admin('POST', '/admin/users', '{"org_id": ', { headers: { 'Content-Type': 'application/json' } });
      assert.equal(m.status, 400);
      assert.match(m.json().Message, /JSON/);
    });

    it('stores SQL-looking text verbatim', async () => {
      const name = "Robert'); DROP TABLE tyk_organizations;--";
      const c = await dash.admin('POST', '/admin/organisations', { owner_name: name });
      assert.equal(c.status, 200);
      assert.equal((await dash.admin('GET', `/admin/organisations/${c.json().Meta}`)).json().owner_name, name);
      assert.equal((await dash.admin('GET', '/admin/organisations')).status, 200);
    });

    it('asks the gateways to purge lapsed OAuth tokens (signed OAuthPurgeLapsedTokens)', async () => {
      assert.equal((await dash.admin('DELETE', '/admin/oauth/tokens')).status, 422);
      assert.equal((await dash.admin('DELETE', '/admin/oauth/tokens?scope=all')).status, 400);
      assert.equal((await dash.admin('DELETE', '/admin/oauth/tokens?scope=lapsed', undefined, { secret: 'x' })).status, 401);
      const sub = await redisSubscribe(dash.redis.port, 'tyk.cluster.notifications');
      try {
        const r = await dash.admin('DELETE', '/admin/oauth/tokens?scope=lapsed');
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json().Status, 'OK');
        const m = JSON.parse((await sub.waitFor((x) => x.message.includes('OAuthPurgeLapsedTokens'))).message);
        assert.equal(m.command, 'OAuthPurgeLapsedTokens');
        assert.equal(m.algorithm, 5);
        assert.equal(m.signature, crypto.createHash('sha256').update(m.command + m.payload + DASH_NODE_SECRET).digest('hex'));
      } finally {
        sub.close();
      }
      assert.deepEqual((await dash.admin('GET', '/admin/system/reload')).json(), { status: 'ok' });
    });

    it('answers 413 to an oversized body and 404 to unknown paths', async () => {
      const big = JSON.stringify({ owner_name: 'x'.repeat(11 * 1024 * 1024) });
      const r = await dash.admin('POST', '/admin/organisations', big, { headers: { 'Content-Type': 'application/json' } });
      assert.equal(r.status, 413);
      assert.equal((await dash.admin('GET', '/admin/nothing-here')).status, 404);
    });
  });
}
