// SPDX-License-Identifier: Apache-2.0
// Tyk's built-in OAuth 2.0 server, second slice (spec/gateway.md §6.5, §7.2, §11.4): the
// refresh_token grant, and the authorization code flow — <listen>/oauth/authorize sending the
// browser to the login app, the login app approving at <listen>/tyk/oauth/authorize-client/,
// and the code exchanged at <listen>/oauth/token. The test plays the browser.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { redisCommand } from '../lib/redis.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { request } from '../lib/http.mjs';
import { waitFor } from '../lib/procs.mjs';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
const form = (o) => new URLSearchParams(o).toString();

function policy(id, apis, extra = {}) {
  const access_rights = {};
  for (const a of apis) access_rights[a] = { api_id: a, api_name: a, versions: ['Default'] };
  return { id, org_id: 'default', rate: 1000, per: 1, quota_max: -1, quota_renewal_rate: 3600,
    access_rights, active: true, ...extra };
}

describe('OAuth grants: refresh_token and authorization_code', () => {
  let gw, up, login;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(gw.redis.port, ...a);
  const clients = {};
  const token = (clientId, body) => gw.get('/oa/oauth/token', { method: 'POST', body: form(body),
    headers: { ...FORM, Authorization: basic(clientId, clients[clientId].secret) } });
  const use = (tok) => gw.get('/oa/thing', { headers: { Authorization: `Bearer ${tok}` } });
  const oauthErr = (r, code) => {
    assert.equal(r.status, 403, r.text);
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    assert.equal(r.json().error, code, r.text);
    assert.ok(r.json().error_description);
  };
  // What the login app sends to Tyk once the user approved; key_rules per test.
  let keyRules = '';
  const approve = (q, extra = {}) => gw.get('/oa/tyk/oauth/authorize-client/', { method: 'POST',
    body: form({ response_type: q.get('response_type') ?? '', client_id: q.get('client_id') ?? '',
      redirect_uri: q.get('redirect_uri') ?? '', state: q.get('state') ?? '', key_rules: keyRules, ...extra }),
    headers: { ...FORM, 'X-Tyk-Authorization': gw.conf.secret } });

  before(async () => {
    up = await startUpstream((req, res) => { res.writeHead(200); res.end('upstream ok'); });
    // The resource owner's login app: approves at once and sends the browser on to redirect_to.
    login = await startUpstream(async (req, res) => {
      const q = new URL(req.url, 'http://x').searchParams;
      const r = await approve(q);
      if (r.status !== 200) { res.writeHead(500); res.end(r.text); return; }
      res.writeHead(302, { Location: r.json().redirect_to });
      res.end();
    }, { name: 'login' });
    const polDir = makeTempDir('oauth-pol-');
    fs.writeFileSync(path.join(polDir, 'p1.json'), JSON.stringify(policy('p1', ['oa'], { rate: 500 })));
    gw = await startGateway({
      // Legacy key names (no hash_key_function): the password grant finds alice at apikey-HashKey(org+name).
      conf: { hash_keys: true, hash_key_function: '', policies: { policy_source: 'file', policy_path: polDir } },
      apis: [keylessApi({
        api_id: 'oa', listen_path: '/oa/', target_url: up.url, use_keyless: false, use_oauth2: true,
        oauth_meta: { allowed_access_types: ['authorization_code', 'refresh_token', 'password', 'client_credentials'],
          allowed_authorize_types: ['code'], auth_login_redirect: `${login.url}/login` },
      })],
    });
    for (const id of ['c1', 'c2']) {
      const r = await gw.admin('POST', '/tyk/oauth/clients/create', {
        api_id: 'oa', client_id: id, redirect_uri: 'http://app.example/cb', policy_id: 'p1' });
      assert.equal(r.status, 200, r.text);
      clients[id] = r.json();
    }
    const u = await gw.admin('POST', '/tyk/keys/alice', { org_id: 'default', rate: 100, per: 1, quota_max: -1,
      access_rights: { oa: { api_id: 'oa', api_name: 'oa', versions: ['Default'] } }, basic_auth_data: { password: 'pw' } });
    assert.equal(u.status, 200, u.text);
  });
  after(async () => { await gw?.stop(); await up?.close(); await login?.close(); });

  it('refresh_token: a new token pair; the old access and refresh tokens stop working (osin)', T(async () => {
    const first = await token('c1', { grant_type: 'password', username: 'alice', password: 'pw', scope: 'read' });
    assert.equal(first.status, 200, first.text);
    const { access_token: tok1, refresh_token: rt1 } = first.json();
    assert.equal((await use(tok1)).status, 200);

    const r = await token('c1', { grant_type: 'refresh_token', refresh_token: rt1 });
    assert.equal(r.status, 200, r.text);
    const b = r.json();
    assert.deepEqual(Object.keys(b).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    assert.equal(b.scope, 'read'); // the refreshed token keeps its scope
    assert.equal(b.expires_in, 3600);
    assert.notEqual(b.access_token, tok1);
    assert.notEqual(b.refresh_token, rt1);
    assert.equal((await use(b.access_token)).status, 200);
    // The new token carries the user's session (rate 100), not the client's policy (500).
    const s = await gw.admin('GET', `/tyk/keys/${b.access_token}?api_id=oa`);
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json().rate, 100);
    assert.equal(s.json().oauth_client_id, 'c1');

    const old = await use(tok1);
    assert.equal(old.status, 403, old.text);
    assert.equal(await rc('EXISTS', `oauth-data.oa.oauth-refresh.${rt1}`), 0);
    oauthErr(await token('c1', { grant_type: 'refresh_token', refresh_token: rt1 }), 'invalid_grant');
    const rec = JSON.parse(await rc('GET', `oauth-data.oa.oauth-refresh.${b.refresh_token}`));
    assert.equal(rec.AccessToken, b.access_token);
    assert.equal(rec.AccessData.AccessToken, tok1); // osin nests the refreshed AccessData

    // errors
    oauthErr(await token('c2', { grant_type: 'refresh_token', refresh_token: b.refresh_token }), 'invalid_client');
    oauthErr(await token('c1', { grant_type: 'refresh_token', refresh_token: b.refresh_token, scope: 'read write' }),
      'access_denied');
    oauthErr(await token('c1', { grant_type: 'refresh_token' }), 'invalid_grant');
    oauthErr(await token('c1', { grant_type: 'refresh_token', refresh_token: 'no-such-token' }), 'invalid_grant');
    oauthErr(await gw.get('/oa/oauth/token', { method: 'POST', headers: FORM,
      body: form({ grant_type: 'refresh_token', refresh_token: b.refresh_token }) }), 'invalid_request');
    // the failed attempts used nothing up
    const again = await token('c1', { grant_type: 'refresh_token', refresh_token: b.refresh_token });
    assert.equal(again.status, 200, again.text);
  }));

  it('authorization code: browser -> authorize -> login app -> redirect with code -> token', T(async () => {
    keyRules = JSON.stringify({ org_id: 'default', rate: 77, per: 1, quota_max: -1, expires: 0,
      access_rights: { oa: { api_id: 'oa', api_name: 'oa', versions: ['Default'] } } });
    const q = form({ response_type: 'code', client_id: 'c1', redirect_uri: 'http://app.example/cb', state: 'st 1' });
    // 1. The browser arrives at the API's authorize endpoint and is sent to the login page.
    const a = await gw.get(`/oa/oauth/authorize?${q}`);
    assert.equal(a.status, 307, a.text);
    assert.equal(a.headers.location, `${login.url}/login?${q}`);
    // 2. The login app approves (authorize-client) and redirects the browser to the client.
    const l = await request(a.headers.location);
    assert.equal(l.status, 302, l.text);
    const cb = new URL(l.headers.location);
    assert.equal(cb.origin + cb.pathname, 'http://app.example/cb');
    assert.equal(cb.searchParams.get('state'), 'st 1');
    const code = cb.searchParams.get('code');
    assert.match(code, /^[A-Za-z0-9_-]{22}$/);
    const stored = JSON.parse(await rc('GET', `oauth-data.oa.oauth-authorize.${code}`));
    assert.equal(stored.Client.id, 'c1');
    assert.equal(stored.RedirectUri, 'http://app.example/cb');
    assert.equal(stored.UserData, keyRules);
    const ttl = Number(await rc('TTL', `oauth-data.oa.oauth-authorize.${code}`));
    assert.ok(ttl > 200 && ttl <= 250, String(ttl));

    // 3. The client exchanges the code.
    const t = await token('c1', { grant_type: 'authorization_code', code, redirect_uri: 'http://app.example/cb' });
    assert.equal(t.status, 200, t.text);
    const b = t.json();
    assert.ok(b.refresh_token);
    assert.equal((await use(b.access_token)).status, 200);
    const s = await gw.admin('GET', `/tyk/keys/${b.access_token}?api_id=oa`);
    assert.equal(s.json().rate, 77); // the session comes from key_rules
    assert.equal(s.json().oauth_client_id, 'c1');
    // single use
    oauthErr(await token('c1', { grant_type: 'authorization_code', code, redirect_uri: 'http://app.example/cb' }),
      'invalid_grant');
    // its refresh token carries the key_rules session on
    const rf = await token('c1', { grant_type: 'refresh_token', refresh_token: b.refresh_token });
    assert.equal(rf.status, 200, rf.text);
    assert.equal((await gw.admin('GET', `/tyk/keys/${rf.json().access_token}?api_id=oa`)).json().rate, 77);
  }));

  it('authorize-client answers Tyk\'s JSON; without key_rules the client\'s policy makes the token', T(async () => {
    keyRules = '';
    const r = await approve(new URLSearchParams({ response_type: 'code', client_id: 'c1', redirect_uri: '' }));
    assert.equal(r.status, 200, r.text);
    const b = r.json();
    assert.deepEqual(Object.keys(b), ['code', 'redirect_to']); // no state given, none returned
    assert.equal(b.redirect_to, `http://app.example/cb?code=${b.code}`);
    // no redirect_uri at the token endpoint either: the client's only one is used
    const t = await token('c1', { grant_type: 'authorization_code', code: b.code });
    assert.equal(t.status, 200, t.text);
    assert.equal((await gw.admin('GET', `/tyk/keys/${t.json().access_token}?api_id=oa`)).json().rate, 500);
  }));

  it('authorization code errors: redirect mismatch, other client, expired, missing', T(async () => {
    keyRules = '';
    const newCode = async () => {
      const r = await approve(new URLSearchParams({ response_type: 'code', client_id: 'c1',
        redirect_uri: 'http://app.example/cb/deeper' }));
      assert.equal(r.status, 200, r.text);
      return r.json().code;
    };
    let code = await newCode();
    oauthErr(await token('c1', { grant_type: 'authorization_code', code, redirect_uri: 'http://app.example/cb' }),
      'invalid_request'); // not the redirect_uri the code was issued for
    oauthErr(await token('c1', { grant_type: 'authorization_code', code, redirect_uri: 'http://evil.example/cb' }),
      'invalid_request');
    oauthErr(await token('c2', { grant_type: 'authorization_code', code, redirect_uri: 'http://app.example/cb/deeper' }),
      'invalid_grant');
    oauthErr(await token('c1', { grant_type: 'authorization_code', redirect_uri: 'http://app.example/cb' }), 'invalid_grant');
    oauthErr(await token('c1', { grant_type: 'authorization_code', code: 'nope', redirect_uri: 'http://app.example/cb' }),
      'invalid_grant');
    // the failures did not use the code up
    const ok = await token('c1', { grant_type: 'authorization_code', code, redirect_uri: 'http://app.example/cb/deeper' });
    assert.equal(ok.status, 200, ok.text);

    // a code written by a Tyk in another time zone (Go's RFC 3339 with fraction and offset) is fresh
    code = await newCode();
    const k2 = `oauth-data.oa.oauth-authorize.${code}`;
    const rec2 = JSON.parse(await rc('GET', k2));
    rec2.CreatedAt = new Date(Date.now() - 5 * 3600e3).toISOString().replace('Z', '123456-05:00');
    await rc('SET', k2, JSON.stringify(rec2), 'EX', '100');
    const tz = await token('c1', { grant_type: 'authorization_code', code, redirect_uri: 'http://app.example/cb/deeper' });
    assert.equal(tz.status, 200, tz.text);

    // expired: CreatedAt + ExpiresIn in the past (Redis would also drop it after 250 s)
    code = await newCode();
    const key = `oauth-data.oa.oauth-authorize.${code}`;
    const rec = JSON.parse(await rc('GET', key));
    rec.CreatedAt = '2020-01-01T00:00:00Z';
    await rc('SET', key, JSON.stringify(rec), 'EX', '100');
    oauthErr(await token('c1', { grant_type: 'authorization_code', code, redirect_uri: 'http://app.example/cb/deeper' }),
      'invalid_grant');
  }));

  it('authorize and authorize-client refuse bad requests as Tyk does', T(async () => {
    const ERR = (message) => ({ status: 'error', message });
    const desc = {
      server_error: 'The authorization server encountered an unexpected condition that prevented it from fulfilling the request.',
      invalid_request: 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.',
      unsupported_response_type: 'The authorization server does not support obtaining an authorization code using this method.',
    };
    const auth = (o, method = 'GET') => method === 'GET'
      ? gw.get(`/oa/oauth/authorize/?${form(o)}`)
      : gw.get('/oa/oauth/authorize', { method, body: form(o), headers: FORM });
    const good = { response_type: 'code', client_id: 'c1', redirect_uri: 'http://app.example/cb' };
    // POST passes through without the query
    const p = await auth(good, 'POST');
    assert.equal(p.status, 307);
    assert.equal(p.headers.location, `${login.url}/login`);
    for (const [o, code] of [[{ ...good, client_id: 'ghost' }, 'server_error'],
      [{ ...good, redirect_uri: 'http://evil.example/cb' }, 'invalid_request'],
      [{ ...good, response_type: 'token' }, 'unsupported_response_type']]) {
      const r = await auth(o);
      assert.equal(r.status, 403, r.text);
      assert.deepEqual(r.json(), ERR(desc[code]));
    }
    assert.equal((await auth(good, 'PUT')).status, 405);

    // authorize-client: the gateway secret, POST only; osin's error output
    const noKey = await gw.get('/oa/tyk/oauth/authorize-client/', { method: 'POST', body: form(good), headers: FORM });
    assert.equal(noKey.status, 403);
    assert.deepEqual(noKey.json(), ERR('Attempted administrative access with invalid or missing key!'));
    const get = await gw.get('/oa/tyk/oauth/authorize-client', { headers: { 'X-Tyk-Authorization': gw.conf.secret } });
    assert.equal(get.status, 405);
    const bad = await approve(new URLSearchParams({ ...good, response_type: 'token', state: 's' }));
    assert.equal(bad.status, 403, bad.text);
    assert.deepEqual(bad.json(), { error: 'unsupported_response_type', error_description: desc.unsupported_response_type,
      redirect_to: 'http://app.example/cb?error=unsupported_response_type&error_description=' +
        encodeURIComponent(desc.unsupported_response_type).replace(/%20/g, '+') + '&state=s', state: 's' });
    const ghost = await approve(new URLSearchParams({ ...good, client_id: 'ghost' }));
    assert.equal(ghost.status, 403);
    assert.deepEqual(ghost.json(), { error: 'server_error', error_description: desc.server_error });
  }));

  const pw = (clientId) => token(clientId, { grant_type: 'password', username: 'alice', password: 'pw' });
  const revoke = (path, body, headers = FORM) => gw.get(`/oa/oauth/${path}`, { method: 'POST', body: form(body), headers });

  it('revoke: by hint, the access token stops working and/or the refresh token is gone (200, no body)', T(async () => {
    let t = (await pw('c1')).json();
    let r = await revoke('revoke', { token: t.access_token, token_type_hint: 'access_token' });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    assert.equal((await use(t.access_token)).status, 403);
    // the refresh token survived an access_token revoke
    const rf = await token('c1', { grant_type: 'refresh_token', refresh_token: t.refresh_token });
    assert.equal(rf.status, 200, rf.text);
    t = rf.json();
    r = await revoke('revoke', { token: t.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(r.status, 200);
    assert.equal((await use(t.access_token)).status, 200); // only the refresh token went
    oauthErr(await token('c1', { grant_type: 'refresh_token', refresh_token: t.refresh_token }), 'invalid_grant');
    // no hint: both kinds are tried with the one value
    r = await revoke('revoke', { token: t.access_token });
    assert.equal(r.status, 200);
    assert.equal((await use(t.access_token)).status, 403);
    // the token is read from the body only: one in the query string revokes nothing (still 200)
    const live = (await pw('c1')).json();
    assert.equal((await gw.get(`/oa/oauth/revoke?token=${live.access_token}`, { method: 'POST' })).status, 200);
    assert.equal((await use(live.access_token)).status, 200);
    // a body Go refuses to parse
    assert.equal((await revoke('revoke', { token: 'a'.repeat(11 << 20) })).status, 400);
  }));

  it('control API: DELETE /tyk/oauth/refresh/{token}?api_id= invalidates a refresh token', T(async () => {
    const t = (await pw('c1')).json();
    const ERR = (message) => ({ status: 'error', message });
    let r = await gw.admin('DELETE', `/tyk/oauth/refresh/${t.refresh_token}`);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), ERR('Missing parameter api_id'));
    r = await gw.admin('DELETE', `/tyk/oauth/refresh/${t.refresh_token}?api_id=ghost`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), ERR('API for this refresh token not found'));
    r = await gw.admin('DELETE', `/tyk/oauth/refresh/${t.refresh_token}?api_id=oa`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { key: t.refresh_token, status: 'ok', action: 'deleted' });
    oauthErr(await token('c1', { grant_type: 'refresh_token', refresh_token: t.refresh_token }), 'invalid_grant');
    assert.equal((await gw.admin('GET', `/tyk/oauth/refresh/${t.refresh_token}?api_id=oa`)).status, 405);
  }));

  it('revoke_all: every token of the client stops working; Tyk\'s status codes', T(async () => {
    const a = (await token('c2', { grant_type: 'client_credentials' })).json();
    const b = (await pw('c2')).json();
    const other = (await token('c1', { grant_type: 'client_credentials' })).json();
    for (const t of [a, b, other]) assert.equal((await use(t.access_token)).status, 200);
    assert.equal((await revoke('revoke_all', { client_id: 'c2' })).status, 400);
    assert.equal((await revoke('revoke_all', { client_id: 'ghost', client_secret: 'x' })).status, 404);
    assert.equal((await revoke('revoke_all', { client_id: 'c2', client_secret: 'wrong' })).status, 403);
    assert.equal((await use(a.access_token)).status, 200);
    const r = await revoke('revoke_all', { client_id: 'c2', client_secret: clients.c2.secret });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    assert.equal((await use(a.access_token)).status, 403);
    assert.equal((await use(b.access_token)).status, 403);
    oauthErr(await token('c2', { grant_type: 'refresh_token', refresh_token: b.refresh_token }), 'invalid_grant');
    assert.equal((await use(other.access_token)).status, 200); // another client's token is untouched
  }));
});

