// SPDX-License-Identifier: Apache-2.0
// Dashboard API users and user groups (/api/users, /api/usergroups), the Admin API's password
// reset grants, and single sign-on (/admin/sso, /api/sso, /tap), on SQLite and PostgreSQL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES, DASH_NODE_SECRET } from '../lib/dashboard.mjs';
import { redisCommand, redisSubscribe } from '../lib/redis.mjs';

after(stopSharedPostgres);

const uniq = () => Math.random().toString(16).slice(2, 10);
const email = (p = 'u') => `${p}-${uniq()}@example.com`;

for (const storage of STORAGES) {
  describe(`dashboard users and groups (${storage})`, () => {
    let dash;
    let org; // {orgId, userId, key, ...}: an admin of its org
    before(async () => {
      dash = await startDashboard({
        storage,
        conf: { sso_permission_defaults: { apis: 'read', users: 'read' }, turnpike_max_body_size: 65536 },
      });
      org = await bootstrapOrg(dash);
    });
    after(async () => { await dash?.stop(); });

    /* Creates a user through the Dashboard API as the org admin; → {id, key, email}. */
    async function createUser(body) {
      const r = await dash.api(org.key, 'POST', '/api/users', { email_address: email(), active: true, ...body });
      assert.equal(r.status, 200, r.text);
      const id = r.json().Meta;
      const g = await dash.api(org.key, 'GET', `/api/users/${id}`);
      assert.equal(g.status, 200, g.text);
      return { id, key: g.json().access_key, email: g.json().email_address };
    }
    const countUsers = async () => (await dash.api(org.key, 'GET', '/api/users')).json().users.length;

    it('creates, gets, lists, updates and deletes users in the caller\'s org', async () => {
      const e = email('crud');
      const c = await dash.api(org.key, 'POST', '/api/users', {
        first_name: 'Itachi', last_name: 'Uchiha', email_address: e, password: 'Secret-pass-1',
        active: true, user_permissions: { apis: 'read' },
      });
      assert.equal(c.status, 200, c.text);
      assert.equal(c.json().Status, 'OK');
      assert.equal(c.json().Message, 'User and session have been created');
      assert.match(c.json().Meta, /^[0-9a-f]{24}$/);
      const id = c.json().Meta;

      const g = await dash.api(org.key, 'GET', `/api/users/${id}`);
      assert.equal(g.status, 200);
      const u = g.json();
      assert.equal(u.email_address, e);
      assert.equal(u.org_id, org.orgId);
      assert.equal(u.first_name, 'Itachi');
      assert.deepEqual(u.user_permissions, { apis: 'read' });
      assert.match(u.access_key, /^[0-9a-f]{32}$/);
      assert.equal(u.password, '', 'the password hash is never sent');
      assert.ok(!g.text.includes('$2'), 'no bcrypt hash in the reply');

      const l = await dash.api(org.key, 'GET', '/api/users');
      assert.equal(l.status, 200);
      assert.equal(typeof l.json().pages, 'number');
      const listed = l.json().users.find((x) => x.id === id);
      assert.ok(listed);
      assert.equal(listed.password, '');
      assert.ok(!l.text.includes('$2'));

      const p = await dash.api(org.key, 'PUT', `/api/users/${id}`, { first_name: 'Sasuke', active: true });
      assert.equal(p.status, 200, p.text);
      assert.deepEqual(p.json(), { Status: 'OK', Message: 'User updated', Meta: null });
      const g2 = (await dash.api(org.key, 'GET', `/api/users/${id}`)).json();
      assert.equal(g2.first_name, 'Sasuke');
      assert.equal(g2.last_name, 'Uchiha', 'fields not sent are kept');
      assert.equal(g2.access_key, u.access_key);

      const d = await dash.api(org.key, 'DELETE', `/api/users/${id}`);
      assert.equal(d.status, 200);
      assert.equal(d.json().Message, 'User deleted');
      const gone = await dash.api(org.key, 'GET', `/api/users/${id}`);
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.json(), { Status: 'Error', Message: 'Could not retrieve user detail.', Meta: null });
      assert.equal((await dash.api(org.key, 'DELETE', `/api/users/${id}`)).status, 404);
      assert.equal((await dash.api(u.access_key, 'GET', '/api/users/me')).status, 401, 'a deleted user\'s key stops working');
    });

    it('pages users by page_size', async () => {
      for (let i = 0; i < 11; i++) await createUser({ user_permissions: { apis: 'read' } });
      const all = (await dash.api(org.key, 'GET', '/api/users')).json().users.length;
      assert.ok(all >= 12);
      const p1 = (await dash.api(org.key, 'GET', '/api/users?p=1')).json();
      assert.equal(p1.users.length, 10);
      assert.equal(p1.pages, Math.ceil(all / 10));
      const last = (await dash.api(org.key, 'GET', `/api/users?p=${p1.pages}`)).json();
      assert.equal(last.users.length, all - 10 * (p1.pages - 1));
      const everything = (await dash.api(org.key, 'GET', '/api/users?p=-1')).json();
      assert.equal(everything.users.length, all);
      assert.equal(everything.pages, 1);
    });

    it('searches users by email (POST with Tyk\'s filters, or email_address; GET ?q=)', async () => {
      const tag = uniq();
      const a = await createUser({ email_address: `search-${tag}-a@example.com`, user_permissions: { apis: 'read' } });
      await createUser({ email_address: `search-${tag}-b@example.com`, user_permissions: { apis: 'read' } });
      const s1 = await dash.api(org.key, 'POST', '/api/users/search', { filters: { query: `search-${tag}` } });
      assert.equal(s1.status, 200, s1.text);
      assert.equal(s1.json().users.length, 2);
      assert.equal(typeof s1.json().pages, 'number');
      const s2 = await dash.api(org.key, 'POST', '/api/users/search', { email_address: a.email });
      assert.deepEqual(s2.json().users.map((u) => u.id), [a.id]);
      assert.ok(s2.json().users.every((u) => u.password === ''));
      const s3 = await dash.api(org.key, 'GET', `/api/users/search?q=${encodeURIComponent(`search-${tag}-b`)}`);
      assert.equal(s3.json().users.length, 1);
      const none = await dash.api(org.key, 'POST', '/api/users/search', { filters: { query: "%' OR '1'='1" } });
      assert.equal(none.status, 200);
      assert.equal(none.json().users.length, 0, 'SQL-ish search text matches nothing');
      const bad = await dash.api(org.key, 'POST', '/api/users/search', { filters: { query: 7 } });
      assert.equal(bad.status, 400);
      assert.equal(bad.json().Message, 'Could not extract search filter from request body.');
    });

    it('GET /api/users/me returns the caller', async () => {
      const u = await createUser({ user_permissions: { apis: 'read' } });
      const r = await dash.api(u.key, 'GET', '/api/users/me');
      assert.equal(r.status, 200);
      assert.equal(r.json().id, u.id);
      assert.equal(r.json().password, '');
    });

    it('resets a user\'s access key: the old key stops working and gateways hear UserKeyReset', async () => {
      const u = await createUser({ user_permissions: { apis: 'read' } });
      const sub = await redisSubscribe(dash.redis.port, 'tyk.cluster.notifications');
      try {
        // self-service: no "users" permission needed for one's own key
        const r = await dash.api(u.key, 'PUT', `/api/users/${u.id}/actions/key/reset`);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json(), { Status: 'OK', Message: 'User session renewed', Meta: null });
        assert.equal((await dash.api(u.key, 'GET', '/api/users/me')).status, 401);
        const fresh = (await dash.admin('GET', `/admin/users/${u.id}`)).json().access_key;
        assert.match(fresh, /^[0-9a-f]{32}$/);
        assert.notEqual(fresh, u.key);
        assert.equal((await dash.api(fresh, 'GET', '/api/users/me')).status, 200);
        const m = await sub.waitFor((x) => JSON.parse(x.message).command === 'UserKeyReset');
        const n = JSON.parse(m.message);
        assert.equal(n.payload, `${u.key}.${fresh}:UserKeyReset`);
        assert.equal(n.algorithm, 5);
        const sig = crypto.createHash('sha256').update(n.command + n.payload + DASH_NODE_SECRET).digest('hex');
        assert.equal(n.signature, sig);
      } finally { sub.close(); }
      // an admin may reset anyone's key in its org
      const v = await createUser({ user_permissions: { apis: 'read' } });
      assert.equal((await dash.api(org.key, 'PUT', `/api/users/${v.id}/actions/key/reset`)).status, 200);
      assert.equal((await dash.api(v.key, 'GET', '/api/users/me')).status, 401);
    });

    it('revokes a user: its key is refused from then on', async () => {
      const u = await createUser({ user_permissions: { apis: 'read' } });
      assert.equal((await dash.api(u.key, 'GET', '/api/users/me')).status, 200);
      const r = await dash.api(org.key, 'PUT', `/api/users/${u.id}/actions/revoke`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { Status: 'OK', Message: 'User revoked', Meta: null });
      const g = await dash.api(u.key, 'GET', '/api/users/me');
      assert.equal(g.status, 401);
      assert.deepEqual(g.json(), { Status: 'Error', Message: 'Not authorised', Meta: null });
      assert.equal((await dash.api(org.key, 'GET', `/api/users/${u.id}`)).json().active, false);
    });

    it('refuses password, key and org changes through PUT /api/users/{id}', async () => {
      const u = await createUser({ user_permissions: { apis: 'read' } });
      for (const body of [{ password: 'Another-pass-1' }, { access_key: '0'.repeat(32) }, { org_id: 'another-org' }]) {
        const r = await dash.api(org.key, 'PUT', `/api/users/${u.id}`, body);
        assert.equal(r.status, 400, JSON.stringify(body));
      }
      assert.equal((await dash.api(u.key, 'GET', '/api/users/me')).status, 200, 'key unchanged');
    });

    it('refuses bad user objects with clear 4xx errors, storing nothing', async () => {
      const before = await countUsers();
      const cases = [
        ['{"email_address": "x@example.com", ', 400, /Malformed JSON/],
        ['[1,2]', 400, /JSON object/],
        ['', 400, /empty/],
        [{ email_address: 'not-an-email', user_permissions: { apis: 'read' } }, 400, /email/],
        [{ email_address: email(), first_name: 7, user_permissions: { apis: 'read' } }, 400, /first_name/],
        [{ email_address: email(), active: 'yes', user_permissions: { apis: 'read' } }, 400, /active/],
        [{ email_address: email(), surprise: true, user_permissions: { apis: 'read' } }, 400, /surprise/],
        [{ email_address: email(), user_permissions: { apis: 'everything' } }, 400, /user_permissions.apis/],
        [{ email_address: email(), user_permissions: ['apis'] }, 400, /user_permissions/],
        [{ email_address: email(), user_permissions: {} }, 403, /^To create a user specify at least one permission, or make them an admin\.$/],
        [{ email_address: email() }, 403, /at least one permission/],
        [{ email_address: email(), group_id: 'no-such-group' }, 400, /group/],
        [{ email_address: email(), org_id: 'another-org', user_permissions: { apis: 'read' } }, 400, /organisation/],
        [{ email_address: email(), user_permissions: { apis: 'read', ResetPassword: 'admin' } }, 403, /Admin API/],
        [{ email_address: org.email, user_permissions: { apis: 'read' } }, 403, /User email already exists for this org\./],
        [{ email_address: email(), password: '123', user_permissions: { apis: 'read' } }, 400, /Password/],
        [{ email_address: email(), first_name: 'x'.repeat(2000), user_permissions: { apis: 'read' } }, 400, /too long/],
      ];
      for (const [body, status, msg] of cases) {
        const r = await dash.api(org.key, 'POST', '/api/users', body,
          typeof body === 'string' ? { headers: { 'Content-Type': 'application/json' } } : undefined);
        assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)} → ${r.text}`);
        assert.equal(r.json().Status, 'Error');
        assert.match(r.json().Message, msg);
      }
      const big = await dash.api(org.key, 'POST', '/api/users',
        { email_address: email(), first_name: 'y'.repeat(70000), user_permissions: { apis: 'read' } });
      assert.equal(big.status, 413);
      assert.equal(await countUsers(), before, 'nothing was stored');
    });

    it('stores SQL-ish text verbatim and keeps working', async () => {
      const nasty = "Robert'); DROP TABLE tyk_analytics_users;-- \" \\ %_";
      const e = `o'brien+${uniq()}@example.com`;
      const u = await createUser({ email_address: e, first_name: nasty, last_name: "' OR 1=1 --", user_permissions: { apis: 'read' } });
      const g = (await dash.api(org.key, 'GET', `/api/users/${u.id}`)).json();
      assert.equal(g.first_name, nasty);
      assert.equal(g.last_name, "' OR 1=1 --");
      assert.equal(g.email_address, e);
      assert.equal((await dash.api(org.key, 'GET', `/api/users/${encodeURIComponent("x' OR '1'='1")}`)).status, 404);
      const s = await dash.api(org.key, 'POST', '/api/users/search', { email_address: "o'brien" });
      assert.ok(s.json().users.some((x) => x.id === u.id));
      assert.equal((await dash.api(org.key, 'GET', '/api/users')).status, 200);
    });

    it('grants and withdraws ResetPassword through the Admin API', async () => {
      const helper = await createUser({ user_permissions: { users: 'write' } });
      const target = await createUser({ user_permissions: { apis: 'read' } });
      const set = () => dash.api(helper.key, 'POST', `/api/users/${target.id}/actions/reset`, { new_password: 'Reset-by-helper-1' });
      assert.equal((await set()).status, 403);
      const a = await dash.admin('PUT', `/admin/users/${helper.id}/actions/allow_reset_passwords`);
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json().Message, 'User updated');
      assert.equal(a.json().Meta.user_permissions.ResetPassword, 'admin');
      assert.equal(a.json().Meta.password, '');
      const ok = await set();
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json().Message, 'User password updated');
      const d = await dash.admin('PUT', `/admin/users/${helper.id}/actions/disallow_reset_passwords`);
      assert.equal(d.status, 200);
      assert.equal(d.json().Meta.user_permissions.ResetPassword, undefined);
      assert.equal((await set()).status, 403);
      assert.equal((await dash.admin('PUT', `/admin/users/${'f'.repeat(24)}/actions/allow_reset_passwords`)).status, 404);
      // the Dashboard API cannot hand it out
      const p = await dash.api(org.key, 'PUT', `/api/users/${target.id}`, { user_permissions: { apis: 'read', ResetPassword: 'admin' } });
      assert.equal(p.status, 403);
    });

    it('user groups: CRUD, paging, and members take the group\'s permissions', async () => {
      const c = await dash.api(org.key, 'POST', '/api/usergroups', {
        name: 'Readers', description: 'can read users', user_permissions: { users: 'read' },
      });
      assert.equal(c.status, 200, c.text);
      assert.equal(c.json().Message, 'User group created');
      const gid = c.json().Meta;
      assert.match(gid, /^[0-9a-f]{24}$/);
      const g = await dash.api(org.key, 'GET', `/api/usergroups/${gid}`);
      assert.equal(g.status, 200);
      assert.equal(g.json().name, 'Readers');
      assert.equal(g.json().org_id, org.orgId);
      assert.equal(g.json().active, true);
      assert.deepEqual(g.json().user_permissions, { users: 'read' });
      const l = (await dash.api(org.key, 'GET', '/api/usergroups')).json();
      assert.ok(l.groups.some((x) => x.id === gid));
      assert.equal(typeof l.pages, 'number');

      // a member with no permissions of its own gets the group's
      const m = await createUser({ group_id: gid });
      assert.equal((await dash.api(m.key, 'GET', '/api/users')).status, 200);
      assert.equal((await dash.api(m.key, 'POST', '/api/users', { email_address: email(), user_permissions: { apis: 'read' } })).status, 403);
      const up = await dash.api(org.key, 'PUT', `/api/usergroups/${gid}`, { user_permissions: { users: 'write', apis: 'read' } });
      assert.equal(up.status, 200, up.text);
      assert.equal(up.json().Message, 'User group updated');
      assert.equal((await dash.api(org.key, 'GET', `/api/usergroups/${gid}`)).json().name, 'Readers', 'name kept');
      assert.equal((await dash.api(m.key, 'POST', '/api/users', { email_address: email(), user_permissions: { apis: 'read' } })).status, 200);

      // leaving the group with no permissions of its own would make the member an admin
      const leave = await dash.api(org.key, 'PUT', `/api/users/${m.id}`, { group_id: '' });
      assert.equal(leave.status, 403);
      assert.match(leave.json().Message, /at least one permission/);

      // deleting the group leaves its members with nothing (never with admin rights)
      const d = await dash.api(org.key, 'DELETE', `/api/usergroups/${gid}`);
      assert.equal(d.status, 200);
      assert.equal(d.json().Message, 'User group deleted');
      assert.equal((await dash.api(org.key, 'GET', `/api/usergroups/${gid}`)).status, 404);
      assert.equal((await dash.api(org.key, 'DELETE', `/api/usergroups/${gid}`)).status, 404);
      assert.equal((await dash.api(m.key, 'GET', '/api/users')).status, 403);
      assert.equal((await dash.api(m.key, 'GET', '/api/usergroups')).status, 403);

      for (let i = 0; i < 11; i++) {
        assert.equal((await dash.api(org.key, 'POST', '/api/usergroups', { name: `G${i}`, user_permissions: { apis: 'read' } })).status, 200);
      }
      const all = (await dash.api(org.key, 'GET', '/api/usergroups')).json().groups.length;
      const p1 = (await dash.api(org.key, 'GET', '/api/usergroups?p=1')).json();
      assert.equal(p1.groups.length, 10);
      assert.equal(p1.pages, Math.ceil(all / 10));
    });

    it('refuses bad user groups with clear 4xx errors, storing nothing', async () => {
      const count = async () => (await dash.api(org.key, 'GET', '/api/usergroups')).json().groups.length;
      const before = await count();
      const cases = [
        ['{"name": ', 400],
        [{ user_permissions: { apis: 'read' } }, 400],
        [{ name: '', user_permissions: { apis: 'read' } }, 400],
        [{ name: 5, user_permissions: { apis: 'read' } }, 400],
        [{ name: 'x' }, 400],
        [{ name: 'x', user_permissions: {} }, 400],
        [{ name: 'x', user_permissions: { apis: 'rw' } }, 400],
        [{ name: 'x', user_permissions: { apis: 'read' }, colour: 'red' }, 400],
        [{ name: 'x', user_permissions: { apis: 'read' }, active: 1 }, 400],
        [{ name: 'x', user_permissions: { apis: 'read' }, org_id: 'another-org' }, 400],
        [{ name: 'x', user_permissions: { apis: 'read', ResetPassword: 'admin' } }, 403],
      ];
      for (const [body, status] of cases) {
        const r = await dash.api(org.key, 'POST', '/api/usergroups', body,
          typeof body === 'string' ? { headers: { 'Content-Type': 'application/json' } } : undefined);
        assert.equal(r.status, status, `${JSON.stringify(body)} → ${r.text}`);
        assert.equal(r.json().Status, 'Error');
      }
      const nasty = "'; DELETE FROM tyk_analytics_usergroups; --";
      const ok = await dash.api(org.key, 'POST', '/api/usergroups', { name: nasty, description: nasty, user_permissions: { apis: 'read' } });
      assert.equal(ok.status, 200);
      assert.equal((await dash.api(org.key, 'GET', `/api/usergroups/${ok.json().Meta}`)).json().name, nasty);
      assert.equal(await count(), before + 1);
    });

    it('single sign-on: a nonce from /admin/sso logs in once through /tap', async () => {
      const e = email('sso');
      const n = await dash.admin('POST', '/admin/sso', { ForSection: 'dashboard', OrgID: org.orgId, EmailAddress: e, DisplayName: "O'Sso User'; --" });
      assert.equal(n.status, 200, n.text);
      assert.equal(n.json().Status, 'OK');
      assert.equal(n.json().Message, 'SSO Nonce created');
      const nonce = n.json().Meta;
      assert.match(nonce, /^[A-Za-z0-9+/=]{40,}$/);
      const ttl = await redisCommand(dash.redis.port, 'TTL', `turnpike-dashboard:sso:${nonce}`);
      assert.ok(ttl > 0 && ttl <= 60, `nonce TTL ${ttl}`);

      const t = await dash.raw('GET', `/tap?nonce=${encodeURIComponent(nonce)}`);
      assert.equal(t.status, 302, t.text);
      assert.equal(t.headers.location, '/');
      const cookie = String(t.headers['set-cookie']).match(/authorisation=([0-9a-f-]{36})/);
      assert.ok(cookie, `cookie: ${t.headers['set-cookie']}`);
      const user = t.json().Meta;
      assert.equal(user.email_address, e);
      assert.equal(user.org_id, org.orgId);
      assert.equal(user.first_name, "O'Sso User'; --");
      assert.deepEqual(user.user_permissions, { apis: 'read', users: 'read' }, 'sso_permission_defaults');
      assert.match(user.access_key, /^[0-9a-f]{32}$/);

      // the session cookie is a login
      const me = await dash.raw('GET', '/api/users/me', undefined, { cookie: `authorisation=${cookie[1]}` });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json().email_address, e);
      assert.equal((await dash.raw('GET', '/api/users/me', undefined, { cookie: `authorisation=${crypto.randomUUID()}` })).status, 401);

      // the nonce works once
      const again = await dash.raw('GET', `/tap?nonce=${encodeURIComponent(nonce)}`);
      assert.equal(again.status, 401);
      assert.equal((await dash.raw('GET', '/tap')).status, 400);

      // a second login finds the same user instead of creating another
      const n2 = (await dash.admin('POST', '/admin/sso', { OrgID: org.orgId, EmailAddress: e })).json().Meta;
      const t2 = await dash.raw('GET', `/tap?nonce=${encodeURIComponent(n2)}`);
      assert.equal(t2.status, 302);
      assert.equal(t2.json().Meta.id, user.id);
    });

    it('single sign-on: groups, registered-only, /api/sso for admins of the org, bad payloads', async () => {
      const gid = (await dash.api(org.key, 'POST', '/api/usergroups', { name: 'SSO group', user_permissions: { hooks: 'read' } })).json().Meta;
      const n = await dash.api(org.key, 'POST', '/api/sso', { ForSection: 'dashboard', OrgID: org.orgId, EmailAddress: email('g'), GroupID: gid });
      assert.equal(n.status, 200, n.text);
      assert.equal(n.json().Message, 'SSO Nonce created.');
      const t = await dash.raw('GET', `/tap?nonce=${encodeURIComponent(n.json().Meta)}`);
      assert.equal(t.status, 302, t.text);
      assert.equal(t.json().Meta.group_id, gid);

      const reg = await dash.api(org.key, 'POST', '/api/sso', { EmailAddress: email('nobody'), SSOOnlyForRegisteredUsers: true });
      assert.equal(reg.status, 200, 'OrgID defaults to the caller\'s org');
      const before = await countUsers();
      assert.equal((await dash.raw('GET', `/tap?nonce=${encodeURIComponent(reg.json().Meta)}`)).status, 403);
      assert.equal(await countUsers(), before, 'no user was created');

      const nonAdmin = await createUser({ user_permissions: { users: 'write' } });
      const r = await dash.api(nonAdmin.key, 'POST', '/api/sso', { OrgID: org.orgId, EmailAddress: email() });
      assert.equal(r.status, 403);
      const other = await bootstrapOrg(dash);
      const cross = await dash.api(org.key, 'POST', '/api/sso', { OrgID: other.orgId, EmailAddress: email() });
      assert.equal(cross.status, 400);
      assert.match(cross.json().Message, /Org id not found/);
      const missing = await dash.admin('POST', '/admin/sso', { OrgID: 'no-such-org', EmailAddress: email() });
      assert.equal(missing.status, 400);
      assert.equal(missing.json().Message, "Cannot create an SSO session for an invalid payload: [Error: Org id not found ('no-such-org').]");
      for (const body of ['{', { OrgID: org.orgId }, { OrgID: org.orgId, EmailAddress: 'nope' },
        { OrgID: org.orgId, EmailAddress: email(), Extra: 1 }, { OrgID: org.orgId, EmailAddress: email(), ForSection: 'admin' },
        { OrgID: org.orgId, EmailAddress: email(), SSOOnlyForRegisteredUsers: 'yes' }]) {
        const b = await dash.admin('POST', '/admin/sso', body,
          typeof body === 'string' ? { headers: { 'Content-Type': 'application/json' } } : undefined);
        assert.equal(b.status, 400, `${JSON.stringify(body)} → ${b.text}`);
      }
      assert.equal((await dash.admin('POST', '/admin/sso', { OrgID: org.orgId, EmailAddress: email() }, { secret: 'wrong' })).status, 401);
    });

    it('two dashboards on one PostgreSQL never create one email twice', { skip: storage !== 'postgres' }, async () => {
      const second = await startDashboard({ storage, postgresUrl: dash.conf.storage.main.connection_string });
      try {
        for (let round = 0; round < 3; round++) {
          const e = email('race');
          const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
            (i % 2 ? second : dash).api(org.key, 'POST', '/api/users', { email_address: e, user_permissions: { apis: 'read' } })));
          const codes = results.map((r) => r.status).sort();
          assert.deepEqual(codes, [200, 403, 403, 403, 403, 403, 403, 403], `round ${round}: ${codes}`);
          const found = (await second.api(org.key, 'POST', '/api/users/search', { email_address: e })).json().users;
          assert.equal(found.length, 1);
        }
      } finally { await second.stop(); }
    });
  });
}
