// SPDX-License-Identifier: Apache-2.0
// Tyk's built-in OAuth 2.0 server, third slice (spec/gateway.md §6.5, §7.2, §7.3, §11.4):
// lapsed-token purge (DELETE /tyk/oauth/tokens, the OAuthPurgeLapsedTokens notification,
// oauth_token_expired_retain_period), GET /tyk/oauth/clients/apis/{appID}, malformed token
// requests as Tyk's osin answers them, PKCE (ignored, as by Tyk's osin), the implicit grant, and
// the one-second deleted-client cache. The test plays the browser and the login app.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { startGateway, keylessApi, withLogs, makeTempDir, NODE_SECRET } from '../lib/gateway.mjs';
import { redisCommand } from '../lib/redis.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { waitFor } from '../lib/procs.mjs';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
const form = (o) => new URLSearchParams(o).toString();
const now = () => Math.floor(Date.now() / 1000);
const ERR = (message) => ({ status: 'error', message });

function policy(id, apis) {
  const access_rights = {};
  for (const a of apis) access_rights[a] = { api_id: a, api_name: a, versions: ['Default'] };
  return { id, org_id: 'default', rate: 500, per: 1, quota_max: -1, quota_renewal_rate: 3600, access_rights, active: true };
}

function oauthApi(id, target, meta = {}, extra = {}) {
  return keylessApi({
    api_id: id, listen_path: `/${id}/`, target_url: target, use_keyless: false, use_oauth2: true,
    oauth_meta: { allowed_access_types: ['client_credentials'], allowed_authorize_types: ['code'],
      auth_login_redirect: 'http://127.0.0.1:9/login', ...meta },
    ...extra,
  });
}

function assertJson(r, status, body) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  if (body !== undefined) assert.deepEqual(r.json(), body);
}

const signed = (command, payload = '') => JSON.stringify({ command, payload, algorithm: 5,
  signature: createHash('sha256').update(command + payload + NODE_SECRET).digest('hex') });