describe('OAuth key-change notifications (notifications.oauth_on_keychange_url)', () => {
  let gw, up, hook;
  const T = withLogs(() => gw);
  let failNext = false;
  let client;
  const token = (body) => gw.get('/nt/oauth/token', { method: 'POST', body: form(body),
    headers: { ...FORM, Authorization: basic('n1', client.secret) } });

  before(async () => {
    up = await startUpstream((req, res) => { res.writeHead(200); res.end('upstream ok'); });
    hook = await startUpstream((req, res) => {
      res.writeHead(failNext ? 500 : 200);
      failNext = false;
      res.end('ok');
    }, { name: 'hook' });
    const polDir = makeTempDir('oauth-pol-');
    fs.writeFileSync(path.join(polDir, 'p1.json'), JSON.stringify(policy('p1', ['nt'])));
    gw = await startGateway({
      conf: { hash_keys: true, hash_key_function: '', policies: { policy_source: 'file', policy_path: polDir } },
      apis: [keylessApi({
        api_id: 'nt', listen_path: '/nt/', target_url: up.url, use_keyless: false, use_oauth2: true,
        oauth_meta: { allowed_access_types: ['client_credentials', 'password', 'refresh_token'],
          allowed_authorize_types: ['code'], auth_login_redirect: 'http://127.0.0.1:9/login' },
        notifications: { shared_secret: 'hook-secret', oauth_on_keychange_url: `${hook.url}/keys/changed` },
      })],
    });
    const r = await gw.admin('POST', '/tyk/oauth/clients/create', {
      api_id: 'nt', client_id: 'n1', redirect_uri: 'http://app.example/cb', policy_id: 'p1' });
    assert.equal(r.status, 200, r.text);
    client = r.json();
    const u = await gw.admin('POST', '/tyk/keys/bob', { org_id: 'default', rate: 100, per: 1, quota_max: -1,
      access_rights: { nt: { api_id: 'nt', api_name: 'nt', versions: ['Default'] } }, basic_auth_data: { password: 'pw' } });
    assert.equal(u.status, 200, u.text);
  });
  after(async () => { await gw?.stop(); await up?.close(); await hook?.close(); });

  const nth = (n) => waitFor(() => hook.requests[n]?.body, { timeoutMs: 5000, what: `notification ${n + 1}` })
    .then(() => hook.requests[n]);

  it('a new token and a refreshed one are POSTed as Tyk sends them', T(async () => {
    const cc = (await token({ grant_type: 'client_credentials' })).json();
    let n = await nth(0);
    assert.equal(n.method, 'POST');
    assert.equal(n.url, '/keys/changed');
    assert.equal(n.headers['user-agent'], 'Tyk-Gatewy-Notifications');
    assert.equal(n.headers['content-type'], 'application/json');
    assert.equal(n.headers['x-tyk-shared-secret'], 'hook-secret');
    assert.equal(n.body.toString(), JSON.stringify({ auth_code: '', new_oauth_token: cc.access_token,
      refresh_token: '', old_refresh_token: '', notification_type: 'new' }));

    const pw = (await token({ grant_type: 'password', username: 'bob', password: 'pw' })).json();
    n = await nth(1);
    assert.deepEqual(JSON.parse(n.body), { auth_code: '', new_oauth_token: pw.access_token,
      refresh_token: pw.refresh_token, old_refresh_token: '', notification_type: 'new' });
    const rf = (await token({ grant_type: 'refresh_token', refresh_token: pw.refresh_token })).json();
    n = await nth(2);
    assert.deepEqual(JSON.parse(n.body), { auth_code: '', new_oauth_token: rf.access_token,
      refresh_token: rf.refresh_token, old_refresh_token: pw.refresh_token, notification_type: 'refresh' });
    // a refused request sends nothing: the next notification is the next good token's
    const bad = await token({ grant_type: 'refresh_token', refresh_token: 'nope' });
    assert.equal(bad.status, 403);
    const cc2 = (await token({ grant_type: 'client_credentials' })).json();
    n = await nth(3);
    assert.equal(JSON.parse(n.body).new_oauth_token, cc2.access_token);
  }));

  it('a failed notification is sent again 10 s later', T(async () => {
    const before = hook.requests.length;
    failNext = true;
    const cc = (await token({ grant_type: 'client_credentials' })).json();
    const first = await nth(before);
    const t0 = Date.now();
    const second = await waitFor(() => hook.requests[before + 1]?.body && hook.requests[before + 1],
      { timeoutMs: 20000, what: 'the retry' });
    assert.ok(Date.now() - t0 > 7000, `retried after ${Date.now() - t0} ms`);
    assert.equal(second.body.toString(), first.body.toString());
    assert.equal(JSON.parse(second.body).new_oauth_token, cc.access_token);
    assert.equal(hook.requests.length, before + 2); // one retry after the success: none more
  }));
});
