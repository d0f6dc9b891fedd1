// SPDX-License-Identifier: Apache-2.0
// tyk.conf override_messages: the auth-token errors by id (auth.auth_field_missing,
// auth.key_not_found, ...) take the configured message and/or code; other errors keep theirs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const api = (id, extra = {}) => ({
  name: id, api_id: id, org_id: 'default', use_keyless: false, active: true,
  auth: { auth_header_name: 'Authorization' },
  version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
  proxy: { listen_path: `/${id}/`, target_url: extra.target, strip_listen_path: true },
  ...extra.def,
});

describe('override_messages', () => {
  let gw, up, key;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      conf: {
        override_messages: {
          'auth.auth_field_missing': { message: 'Who goes there?', code: 418 },
          'auth.key_not_found': { message: 'No such key here' },
          'auth.cert_required': { code: 495 },
          'oauth.key_not_found': { message: 'unused', code: 401 },
        },
      },
      apis: [
        api('keyed', { target: up.url }),
        api('basic', { target: up.url, def: { use_basic_auth: true } }),
      ],
    });
    const r = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', rate: 1000, per: 1, quota_max: -1,
      access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } },
    });
    assert.equal(r.status, 200, r.text);
    key = r.json().key;
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('auth.auth_field_missing: message and code replaced', T(async () => {
    const r = await gw.get('/keyed/x');
    assert.equal(r.status, 418);
    assert.deepEqual(r.json(), { error: 'Who goes there?' });
    assert.equal(r.headers['x-generator'], 'tyk.io');
  }));

  it('auth.key_not_found: only the message set, the 403 stays', T(async () => {
    for (const token of ['no-such-key-at-all', 'ab']) {
      const r = await gw.get('/keyed/x', { headers: { Authorization: token } });
      assert.equal(r.status, 403, token);
      assert.deepEqual(r.json(), { error: 'No such key here' });
    }
  }));

  it('a valid key is unaffected', T(async () => {
    const r = await gw.get('/keyed/x', { headers: { Authorization: key } });
    assert.equal(r.status, 200);
  }));

  it('errors without an override id keep their text (Basic auth is not overridable)', T(async () => {
    const r = await gw.get('/basic/x');
    assert.equal(r.status, 401);
    assert.deepEqual(r.json(), { error: 'Authorization field missing' });
  }));
});