describe('OAuth server: purge, apps, malformed requests, PKCE, implicit grant, client cache', () => {
  let gw, up;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(gw.redis.port, ...a);
  const clients = {};
  // oauth_error_status_code is 401 here: every osin error must follow it.
  const oauthErr = (r, code) => {
    assert.equal(r.status, 401, r.text);
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    assert.equal(r.json().error, code, r.text);
    assert.ok(r.json().error_description);
  };
  const tokenRaw = (body, headers = {}, p = '/oa/oauth/token') =>
    gw.get(p, { method: 'POST', body, headers: { ...FORM, ...headers } });
  const token = (clientId, fields, extra = {}) => tokenRaw(form(fields),
    { Authorization: basic(clientId, clients[clientId].secret), ...extra });
  const use = (tok, p = '/oa/thing') => gw.get(p, { headers: { Authorization: `Bearer ${tok}` }, agent: false });
  const approve = (fields) => gw.get('/oa/tyk/oauth/authorize-client/', { method: 'POST', body: form(fields),
    headers: { ...FORM, 'X-Tyk-Authorization': gw.conf.secret } });
  const newClient = async (api_id, client_id, extra = {}) => {
    const r = await gw.admin('POST', '/tyk/oauth/clients/create', {
      api_id, client_id, redirect_uri: 'http://app.example/cb', policy_id: 'p1', ...extra });
    assert.equal(r.status, 200, r.text);
    clients[client_id] = r.json();
    return r.json();
  };

  before(async () => {
    up = await startUpstream((req, res) => { res.writeHead(200); res.end('upstream ok'); });
    const polDir = makeTempDir('oauth-pol-');
    fs.writeFileSync(path.join(polDir, 'p1.json'), JSON.stringify(policy('p1', ['oa', 'ob', 'oc'])));
    gw = await startGateway({
      conf: { hash_keys: true, oauth_token_expired_retain_period: 60, oauth_error_status_code: 401,
        policies: { policy_source: 'file', policy_path: polDir } },
      apis: [
        oauthApi('oa', up.url, { allowed_access_types: ['client_credentials', 'password', 'refresh_token', 'authorization_code'],
          allowed_authorize_types: ['code', 'token'] }),
        oauthApi('ob', up.url),
        oauthApi('oc', up.url, {}, { org_id: 'other' }),
        keylessApi({ api_id: 'plain', listen_path: '/plain/', target_url: up.url }),
      ],
    });
    await newClient('oa', 'c1');
    await newClient('oa', 'c2');
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('DELETE /tyk/oauth/tokens: Tyk\'s codes and messages', T(async () => {
    assertJson(await gw.admin('DELETE', '/tyk/oauth/tokens'), 422, ERR('scope parameter is required'));
    assertJson(await gw.admin('DELETE', '/tyk/oauth/tokens?scope=expired'), 400, ERR('unknown scope'));
    assertJson(await gw.admin('DELETE', '/tyk/oauth/tokens?scope='), 400, ERR('unknown scope')); // present, empty
    assertJson(await gw.admin('DELETE', '/tyk/oauth/tokens?scope=lapsed'), 200, { status: 'ok', message: 'lapsed tokens purged' });
    assertJson(await gw.admin('GET', '/tyk/oauth/tokens?scope=lapsed'), 405, ERR('Method not supported'));
    assert.equal((await gw.admin('DELETE', '/tyk/oauth/tokens?scope=lapsed', undefined, { secret: 'wrong' })).status, 403);
  }));

  it('the client token list shows live tokens; lapsed entries go, recently expired ones stay', T(async () => {
    const r = await token('c1', { grant_type: 'client_credentials' });
    assert.equal(r.status, 200, r.text);
    const set = 'oauth-data.oa.oauth-client-tokens.c1';
    const live = await rc('ZRANGE', set, 0, -1, 'WITHSCORES');
    assert.equal(live.length, 2, JSON.stringify(live)); // Tyk's layout: hashed token, score = expiry
    const expiry = Number(live[1]);
    assert.ok(Math.abs(expiry - (now() + 3600)) <= 5, String(expiry));
    await rc('ZADD', set, now() - 30, 'recently-expired', now() - 600, 'lapsed-one');

    const l = await gw.admin('GET', '/tyk/oauth/clients/oa/c1/tokens');
    assertJson(l, 200, [{ code: live[0], expires: expiry }]);
    // with a retain period of 60 s the listing drops this client's lapsed entry (Tyk's GetClientTokens)
    assert.equal(await rc('ZSCORE', set, 'lapsed-one'), null);
    assert.notEqual(await rc('ZSCORE', set, 'recently-expired'), null);
    const p = await gw.admin('GET', '/tyk/oauth/clients/oa/c1/tokens?page=1');
    assertJson(p, 200, { Pagination: { page_num: 1, page_total: 1, page_size: 100 }, Tokens: [{ code: live[0], expires: expiry }] });
  }));

  it('the purge removes lapsed entries of every client of every API, and nothing else', T(async () => {
    const t = now();
    await rc('ZADD', 'oauth-data.oa.oauth-client-tokens.c2', t - 61 - 5, 'old-a', t - 10, 'young-a', t + 900, 'live-a');
    await rc('ZADD', 'oauth-data.ob.oauth-client-tokens.x', t - 86400, 'old-b');
    await rc('SET', 'oauth-data.zz.oauth-client-tokens.not-a-set', 'kept'); // not a sorted set: left alone
    await rc('ZADD', 'unrelated-zset', t - 86400, 'old-c');
    assertJson(await gw.admin('DELETE', '/tyk/oauth/tokens?scope=lapsed'), 200, { status: 'ok', message: 'lapsed tokens purged' });
    assert.deepEqual(await rc('ZRANGE', 'oauth-data.oa.oauth-client-tokens.c2', 0, -1), ['young-a', 'live-a']);
    assert.equal(await rc('EXISTS', 'oauth-data.ob.oauth-client-tokens.x'), 0); // emptied
    assert.equal(await rc('GET', 'oauth-data.zz.oauth-client-tokens.not-a-set'), 'kept');
    assert.deepEqual(await rc('ZRANGE', 'unrelated-zset', 0, -1), ['old-c']);
    assert.equal(await rc('ZCARD', 'oauth-data.oa.oauth-client-tokens.c1'), 2); // live + recently expired
  }));

  it('the purge walks the whole keyspace, batch by batch', T(async () => {
    const t = now();
    await rc('EVAL', "for i = 1, 3000 do redis.call('ZADD', 'oauth-data.bulk.oauth-client-tokens.c' .. i, ARGV[1], 'old', ARGV[2], 'live') end",
      '0', t - 3600, t + 3600);
    await rc('EVAL', "for i = 1, 3000 do redis.call('SET', 'filler-' .. i, 'x') end", '0');
    assertJson(await gw.admin('DELETE', '/tyk/oauth/tokens?scope=lapsed'), 200, { status: 'ok', message: 'lapsed tokens purged' });
    const left = await rc('EVAL', "local n = 0 for i = 1, 3000 do n = n + redis.call('ZCARD', 'oauth-data.bulk.oauth-client-tokens.c' .. i) end return n", '0');
    assert.equal(left, 3000); // every 'old' gone, every 'live' kept
    assert.deepEqual(await rc('ZRANGE', 'oauth-data.bulk.oauth-client-tokens.c2999', 0, -1), ['live']);
  }));

  it('a signed OAuthPurgeLapsedTokens notification purges; an unsigned one is ignored', T(async () => {
    const set = 'oauth-data.ob.oauth-client-tokens.y';
    await rc('ZADD', set, now() - 3600, 'old', now() + 3600, 'live');
    await rc('PUBLISH', 'tyk.cluster.notifications', JSON.stringify({ command: 'OAuthPurgeLapsedTokens', payload: '' }));
    await waitFor(() => /OAuthPurgeLapsedTokens has a bad or missing signature/.test(gw.logs()), { what: 'the unsigned one refused' });
    assert.equal(await rc('ZCARD', set), 2);
    await rc('PUBLISH', 'tyk.cluster.notifications', signed('OAuthPurgeLapsedTokens'));
    await waitFor(async () => (await rc('ZCARD', set)) === 1, { what: 'the lapsed entry purged' });
    assert.deepEqual(await rc('ZRANGE', set, 0, -1), ['live']);
  }));

  it('the client token list follows refresh, revoke and revoke_all (osin\'s RemoveAccess)', T(async () => {
    await newClient('oa', 'c5');
    const listed = async () => (await gw.admin('GET', '/tyk/oauth/clients/oa/c5/tokens')).json().map((t) => t.code);
    const viaCode = async () => {
      const a = await approve({ response_type: 'code', client_id: 'c5' });
      assert.equal(a.status, 200, a.text);
      const t = await token('c5', { grant_type: 'authorization_code', code: a.json().code });
      assert.equal(t.status, 200, t.text);
      return t.json();
    };
    const first = await viaCode();
    const second = await viaCode();
    const both = await listed();
    assert.equal(both.length, 2, JSON.stringify(both));
    // refreshing the first replaces its entry
    const r = await token('c5', { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal(r.status, 200, r.text);
    const afterRefresh = await listed();
    assert.equal(afterRefresh.length, 2, JSON.stringify(afterRefresh));
    assert.equal(afterRefresh.filter((h) => both.includes(h)).length, 1); // the second's entry stays
    // revoking the refreshed token drops its entry
    const rv = await gw.get('/oa/oauth/revoke', { method: 'POST', headers: FORM,
      body: form({ token: r.json().access_token, token_type_hint: 'access_token' }) });
    assert.equal(rv.status, 200, rv.text);
    assert.deepEqual(await listed(), afterRefresh.filter((h) => both.includes(h)));
    assert.equal((await use(second.access_token)).status, 200);
    // revoke_all empties the list
    const ra = await gw.get('/oa/oauth/revoke_all', { method: 'POST', headers: FORM,
      body: form({ client_id: 'c5', client_secret: clients.c5.secret }) });
    assert.equal(ra.status, 200, ra.text);
    assert.deepEqual(await listed(), []);
    assert.equal((await use(second.access_token)).status, 403);
  }));

  it('GET /tyk/oauth/clients/apis/{appID}: the OAuth APIs holding that client, by org', T(async () => {
    for (const api of ['oa', 'ob', 'oc']) {
      const r = await gw.admin('POST', '/tyk/oauth/clients/create', { api_id: api, client_id: 'shared',
        redirect_uri: 'http://app.example/cb', policy_id: 'p1' });
      assert.equal(r.status, 200, r.text);
    }
    const apps = async (q) => {
      const r = await gw.admin('GET', `/tyk/oauth/clients/apis/shared${q}`);
      assertJson(r, 200);
      return r.json().sort();
    };
    assert.deepEqual(await apps(''), ['oa', 'ob', 'oc']);
    assert.deepEqual(await apps('?orgID='), ['oa', 'ob', 'oc']);
    assert.deepEqual(await apps('?orgID=default'), ['oa', 'ob']);
    assert.deepEqual(await apps('?orgID=other'), ['oc']);
    assert.deepEqual(await apps('?orgID=nobody'), []);
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/apis/c1'), 200, ['oa']);
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/apis/ghost'), 200, []);
    // deleting the client from one API takes that API out
    assertJson(await gw.admin('DELETE', '/tyk/oauth/clients/ob/shared'), 200);
    assert.deepEqual(await apps(''), ['oa', 'oc']);
  }));

  it('malformed token requests: osin\'s error for each, with oauth_error_status_code', T(async () => {
    const auth = { Authorization: basic('c1', clients.c1.secret) };
    oauthErr(await tokenRaw('scope=x', auth), 'unsupported_grant_type'); // grant_type missing
    oauthErr(await tokenRaw('grant_type=magic', auth), 'unsupported_grant_type');
    oauthErr(await tokenRaw('grant_type=', auth), 'unsupported_grant_type');
    oauthErr(await token('c1', { grant_type: 'authorization_code', redirect_uri: 'http://app.example/cb' }), 'invalid_grant'); // no code
    oauthErr(await token('c1', { grant_type: 'password', password: 'pw' }), 'invalid_grant'); // no username
    oauthErr(await token('c1', { grant_type: 'password', username: 'alice' }), 'invalid_grant'); // no password
    oauthErr(await token('c1', { grant_type: 'refresh_token' }), 'invalid_grant'); // no refresh_token
    // client authentication is checked before the grant's own fields
    oauthErr(await tokenRaw(form({ grant_type: 'authorization_code' })), 'invalid_request');
    // wrong content types: the body is not a form, so there is no grant_type
    for (const ct of ['text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=utf-8']) {
      oauthErr(await tokenRaw('grant_type=client_credentials', { ...auth, 'Content-Type': ct }), 'unsupported_grant_type');
    }
    // exactly application/json: Tyk turns a JSON object of strings into the form ...
    const j = await gw.get('/oa/oauth/token', { method: 'POST', body: JSON.stringify({ grant_type: 'client_credentials' }),
      headers: { ...auth, 'Content-Type': 'application/json' } });
    assert.equal(j.status, 200, j.text);
    // its members override the query string's (Form.Set) ...
    const jq = await gw.get('/oa/oauth/token?grant_type=magic', { method: 'POST', body: JSON.stringify({ grant_type: 'client_credentials' }),
      headers: { ...auth, 'Content-Type': 'application/json' } });
    assert.equal(jq.status, 200, jq.text);
    // ... and Tyk ignores one with a member that is not a string
    oauthErr(await gw.get('/oa/oauth/token', { method: 'POST', body: JSON.stringify({ grant_type: 'client_credentials', n: 1 }),
      headers: { ...auth, 'Content-Type': 'application/json' } }), 'unsupported_grant_type');
    oauthErr(await gw.get('/oa/oauth/token', { method: 'POST', body: '{"grant_type":',
      headers: { ...auth, 'Content-Type': 'application/json' } }), 'unsupported_grant_type');
    // over Go's 10 MiB form limit the body is left out of the form (Tyk ignores ParseForm's error) ...
    const huge = 'grant_type=client_credentials&x=' + 'a'.repeat(11 << 20);
    oauthErr(await tokenRaw(huge, auth), 'unsupported_grant_type');
    // ... while the query string still counts
    const q = await tokenRaw(huge, auth, '/oa/oauth/token?grant_type=client_credentials');
    assert.equal(q.status, 200, q.text);
    // duplicated parameters: the first value wins, body before query (Go's Form.Get)
    oauthErr(await tokenRaw('grant_type=magic&grant_type=client_credentials', auth), 'unsupported_grant_type');
    assert.equal((await tokenRaw('grant_type=client_credentials&grant_type=magic', auth)).status, 200);
    oauthErr(await tokenRaw('grant_type=magic', auth, '/oa/oauth/token?grant_type=client_credentials'), 'unsupported_grant_type');
    // a pair Go cannot unescape is dropped, the rest stays
    assert.equal((await tokenRaw('bad=%zz&grant_type=client_credentials', auth)).status, 200);
    // bad Basic headers
    for (const h of ['Basic !!!', 'Bearer abc', 'Basic ' + Buffer.from('no-colon').toString('base64'), 'basic ' +
      Buffer.from(`c1:${clients.c1.secret}`).toString('base64')]) {
      oauthErr(await tokenRaw('grant_type=client_credentials', { Authorization: h }), 'invalid_request');
    }
    // client_id / client_secret in the body are not client authentication (AllowClientSecretInParams off)
    oauthErr(await tokenRaw(form({ grant_type: 'client_credentials', client_id: 'c1', client_secret: clients.c1.secret })),
      'invalid_request');
    oauthErr(await token('c1', { grant_type: 'client_credentials' }, { Authorization: basic('c1', 'wrong') }), 'unauthorized_client');
  }));

  it('PKCE: a code_challenge is ignored, as by the osin Tyk pins', T(async () => {
    const verifier = 'v'.repeat(50);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const a = await approve({ response_type: 'code', client_id: 'c1', redirect_uri: 'http://app.example/cb',
      code_challenge: challenge, code_challenge_method: 'S256' });
    assert.equal(a.status, 200, a.text);
    const stored = JSON.parse(await rc('GET', `oauth-data.oa.oauth-authorize.${a.json().code}`));
    assert.equal(stored.CodeChallenge ?? '', '');
    // no verifier, and a wrong one: both accepted
    const t = await token('c1', { grant_type: 'authorization_code', code: a.json().code });
    assert.equal(t.status, 200, t.text);
    const b = await approve({ response_type: 'code', client_id: 'c1', code_challenge: 'plain-challenge' });
    const t2 = await token('c1', { grant_type: 'authorization_code', code: b.json().code, code_verifier: 'not-it' });
    assert.equal(t2.status, 200, t2.text);
  }));

  it('implicit grant (response_type=token allowed): the token comes back at once, in redirect_to\'s fragment', T(async () => {
    const q = form({ response_type: 'token', client_id: 'c1', redirect_uri: 'http://app.example/cb', state: 'xyz 1' });
    const pass = await gw.get(`/oa/oauth/authorize?${q}`);
    assert.equal(pass.status, 307, pass.text);
    assert.equal(pass.headers.location, `http://127.0.0.1:9/login?${q}`);

    const keyRules = JSON.stringify({ org_id: 'default', rate: 33, per: 1, quota_max: -1,
      access_rights: { oa: { api_id: 'oa', api_name: 'oa', versions: ['Default'] } } });
    const refreshKeys = async () => (await rc('KEYS', 'oauth-data.oa.oauth-refresh.*')).length;
    const refreshBefore = await refreshKeys();
    const tokensBefore = Number(await rc('ZCARD', 'oauth-data.oa.oauth-client-tokens.c1'));
    const r = await approve({ response_type: 'token', client_id: 'c1', redirect_uri: 'http://app.example/cb',
      state: 'xyz 1', scope: 'read', key_rules: keyRules });
    assert.equal(r.status, 200, r.text);
    const b = r.json();
    assert.deepEqual(Object.keys(b).sort(), ['access_token', 'expires_in', 'redirect_to', 'scope', 'state', 'token_type']);
    assert.equal(b.token_type, 'bearer');
    assert.equal(b.expires_in, 3600);
    assert.equal(b.state, 'xyz 1');
    const cb = new URL(b.redirect_to);
    assert.equal(cb.origin + cb.pathname + cb.search, 'http://app.example/cb');
    const frag = new URLSearchParams(cb.hash.slice(1));
    assert.deepEqual(Object.fromEntries(frag), { access_token: b.access_token, expires_in: '3600', scope: 'read',
      state: 'xyz 1', token_type: 'bearer' });
    // a usable token with the key_rules session, no refresh token
    assert.equal((await use(b.access_token)).status, 200);
    const s = await gw.admin('GET', `/tyk/keys/${b.access_token}?api_id=oa`);
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json().rate, 33);
    assert.equal(s.json().oauth_client_id, 'c1');
    assert.equal(await refreshKeys(), refreshBefore);
    assert.equal(await rc('ZCARD', 'oauth-data.oa.oauth-client-tokens.c1'), tokensBefore + 1);
    // without key_rules the client's policy makes the session
    const p = await approve({ response_type: 'token', client_id: 'c1' });
    assert.equal(p.status, 200, p.text);
    assert.equal((await gw.admin('GET', `/tyk/keys/${p.json().access_token}?api_id=oa`)).json().rate, 500);
    // where only "code" is allowed the implicit grant is refused
    const ob = await gw.get('/oc/tyk/oauth/authorize-client/', { method: 'POST',
      body: form({ response_type: 'token', client_id: 'shared', redirect_uri: 'http://app.example/cb' }),
      headers: { ...FORM, 'X-Tyk-Authorization': gw.conf.secret } });
    assert.equal(ob.status, 401, ob.text);
    assert.equal(ob.json().error, 'unsupported_response_type');
  }));

  it('a deleted client\'s tokens are refused within about a second (Tyk\'s 1 s cache), without a Redis read per request', T(async () => {
    await newClient('oa', 'c3');
    const tok = (await token('c3', { grant_type: 'client_credentials' })).json().access_token;
    assert.equal((await use(tok)).status, 200);
    // the answer is cached per worker: a burst costs a few client reads, not one per request
    await rc('CONFIG', 'RESETSTAT');
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) assert.equal((await use(tok)).status, 200);
    const secs = Math.ceil((Date.now() - t0) / 1000);
    const stats = String(await rc('INFO', 'commandstats'));
    const gets = Number((/cmdstat_get:calls=(\d+)/.exec(stats) || [0, 0])[1]);
    // client reads: at most one per worker (2) per second started; plus the session cache's own
    assert.ok(gets <= 2 * 2 * (secs + 1), `GET calls ${gets} over ${secs} s`);
    assertJson(await gw.admin('DELETE', '/tyk/oauth/clients/oa/c3'), 200);
    const t1 = Date.now();
    await waitFor(async () => (await use(tok)).status === 403, { what: 'the deleted client refused', timeoutMs: 5000 });
    // a worker's answer lives 1 s: once that has passed since the deletion, every worker refuses
    await new Promise((res) => setTimeout(res, Math.max(0, t1 + 1100 - Date.now())));
    for (let i = 0; i < 6; i++) {
      const r = await use(tok);
      assert.equal(r.status, 403, r.text);
      assert.match(r.text, /OAuth client access was revoked/);
    }
  }));
});

describe('OAuth lapsed tokens without a retain period (the default)', () => {
  let gw;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(gw.redis.port, ...a);

  before(async () => {
    gw = await startGateway({ apis: [oauthApi('oa', 'http://127.0.0.1:9')] });
  });
  after(async () => { await gw?.stop(); });

  it('nothing is lapsed: the purge answers 200 and keeps expired entries; listings show live ones', T(async () => {
    const set = 'oauth-data.oa.oauth-client-tokens.c9';
    await rc('ZADD', set, now() - 86400 * 30, 'ancient', now() + 600, 'live');
    assertJson(await gw.admin('DELETE', '/tyk/oauth/tokens?scope=lapsed'), 200, { status: 'ok', message: 'lapsed tokens purged' });
    assert.equal(await rc('ZCARD', set), 2);
    const l = await gw.admin('GET', '/tyk/oauth/clients/oa/c9/tokens');
    assertJson(l, 200);
    assert.deepEqual(l.json().map((t) => t.code), ['live']);
    assert.equal(await rc('ZCARD', set), 2);
  }));
});
