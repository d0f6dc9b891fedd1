// SPDX-License-Identifier: Apache-2.0
// Certificate-bound keys ("dynamic mTLS", auth_configs.authToken.use_certificate): a key created
// with "certificate": <cert id> is named generateToken(org, cert id); on TLS the client
// certificate finds it (org + SHA-256 of its DER) and token headers are ignored, unless
// security.allow_unsafe_dynamic_mtls_token. The certificate must be in the certificate store.
// Keys are bound by creating them through POST /tyk/keys/create (Tyk's createKeyHandler).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startGateway, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis } from '../lib/redis.mjs';
import { makeCert } from '../lib/certs.mjs';

const DENIED = 'Access to this API has been disallowed';
const fingerprint = (pem) => new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
const rights = (...ids) => Object.fromEntries(ids.map((id) => [id, { api_id: id, api_name: id, versions: ['Default'] }]));

function certApi(api_id, target, def = {}) {
  return {
    name: api_id, api_id, org_id: 'default', use_keyless: false, active: true,
    auth_configs: { authToken: { auth_header_name: 'Authorization', use_certificate: true } },
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: `/${api_id}/`, target_url: target, strip_listen_path: true },
    ...def,
  };
}

function get(port, p, client, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: p, servername: 'localhost', rejectUnauthorized: false, agent: false, headers,
      ...(client ? { cert: client.cert, key: client.key } : {}),
    }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function setup(dir, { unsafe = false } = {}) {
  const server = makeCert(dir, 'server', 'localhost');
  const up = await startUpstream();
  const redis = await startRedis();
  const gw = await startGateway({
    redis,
    conf: {
      hash_keys: true, hash_key_function: 'murmur64',
      security: { allow_unsafe_dynamic_mtls_token: unsafe },
      http_server_options: { use_ssl: true, certificates: [{ domain_name: 'localhost', cert_file: server.certFile, key_file: server.keyFile }] },
    },
    apis: [certApi('bound', up.url)],
  });
  return { gw, up, redis };
}

const expectErr = (r, status, msg) => {
  assert.equal(r.status, status, r.body);
  assert.equal(JSON.parse(r.body).error, msg);
};

describe('certificate-bound keys (default: certificate only)', () => {
  let env, dir, alice, bob, mallory, aliceId, bobKey, plainKey;
  const T = withLogs(() => env?.gw);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-certkey-'));
    alice = makeCert(dir, 'alice', 'alice');
    bob = makeCert(dir, 'bob', 'bob');
    mallory = makeCert(dir, 'mallory', 'mallory'); // has a key, but is not in the store
    env = await setup(dir);
    const { gw } = env;
    for (const c of [alice, bob]) {
      const r = await gw.admin('POST', '/tyk/certs?org_id=default', c.cert);
      assert.equal(r.status, 200, r.text);
    }
    aliceId = `default${fingerprint(alice.cert)}`;
    let r = await gw.admin('POST', '/tyk/keys/create', { org_id: 'default', certificate: aliceId, access_rights: rights('bound') });
    assert.equal(r.status, 200, r.text);
    r = await gw.admin('POST', '/tyk/keys/create', { org_id: 'default', certificate: `default${fingerprint(bob.cert)}`,
      access_rights: rights('bound') });
    assert.equal(r.status, 200, r.text);
    bobKey = JSON.parse(r.text).key;
    r = await gw.admin('POST', '/tyk/keys', { org_id: 'default', access_rights: rights('bound') });
    assert.equal(r.status, 200, r.text);
    plainKey = JSON.parse(r.text).key;
    // A key bound to mallory's certificate, written while it was in the store, then removed.
    r = await gw.admin('POST', '/tyk/certs?org_id=default', mallory.cert);
    assert.equal(r.status, 200, r.text);
    r = await gw.admin('POST', '/tyk/keys/create', { org_id: 'default', certificate: `default${fingerprint(mallory.cert)}`,
      access_rights: rights('bound') });
    assert.equal(r.status, 200, r.text);
    r = await gw.admin('DELETE', `/tyk/certs/default${fingerprint(mallory.cert)}?org_id=default`);
    assert.equal(r.status, 200, r.text);
  });
  after(async () => {
    await env?.gw?.stop(); await env?.up?.close(); await env?.redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the client certificate alone authenticates its key', T(async () => {
    assert.equal((await get(env.gw.port, '/bound/x', alice)).status, 200);
    assert.equal((await get(env.gw.port, '/bound/x', bob)).status, 200);
  }));

  it('no client certificate is 401 "Client certificate required", even with a valid token', T(async () => {
    expectErr(await get(env.gw.port, '/bound/x', null), 401, 'Client certificate required');
    expectErr(await get(env.gw.port, '/bound/x', null, { Authorization: plainKey }), 401, 'Client certificate required');
  }));

  it('a token header cannot borrow another certificate\'s key', T(async () => {
    // alice's certificate with bob's key token: the certificate decides, so this is alice.
    const r = await get(env.gw.port, '/bound/x', alice, { Authorization: bobKey });
    assert.equal(r.status, 200);
    // A certificate with no key: 401, whatever token comes with it.
    const stranger = makeCert(dir, 'stranger', 'stranger');
    expectErr(await get(env.gw.port, '/bound/x', stranger, { Authorization: bobKey }), 401, DENIED);
    expectErr(await get(env.gw.port, '/bound/x', stranger, { Authorization: plainKey }), 401, DENIED);
  }));

  it('a bound key whose certificate left the store is 403', T(async () => {
    expectErr(await get(env.gw.port, '/bound/x', mallory), 403, DENIED);
  }));
});

describe('certificate-bound keys with security.allow_unsafe_dynamic_mtls_token', () => {
  let env, dir, alice, stranger, plainKey;
  const T = withLogs(() => env?.gw);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-certkey-'));
    alice = makeCert(dir, 'alice', 'alice');
    stranger = makeCert(dir, 'stranger', 'stranger');
    env = await setup(dir, { unsafe: true });
    const { gw } = env;
    let r = await gw.admin('POST', '/tyk/certs?org_id=default', alice.cert);
    assert.equal(r.status, 200, r.text);
    r = await gw.admin('POST', '/tyk/keys/create', { org_id: 'default', certificate: `default${fingerprint(alice.cert)}`,
      access_rights: rights('bound') });
    assert.equal(r.status, 200, r.text);
    r = await gw.admin('POST', '/tyk/keys', { org_id: 'default', access_rights: rights('bound') });
    assert.equal(r.status, 200, r.text);
    plainKey = JSON.parse(r.text).key;
  });
  after(async () => {
    await env?.gw?.stop(); await env?.up?.close(); await env?.redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a token the certificate finds its key; with neither it is 401', T(async () => {
    assert.equal((await get(env.gw.port, '/bound/x', alice)).status, 200);
    expectErr(await get(env.gw.port, '/bound/x', null), 401, 'Authorization field missing');
  }));

  it('a token header is used as given; the certificate sent must be in the store', T(async () => {
    assert.equal((await get(env.gw.port, '/bound/x', alice, { Authorization: plainKey })).status, 200);
    expectErr(await get(env.gw.port, '/bound/x', stranger, { Authorization: plainKey }), 403, DENIED);
    // A plain key without any client certificate: nothing to check.
    assert.equal((await get(env.gw.port, '/bound/x', null, { Authorization: plainKey })).status, 200);
    expectErr(await get(env.gw.port, '/bound/x', stranger), 403, DENIED);
  }));
});
