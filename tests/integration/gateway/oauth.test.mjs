// SPDX-License-Identifier: Apache-2.0
// Tyk's built-in OAuth 2.0 server (spec/gateway.md §6.5, §7.2, §11.4): the /tyk/oauth/clients
// control API with Tyk's Redis layout, and the client_credentials grant at <listen>/oauth/token.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { redisCommand } from '../lib/redis.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const ERR = (message) => ({ status: 'error', message });

function assertJson(r, status, body) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  if (body !== undefined) assert.deepEqual(r.json(), body);
}

function oauthApi(id, target, extra = {}) {
  return keylessApi({
    api_id: id, listen_path: `/${id}/`, target_url: target, use_keyless: false, use_oauth2: true,
    oauth_meta: { allowed_access_types: ['client_credentials'], allowed_authorize_types: ['code'],
      auth_login_redirect: 'http://127.0.0.1:9/login' },
    ...extra,
  });
}

function policy(id, apis, extra = {}) {
  const access_rights = {};
  for (const a of apis) access_rights[a] = { api_id: a, api_name: a, versions: ['Default'] };
  return { id, org_id: 'default', rate: 1000, per: 1, quota_max: -1, quota_renewal_rate: 3600,
    access_rights, active: true, ...extra };
}

describe('OAuth clients control API', () => {
  let gw, up;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(gw.redis.port, ...a);

  before(async () => {
    up = await startUpstream((req, res) => { res.writeHead(200); res.end('upstream ok'); });
    const polDir = makeTempDir('oauth-pol-');
    fs.writeFileSync(path.join(polDir, 'p1.json'), JSON.stringify(policy('p1', ['oa'])));
    fs.writeFileSync(path.join(polDir, 'p2.json'), JSON.stringify(policy('p2', ['oa'])));
    fs.writeFileSync(path.join(polDir, 'pk.json'), JSON.stringify(policy('pk', ['plain'])));
    fs.writeFileSync(path.join(polDir, 'pother.json'), JSON.stringify(policy('pother', ['plain'])));
    gw = await startGateway({
      conf: { policies: { policy_source: 'file', policy_path: polDir } },
      apis: [
        oauthApi('oa', up.url),
        keylessApi({ api_id: 'plain', listen_path: '/plain/', target_url: up.url }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('create with api_id stores the client as Tyk does and returns it', T(async () => {
    const r = await gw.admin('POST', '/tyk/oauth/clients/create', {
      api_id: 'oa', redirect_uri: 'http://app/cb', policy_id: 'p1', meta_data: { tier: 'gold' },
      description: 'first',
    });
    assertJson(r, 200);
    const b = r.json();
    assert.deepEqual(Object.keys(b), ['client_id', 'redirect_uri', 'policy_id', 'secret', 'meta_data', 'description']);
    assert.match(b.client_id, /^[0-9a-f]{32}$/);
    // base64 of a dashed UUID, as Tyk's createOauthClientSecret
    assert.match(Buffer.from(b.secret, 'base64').toString(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(b.redirect_uri, 'http://app/cb');
    assert.deepEqual(b.meta_data, { tier: 'gold' });

    const stored = await rc('GET', `oauth-data.oa.oauth-clientid.${b.client_id}`);
    assert.equal(stored, JSON.stringify({ id: b.client_id, secret: b.secret, redirecturi: 'http://app/cb',
      meta_data: { tier: 'gold' }, policyid: 'p1', description: 'first' }));
    assert.deepEqual(await rc('LRANGE', 'oauth-data.oa.oauth-client-index.default', 0, -1),
      [`oauth-clientid.${b.client_id}`]);
    assert.deepEqual(await rc('SMEMBERS', 'oauth-data.oa.oauth-clientset.oauth-clientid.'), [stored]);
  }));

  it('create honours a given client_id and secret; list, get', T(async () => {
    const r = await gw.admin('POST', '/tyk/oauth/clients/create', {
      api_id: 'oa', client_id: 'mine', secret: 's3cret', redirect_uri: 'http://x/cb', description: 'd',
    });
    assertJson(r, 200, { client_id: 'mine', redirect_uri: 'http://x/cb', secret: 's3cret', meta_data: null, description: 'd' });
    const g = await gw.admin('GET', '/tyk/oauth/clients/oa/mine');
    assertJson(g, 200, { client_id: 'mine', redirect_uri: 'http://x/cb', secret: 's3cret', meta_data: null, description: 'd' });
    const l = await gw.admin('GET', '/tyk/oauth/clients/oa');
    assertJson(l, 200);
    assert.ok(l.json().some((c) => c.client_id === 'mine'));
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/oa/nope'), 404, ERR('OAuth Client ID not found'));
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/ghost/mine'), 404, ERR('OAuth Client ID not found'));
    const ghost = await gw.admin('GET', '/tyk/oauth/clients/ghost');
    assert.equal(ghost.status, 404);
    assert.equal(ghost.text.trim(), 'null');
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/plain'), 200, []);
  }));

  it('listing rebuilds a missing index from the stored clients', T(async () => {
    await rc('DEL', 'oauth-data.oa.oauth-client-index.default');
    const l = await gw.admin('GET', '/tyk/oauth/clients/oa');
    assertJson(l, 200);
    assert.ok(l.json().some((c) => c.client_id === 'mine'));
    const idx = await rc('LRANGE', 'oauth-data.oa.oauth-client-index.default', 0, -1);
    assert.ok(idx.includes('oauth-clientid.mine'), JSON.stringify(idx));
  }));

  it('create refusals use Tyk\'s codes and messages', T(async () => {
    assertJson(await gw.admin('POST', '/tyk/oauth/clients/create', { api_id: 'ghost', redirect_uri: 'x' }),
      400, ERR("API doesn't exist"));
    assertJson(await gw.admin('POST', '/tyk/oauth/clients/create', { api_id: 'plain', redirect_uri: 'x' }),
      400, ERR('API is not OAuth2'));
    assertJson(await gw.admin('POST', '/tyk/oauth/clients/create', { redirect_uri: 'x', policy_id: 'nope' }),
      400, ERR("Policy doesn't exist"));
    assertJson(await gw.admin('POST', '/tyk/oauth/clients/create', { redirect_uri: 'x', policy_id: 'pk' }),
      400, ERR('API is not OAuth2'));
    assertJson(await gw.admin('POST', '/tyk/oauth/clients/create', '{"api_id":', { headers: { 'Content-Type': 'application/json' } }),
      500, ERR('Unmarshalling failed'));
    assertJson(await gw.admin('POST', '/tyk/oauth/clients/create', { api_id: 5 }), 500, ERR('Unmarshalling failed'));
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/create'), 405, ERR('Method not supported'));
  }));

  it('create by policy puts the client on the policy\'s OAuth APIs', T(async () => {
    const r = await gw.admin('POST', '/tyk/oauth/clients/create', { client_id: 'bypol', redirect_uri: 'http://p/cb', policy_id: 'p1' });
    assertJson(r, 200);
    assert.equal(r.json().policy_id, 'p1');
    assert.ok(await rc('GET', 'oauth-data.oa.oauth-clientid.bypol'));
  }));

  it('update replaces redirect, policy, meta and description; keeps id and secret', T(async () => {
    const u = await gw.admin('PUT', '/tyk/oauth/clients/oa/mine', { redirect_uri: 'http://new/cb', policy_id: 'p2', meta_data: { a: 1 }, description: 'new' });
    assertJson(u, 200, { client_id: 'mine', redirect_uri: 'http://new/cb', policy_id: 'p2', secret: 's3cret', meta_data: { a: 1 }, description: 'new' });
    const stored = JSON.parse(await rc('GET', 'oauth-data.oa.oauth-clientid.mine'));
    assert.equal(stored.policyid, 'p2');
    const set = await rc('SMEMBERS', 'oauth-data.oa.oauth-clientset.oauth-clientid.');
    assert.equal(set.filter((v) => v.includes('"mine"')).length, 1, 'old set entry replaced');
    assertJson(await gw.admin('PUT', '/tyk/oauth/clients/oa/mine', { policy_id: 'nope' }), 404, ERR("Policy doesn't exist"));
    assertJson(await gw.admin('PUT', '/tyk/oauth/clients/oa/mine', { policy_id: 'pother' }), 400,
      ERR("Policy access rights doesn't contain API this OAuth client belongs to"));
    assertJson(await gw.admin('PUT', '/tyk/oauth/clients/ghost/mine', {}), 404, ERR("API doesn't exist"));
    assertJson(await gw.admin('PUT', '/tyk/oauth/clients/oa/nope', {}), 404, ERR('OAuth Client ID not found'));
    assertJson(await gw.admin('PUT', '/tyk/oauth/clients/oa/mine', '[', { headers: { 'Content-Type': 'application/json' } }),
      500, ERR('Unmarshalling failed'));
  }));

  it('rotate gives a new secret and keeps the rest', T(async () => {
    const r = await gw.admin('PUT', '/tyk/oauth/clients/oa/mine/rotate');
    assertJson(r, 200);
    const b = r.json();
    assert.notEqual(b.secret, 's3cret');
    assert.equal(b.redirect_uri, 'http://new/cb');
    assert.equal(JSON.parse(await rc('GET', 'oauth-data.oa.oauth-clientid.mine')).secret, b.secret);
    assertJson(await gw.admin('PUT', '/tyk/oauth/clients/oa/nope/rotate'), 404, ERR('OAuth Client ID not found'));
    assertJson(await gw.admin('PUT', '/tyk/oauth/clients/ghost/mine/rotate'), 404, ERR("API doesn't exist"));
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/oa/mine/rotate'), 405, ERR('Method not supported'));
  }));

  it('delete removes the client, its index entry and set member', T(async () => {
    const d = await gw.admin('DELETE', '/tyk/oauth/clients/oa/bypol');
    assertJson(d, 200, { key: 'bypol', status: 'ok', action: 'deleted' });
    assert.equal(await rc('GET', 'oauth-data.oa.oauth-clientid.bypol'), null);
    const idx = await rc('LRANGE', 'oauth-data.oa.oauth-client-index.default', 0, -1);
    assert.ok(!idx.includes('oauth-clientid.bypol'));
    const set = await rc('SMEMBERS', 'oauth-data.oa.oauth-clientset.oauth-clientid.');
    assert.ok(!set.some((v) => v.includes('"bypol"')));
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/oa/bypol'), 404, ERR('OAuth Client ID not found'));
    assertJson(await gw.admin('DELETE', '/tyk/oauth/clients/ghost/x'), 404, ERR('OAuth Client ID not found'));
    assertJson(await gw.admin('DELETE', '/tyk/oauth/clients/plain/x'), 404, ERR('OAuth Client ID not found'));
  }));

  it('the control API still needs the secret', T(async () => {
    const r = await gw.admin('GET', '/tyk/oauth/clients/oa', undefined, { secret: 'wrong' });
    assert.equal(r.status, 403);
  }));
});

describe('OAuth token endpoint: client_credentials', () => {
  let gw, up;
  const T = withLogs(() => gw);
  const rc = (...a) => redisCommand(gw.redis.port, ...a);
  const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
  const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const token = (body, headers = {}, method = 'POST', p = '/oa/oauth/token') =>
    gw.get(p, { method, body, headers: { ...FORM, ...headers } });
  let client;

  before(async () => {
    up = await startUpstream((req, res) => { res.writeHead(200); res.end('upstream ok'); });
    const polDir = makeTempDir('oauth-pol-');
    fs.writeFileSync(path.join(polDir, 'p1.json'), JSON.stringify(policy('p1', ['oa'], { rate: 500, quota_max: 50 })));
    gw = await startGateway({
      conf: { hash_keys: true, hash_key_function: 'murmur64', oauth_token_expire: 1800,
        policies: { policy_source: 'file', policy_path: polDir } },
      apis: [
        oauthApi('oa', up.url),
        oauthApi('codeonly', up.url, { oauth_meta: { allowed_access_types: ['authorization_code'] } }),
      ],
    });
    const r = await gw.admin('POST', '/tyk/oauth/clients/create', {
      api_id: 'oa', client_id: 'cc1', redirect_uri: 'http://app/cb', policy_id: 'p1', meta_data: { team: 'blue' },
    });
    assert.equal(r.status, 200, r.text);
    client = r.json();
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('issues a bearer token that is a normal Tyk key with the client\'s policy', T(async () => {
    const r = await token('grant_type=client_credentials', { Authorization: basic('cc1', client.secret) });
    assertJson(r, 200);
    const b = r.json();
    assert.deepEqual(Object.keys(b), ['access_token', 'expires_in', 'token_type']);
    assert.equal(b.token_type, 'bearer');
    assert.equal(b.expires_in, 1800);
    assert.match(b.access_token, /^ey/);
    assert.equal(r.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');

    // The session is stored like any key: apikey-<hash>, TTL = expires_in, policy applied.
    const k = await gw.admin('GET', `/tyk/keys/${b.access_token}?api_id=oa`);
    assert.equal(k.status, 200, k.text);
    const s = k.json();
    assert.equal(s.oauth_client_id, 'cc1');
    assert.deepEqual(s.apply_policies, ['p1']);
    assert.equal(s.rate, 500);
    assert.equal(s.meta_data.team, 'blue');
    assert.ok(s.access_rights.oa);
    const tokens = await rc('ZRANGE', 'oauth-data.oa.oauth-client-tokens.cc1', 0, -1);
    assert.equal(tokens.length, 1);
    const ttl = Number(await rc('TTL', `apikey-${tokens[0]}`));
    assert.ok(ttl > 1700 && ttl <= 1800, String(ttl));
    const access = JSON.parse(await rc('GET', `oauth-data.oa.oauth-access.${tokens[0]}`));
    assert.equal(access.AccessToken, b.access_token);
    assert.equal(access.Client.id, 'cc1');
    assert.equal(access.RedirectUri, 'http://app/cb');

    // The client's token list (the control API shows hashed tokens and their expiry)
    const tl = await gw.admin('GET', '/tyk/oauth/clients/oa/cc1/tokens');
    assertJson(tl, 200);
    assert.equal(tl.json().length, 1);
    assert.equal(tl.json()[0].code, tokens[0]);
    assert.ok(Math.abs(tl.json()[0].expires - (Date.now() / 1000 + 1800)) < 60);
    const pg = await gw.admin('GET', '/tyk/oauth/clients/oa/cc1/tokens?page=x');
    assertJson(pg, 200);
    assert.deepEqual(pg.json().Pagination, { page_num: 1, page_total: 1, page_size: 100 });
    assert.equal(pg.json().Tokens[0].code, tokens[0]);
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/oa/cc1/tokens?page=2'), 200,
      { Pagination: { page_num: 2, page_total: 1, page_size: 100 }, Tokens: [] });
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/oa/nobody/tokens'), 200, []);
    assertJson(await gw.admin('GET', '/tyk/oauth/clients/ghost/cc1/tokens'), 404, ERR('OAuth Client ID not found'));

    // Using it on the API
    const ok = await gw.get('/oa/anything', { headers: { Authorization: `Bearer ${b.access_token}` } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.text, 'upstream ok');
  }));

  it('the API refuses requests without a valid bearer token, as Tyk\'s Oauth2KeyExists', T(async () => {
    const none = await gw.get('/oa/anything');
    assert.equal(none.status, 400, none.text);
    assert.match(none.text, /Authorization field missing/);
    const wrongScheme = await gw.get('/oa/anything', { headers: { Authorization: `Basic abc` } });
    assert.equal(wrongScheme.status, 400);
    assert.match(wrongScheme.text, /Bearer token malformed/);
    const unknown = await gw.get('/oa/anything', { headers: { Authorization: 'Bearer nope-nope-nope' } });
    assert.equal(unknown.status, 403);
    assert.match(unknown.text, /Key not authorised/);
  }));

  it('a JSON body is accepted as the form', T(async () => {
    const r = await gw.get('/oa/oauth/token/', { method: 'POST', body: { grant_type: 'client_credentials', scope: 'read' },
      headers: { Authorization: basic('cc1', client.secret) } });
    assertJson(r, 200);
    assert.equal(r.json().scope, 'read');
  }));

  it('malformed token requests get osin\'s RFC 6749 errors with oauth_error_status_code', T(async () => {
    const check = async (r, code) => {
      assert.equal(r.status, 403, r.text);
      assert.match(r.headers['content-type'] || '', /^application\/json/);
      assert.equal(r.json().error, code);
      assert.ok(r.json().error_description);
    };
    await check(await token('grant_type=client_credentials'), 'invalid_request'); // no client auth
    await check(await token('grant_type=client_credentials', { Authorization: 'Basic !!!' }), 'invalid_request');
    await check(await token('grant_type=client_credentials', { Authorization: basic('cc1', 'wrong') }), 'unauthorized_client');
    await check(await token('grant_type=client_credentials', { Authorization: basic('ghost', 'x') }), 'server_error');
    await check(await token('', { Authorization: basic('cc1', client.secret) }), 'unsupported_grant_type');
    await check(await token('grant_type=password', { Authorization: basic('cc1', client.secret) }), 'unsupported_grant_type');
    // wrong content type: the body is not read as a form, so there is no grant_type
    await check(await token('grant_type=client_credentials', { Authorization: basic('cc1', client.secret), 'Content-Type': 'text/plain' }),
      'unsupported_grant_type');
    // GET is refused by osin (AllowGetAccessRequest off)
    await check(await gw.get('/oa/oauth/token?grant_type=client_credentials', { headers: { Authorization: basic('cc1', client.secret) } }),
      'invalid_request');
    // a body over Go's 10 MiB form limit is left out of the form: Tyk parses the form before osin
    // and ignores that error, so osin finds no grant_type (more in oauth-more.test.mjs)
    const huge = 'grant_type=client_credentials&x=' + 'a'.repeat(11 << 20);
    await check(await token(huge, { Authorization: basic('cc1', client.secret) }), 'unsupported_grant_type');
    // grant type not in this API's allowed_access_types
    await check(await token('grant_type=client_credentials', { Authorization: basic('cc1', client.secret) }, 'POST', '/codeonly/oauth/token'),
      'unsupported_grant_type');
    const put = await token('grant_type=client_credentials', {}, 'PUT');
    assertJson(put, 405, ERR('Method not supported'));
  }));

  it('deleting the client revokes its tokens (403 client access revoked)', T(async () => {
    const r = await token('grant_type=client_credentials', { Authorization: basic('cc1', client.secret) });
    assertJson(r, 200);
    const tok = r.json().access_token;
    assert.equal((await gw.get('/oa/x', { headers: { Authorization: `Bearer ${tok}` } })).status, 200);
    assertJson(await gw.admin('DELETE', '/tyk/oauth/clients/oa/cc1'), 200);
    // each worker keeps the client check for 1 s, as Tyk does: past that, every worker refuses
    await new Promise((res) => setTimeout(res, 1100));
    const after = await gw.get('/oa/x', { headers: { Authorization: `Bearer ${tok}` } });
    assert.equal(after.status, 403, after.text);
    assert.match(after.text, /OAuth client access was revoked/);
    const again = await token('grant_type=client_credentials', { Authorization: basic('cc1', client.secret) });
    assert.equal(again.status, 403);
  }));
});

describe('OAuth token endpoint: password grant (basic-auth users of the API)', () => {
  let gw, up;
  const T = withLogs(() => gw);
  const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
  const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
  let client;
  const grant = (user, pass) => gw.get('/oa/oauth/token', { method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: user, password: pass }).toString(),
    headers: { ...FORM, Authorization: basic('pw1', client.secret) } });

  before(async () => {
    up = await startUpstream((req, res) => { res.writeHead(200); res.end('upstream ok'); });
    const polDir = makeTempDir('oauth-pol-');
    fs.writeFileSync(path.join(polDir, 'p1.json'), JSON.stringify(policy('p1', ['oa'])));
    // Legacy key names (no hash_key_function): the user "alice" is stored at
    // apikey-HashKey("default" + "alice"), where Tyk's password grant looks for it.
    gw = await startGateway({
      conf: { hash_keys: true, hash_key_function: '', policies: { policy_source: 'file', policy_path: polDir } },
      apis: [oauthApi('oa', up.url, { oauth_meta: { allowed_access_types: ['password', 'client_credentials'] } })],
    });
    const u = await gw.admin('POST', '/tyk/keys/alice', { org_id: 'default', rate: 100, per: 1, quota_max: -1,
      access_rights: { oa: { api_id: 'oa', api_name: 'oa', versions: ['Default'] } }, basic_auth_data: { password: 'pw' } });
    assert.equal(u.status, 200, u.text);
    const r = await gw.admin('POST', '/tyk/oauth/clients/create', {
      api_id: 'oa', client_id: 'pw1', redirect_uri: 'http://app/cb', policy_id: 'p1', meta_data: { app: 'mobile' },
    });
    assert.equal(r.status, 200, r.text);
    client = r.json();
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('issues a token with a refresh token for the right password; the user remembers it', T(async () => {
    const r = await grant('alice', 'pw');
    assertJson(r, 200);
    const b = r.json();
    assert.deepEqual(Object.keys(b), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
    assert.match(Buffer.from(b.refresh_token, 'base64').toString(), /^[0-9a-f-]{36}$/);
    const ok = await gw.get('/oa/x', { headers: { Authorization: `Bearer ${b.access_token}` } });
    assert.equal(ok.status, 200, ok.text);
    const refresh = await redisCommand(gw.redis.port, 'GET', `oauth-data.oa.oauth-refresh.${b.refresh_token}`);
    assert.equal(JSON.parse(refresh).AccessToken, b.access_token);
    const user = await gw.admin('GET', '/tyk/keys/alice?api_id=oa');
    assert.equal(user.status, 200, user.text);
    assert.equal(user.json().oauth_keys.pw1, b.access_token);
    assert.deepEqual(user.json().meta_data, { app: 'mobile' });

    // A new grant for the same client revokes the previous token.
    const r2 = await grant('alice', 'pw');
    assertJson(r2, 200);
    const old = await gw.get('/oa/x', { headers: { Authorization: `Bearer ${b.access_token}` } });
    assert.equal(old.status, 403, old.text);
    const fresh = await gw.get('/oa/x', { headers: { Authorization: `Bearer ${r2.json().access_token}` } });
    assert.equal(fresh.status, 200, fresh.text);
  }));

  it('a wrong password or unknown user is access_denied; missing fields invalid_grant', T(async () => {
    for (const [u, p, code] of [['alice', 'nope', 'access_denied'], ['bob', 'pw', 'access_denied'],
      ['', 'pw', 'invalid_grant'], ['alice', '', 'invalid_grant']]) {
      const r = await grant(u, p);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.json().error, code, `${u}/${p}`);
    }
  }));
});
