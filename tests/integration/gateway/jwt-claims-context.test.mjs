// SPDX-License-Identifier: Apache-2.0
// JWT claims as context variables (Tyk's ctxSetJWTContextVars): with enable_context_vars, the
// verified token's header fields and claims become $tyk_context.jwt_claims_<name>, stringified
// as Tyk's valToStr does (numbers at float32 precision, arrays joined with ",", objects "");
// header transforms and URL rewrites read them. Without enable_context_vars they are empty.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const SECRET = 'claims-secret';
const b64url = (b) => Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
function sign(claims, header = {}) {
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', ...header }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(crypto.createHmac('sha256', SECRET).update(input).digest())}`;
}

const paths = {
  transform_headers: [{
    path: '/h', method: 'GET', delete_headers: [],
    add_headers: {
      'X-Sub': '$tyk_context.jwt_claims_sub', 'X-Num': '$tyk_context.jwt_claims_n',
      'X-Frac': '$tyk_context.jwt_claims_f', 'X-Nested': '[$tyk_context.jwt_claims_org]',
      'X-Roles': '$tyk_context.jwt_claims_roles', 'X-Alg': '$tyk_context.jwt_claims_alg',
      'X-Kid': '$tyk_context.jwt_claims_kid',
    },
  }],
  url_rewrites: [{ path: '/r', method: 'GET', match_pattern: '/r', rewrite_to: '/users/$tyk_context.jwt_claims_sub/profile' }],
};

const jwtApi = (id, ctx) => ({
  name: id, api_id: id, org_id: 'default', use_keyless: false, active: true, enable_jwt: true,
  enable_context_vars: ctx, jwt_signing_method: 'hmac', jwt_source: Buffer.from(SECRET).toString('base64'),
  jwt_default_policies: ['p'],
  version_data: {
    not_versioned: true, default_version: 'Default',
    versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } },
  },
  proxy: { listen_path: `/${id}/`, target_url: undefined, strip_listen_path: true },
});

describe('JWT claims in $tyk_context', () => {
  let gw, up, polDir;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    polDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-pol-'));
    fs.writeFileSync(path.join(polDir, 'p.json'), JSON.stringify({
      id: 'p', name: 'p', org_id: 'default', active: true, rate: 1000, per: 1, quota_max: -1,
      access_rights: { on: { api_id: 'on', api_name: 'on', versions: ['Default'] }, off: { api_id: 'off', api_name: 'off', versions: ['Default'] } },
    }));
    const apis = [jwtApi('on', true), jwtApi('off', false)];
    for (const a of apis) a.proxy.target_url = up.url;
    gw = await startGateway({ conf: { policies: { policy_source: 'file', policy_path: polDir } }, apis });
  });
  after(async () => { await gw?.stop(); await up?.close(); fs.rmSync(polDir, { recursive: true, force: true }); });

  const claims = {
    sub: 'user-42', n: 42, f: 1.5, org: { id: 'acme' }, roles: ['admin', 'dev ops'],
    exp: Math.floor(Date.now() / 1000) + 600,
  };

  it('header transform: string, numeric, array, nested claims and header fields', T(async () => {
    const r = await gw.get('/on/h', { headers: { Authorization: sign(claims, { kid: 'k-1' }) } });
    assert.equal(r.status, 200, r.text);
    const h = r.json().headers;
    assert.equal(h['x-sub'], 'user-42');
    assert.equal(h['x-num'], '42');
    assert.equal(h['x-frac'], '1.5');
    assert.equal(h['x-nested'], '[]', 'an object claim has no text form in Tyk');
    assert.equal(h['x-roles'], 'admin,dev+ops');
    assert.equal(h['x-alg'], 'HS256');
    assert.equal(h['x-kid'], 'k-1');
  }));

  it('a claim wins over a header field of the same name', T(async () => {
    const r = await gw.get('/on/h', { headers: { Authorization: sign({ ...claims, kid: 'from-claims' }, { kid: 'from-header' }) } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().headers['x-kid'], 'from-claims');
  }));

  it('url rewrite on a claim', T(async () => {
    const r = await gw.get('/on/r', { headers: { Authorization: sign(claims) } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().url, '/users/user-42/profile');
  }));

  it('without enable_context_vars the claims are empty', T(async () => {
    const r = await gw.get('/off/h', { headers: { Authorization: sign(claims) } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().headers['x-sub'], '');
    const w = await gw.get('/off/r', { headers: { Authorization: sign(claims) } });
    assert.equal(w.json().url, '/users//profile');
  }));
});
