// SPDX-License-Identifier: Apache-2.0
// Basic auth credentials from the request body (basic_auth.extract_from_body with
// body_user_regexp / body_password_regexp, Tyk's TestBasicAuthFromBody): the header is tried
// first; the body's first regexp match, first group, otherwise. The body still reaches the
// upstream byte for byte.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis } from '../lib/redis.mjs';

const rights = (...ids) => Object.fromEntries(ids.map((id) => [id, { api_id: id, api_name: id, versions: ['Default'] }]));
const b64 = (s) => Buffer.from(s).toString('base64');
const basic = (user, pass) => ({ Authorization: `Basic ${b64(`${user}:${pass}`)}` });

function bodyApi(api_id, target, basicAuth) {
  return {
    name: `Body ${api_id}`, api_id, org_id: 'default', use_keyless: false, active: true,
    use_basic_auth: true,
    basic_auth: { extract_from_body: true, body_user_regexp: '<User>(.*)</User>',
      body_password_regexp: '<Password>(.*)</Password>', ...basicAuth },
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: `/${api_id}/`, target_url: target, strip_listen_path: true },
  };
}

describe('basic auth from the request body', () => {
  let gw, up, redis;
  const T = withLogs(() => gw);
  const post = (p, body, headers = {}) => gw.get(p, { method: 'POST', body, headers });
  const expectErr = (r, status, msg, realm) => {
    assert.equal(r.status, status, r.text);
    assert.equal(JSON.parse(r.text).error, msg);
    assert.equal(r.headers['www-authenticate'], realm ? `Basic realm="${realm}"` : undefined);
  };

  before(async () => {
    up = await startUpstream();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { hash_keys: true, hash_key_function: 'murmur64' },
      apis: [
        bodyApi('body', up.url),
        bodyApi('nogroup', up.url, { body_user_regexp: '<User>.*</User>', body_password_regexp: '<Password>.*</Password>' }),
        bodyApi('nopwgroup', up.url, { body_password_regexp: '<Password>.*</Password>' }),
        // Tyk leaves basic auth out of the chain when a regexp is empty or invalid: no session.
        bodyApi('emptyre', up.url, { body_password_regexp: '' }),
        bodyApi('badre', up.url, { body_user_regexp: '(' }),
      ],
    });
    const r = await gw.admin('POST', '/tyk/keys/user', {
      org_id: 'default', access_rights: rights('body', 'nogroup', 'nopwgroup'),
      basic_auth_data: { password: 'password' },
    });
    assert.equal(r.status, 200, r.text);
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
  });

  it('valid body credentials pass; the upstream gets the same body; no challenge header', T(async () => {
    const body = '<Auth><User>user</User><Password>password</Password></Auth>';
    const n = up.requests.length;
    const r = await post('/body/x', body, { 'Content-Type': 'application/xml' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['www-authenticate'], undefined);
    const rec = up.requests[n];
    assert.equal(rec.body.toString(), body);
    assert.equal(rec.headers['content-length'], String(Buffer.byteLength(body)));
  }));

  it('a chunked body is collected and forwarded whole', T(async () => {
    const big = `<User>user</User><Password>password</Password>${'x'.repeat(300000)}`;
    const n = up.requests.length;
    const r = await gw.get('/body/big', { method: 'POST', body: big, chunked: true,
      headers: { 'Transfer-Encoding': 'chunked' } });
    assert.equal(r.status, 200, r.text);
    const rec = up.requests[n];
    assert.equal(rec.bodyLength, big.length);
    assert.equal(rec.bodySha256, crypto.createHash('sha256').update(big).digest('hex'));
  }));

  it('a valid Authorization header wins; the body is not looked at', T(async () => {
    const r = await post('/body/x', 'no credentials here', basic('user', 'password'));
    assert.equal(r.status, 200, r.text);
  }));

  it('a malformed header falls back to the body', T(async () => {
    const body = '<User>user</User><Password>password</Password>';
    assert.equal((await post('/body/x', body, { Authorization: 'Basic %%%' })).status, 200);
    expectErr(await post('/body/x', 'nothing', { Authorization: 'Basic %%%' }), 400,
      'Body do not contain username');
  }));

  it('no body or no user match is 400 "Body do not contain username", without a challenge', T(async () => {
    expectErr(await post('/body/x'), 400, 'Body do not contain username');
    expectErr(await post('/body/x', '<User>User>'), 400, 'Body do not contain username');
    expectErr(await gw.get('/body/x'), 400, 'Body do not contain username');
  }));

  it('a user without a password is 400 "Body do not contain password"', T(async () => {
    expectErr(await post('/body/x', '<User>user</User>'), 400, 'Body do not contain password');
  }));

  it('a wrong password or unknown user is 401 "User not authorised" with the challenge', T(async () => {
    expectErr(await post('/body/x', '<User>user</User><Password>wrong</Password>'), 401,
      'User not authorised', 'Body body');
    expectErr(await post('/body/x', '<User>nobody</User><Password>password</Password>'), 401,
      'User not authorised', 'Body body');
  }));

  it('regexps without a capture group: 400 "... should be inside regexp match group"', T(async () => {
    const body = '<User>user</User><Password>password</Password>';
    expectErr(await post('/nogroup/x', body), 400, 'username should be inside regexp match group');
    expectErr(await post('/nopwgroup/x', body), 400, 'password should be inside regexp match group');
  }));

  it('an empty or invalid regexp leaves basic auth out: 400 "Session state is missing"', T(async () => {
    const body = '<User>user</User><Password>password</Password>';
    const msg = 'Session state is missing or unset! Please make sure that auth headers are properly applied';
    expectErr(await post('/emptyre/x', body), 400, msg);
    expectErr(await post('/badre/x', body, basic('user', 'password')), 400, msg);
  }));

  it('Expect: 100-continue is honoured while the body is collected', T(async () => {
    const body = '<User>user</User><Password>password</Password>';
    const r = await post('/body/x', body, { Expect: '100-continue' });
    assert.equal(r.status, 200, r.text);
  }));
});
