// SPDX-License-Identifier: Apache-2.0
// Expired client certificates and certificate-token bindings. The TLS listener accepts any
// client certificate (Go's RequestClientCert does not verify it), so the middleware answers:
//   static mTLS (CertificateCheck): an allowed certificate that has expired → 403 "Certificate
//     has expired"; an expired certificate that is not allowed → "... not allowed" (the allow
//     list is matched first, then the matching certificate's NotAfter is checked);
//   certificate-bound keys (auth_configs.authToken.use_certificate): an expired client
//     certificate → 403 "Certificate has expired", before any key lookup;
//   session mtls_static_certificate_bindings (newer Tyk): on an API with use_mutual_tls_auth, a
//     key that lists bindings may only be used with one of those certificates
//     ("<api org><sha256 hex>"), else 401 "Access to this API has been disallowed".
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { makeCert, makeExpiredCert } from '../lib/certs.mjs';

const DENIED = 'Access to this API has been disallowed';
const EXPIRED = 'Certificate has expired';
const fingerprint = (pem) => new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
const certId = (pem) => `default${fingerprint(pem)}`;
const rights = (...ids) => Object.fromEntries(ids.map((id) => [id, { api_id: id, api_name: id, versions: ['Default'] }]));

function tokenApi(api_id, target, { useCertificate = false, ...def } = {}) {
  return {
    name: api_id, api_id, org_id: 'default', use_keyless: false, active: true,
    auth_configs: { authToken: { auth_header_name: 'Authorization', use_certificate: useCertificate } },
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
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const expectErr = (r, status, msg) => {
  assert.equal(r.status, status, r.body);
  assert.equal(JSON.parse(r.body).error, msg);
};

async function setup(dir, apis, { unsafe = false } = {}) {
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
    apis: apis(up.url),
  });
  return { gw, up, redis };
}

async function teardown(env, dir) {
  await env?.gw?.stop(); await env?.up?.close(); await env?.redis?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/* The store refuses expired certificates (POST /tyk/certs → 403), so an allowed certificate
 * that has since expired is put where the store keeps it, as if added while it was valid. */
const storeRaw = (redis, pem) => redisCommand(redis.port, 'SET', `cert-raw-${certId(pem)}`, pem);

describe('expired client certificates', () => {
  let env, dir, valid, old;
  const T = withLogs(() => env?.gw);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-mtls-expired-'));
    valid = makeCert(dir, 'valid', 'valid');
    old = makeExpiredCert(dir, 'old');
    assert.ok(new Date(new crypto.X509Certificate(old.cert).validTo) < new Date(), 'the certificate has expired');
    env = await setup(dir, (target) => [
      keylessApi({ api_id: 'static', listen_path: '/static/', target_url: target,
        use_mutual_tls_auth: true, client_certificates: [certId(valid.cert), certId(old.cert)] }),
      keylessApi({ api_id: 'static-valid-only', listen_path: '/static-valid-only/', target_url: target,
        use_mutual_tls_auth: true, client_certificates: [certId(valid.cert)] }),
      tokenApi('bound', target, { useCertificate: true }),
    ]);
    assert.equal((await env.gw.admin('POST', '/tyk/certs?org_id=default', valid.cert)).status, 200);
    await storeRaw(env.redis, old.cert);
    // A key bound to each certificate (the expired one's written directly: its id is all the
    // binding needs).
    for (const c of [valid, old]) {
      const r = await env.gw.admin('POST', '/tyk/keys/create', { org_id: 'default', certificate: certId(c.cert),
        access_rights: rights('bound') });
      assert.equal(r.status, 200, r.text);
    }
  });
  after(() => teardown(env, dir));

  it('an allowed, unexpired certificate passes', T(async () => {
    const r = await get(env.gw.port, '/static/x', valid);
    assert.equal(r.status, 200, r.body);
  }));

  it('static mTLS: an allowed certificate that has expired → 403 "Certificate has expired"', T(async () => {
    expectErr(await get(env.gw.port, '/static/x', old), 403, EXPIRED);
  }));

  it('static mTLS: an expired certificate that is not allowed → 403 "... not allowed"', T(async () => {
    expectErr(await get(env.gw.port, '/static-valid-only/x', old), 403,
      `Certificate with SHA256 ${fingerprint(old.cert)} not allowed`);
    assert.equal((await get(env.gw.port, '/static-valid-only/x', valid)).status, 200);
  }));

  it('certificate-bound key: an expired client certificate → 403 "Certificate has expired"', T(async () => {
    assert.equal((await get(env.gw.port, '/bound/x', valid)).status, 200);
    expectErr(await get(env.gw.port, '/bound/x', old), 403, EXPIRED);
    // A token header does not change that (it is ignored for certificate-bound APIs).
    expectErr(await get(env.gw.port, '/bound/x', old, { Authorization: 'anything' }), 403, EXPIRED);
  }));
});

describe('expired client certificate with security.allow_unsafe_dynamic_mtls_token', () => {
  let env, dir, old, plainKey;
  const T = withLogs(() => env?.gw);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-mtls-expired-'));
    old = makeExpiredCert(dir, 'old');
    env = await setup(dir, (target) => [tokenApi('bound', target, { useCertificate: true })], { unsafe: true });
    const r = await env.gw.admin('POST', '/tyk/keys', { org_id: 'default', access_rights: rights('bound') });
    assert.equal(r.status, 200, r.text);
    plainKey = JSON.parse(r.text).key;
  });
  after(() => teardown(env, dir));

  it('a valid token with an expired certificate → 403 "Certificate has expired"', T(async () => {
    assert.equal((await get(env.gw.port, '/bound/x', null, { Authorization: plainKey })).status, 200);
    expectErr(await get(env.gw.port, '/bound/x', old, { Authorization: plainKey }), 403, EXPIRED);
    expectErr(await get(env.gw.port, '/bound/x', old), 403, EXPIRED);
  }));
});

describe('session mtls_static_certificate_bindings', () => {
  let env, dir, alice, bob, boundKey, freeKey;
  const T = withLogs(() => env?.gw);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-mtls-bind-'));
    alice = makeCert(dir, 'alice', 'alice');
    bob = makeCert(dir, 'bob', 'bob');
    env = await setup(dir, (target) => [
      tokenApi('static', target, { use_standard_auth: true, use_mutual_tls_auth: true, client_certificates: [certId(alice.cert), certId(bob.cert)] }),
      tokenApi('plain', target),
      tokenApi('both', target, { useCertificate: true, use_standard_auth: true, use_mutual_tls_auth: true,
        client_certificates: [certId(alice.cert), certId(bob.cert)] }),
    ]);
    for (const c of [alice, bob])
      assert.equal((await env.gw.admin('POST', '/tyk/certs?org_id=default', c.cert)).status, 200);
    let r = await env.gw.admin('POST', '/tyk/keys', { org_id: 'default', access_rights: rights('static', 'plain'),
      mtls_static_certificate_bindings: [certId(alice.cert)] });
    assert.equal(r.status, 200, r.text);
    boundKey = JSON.parse(r.text).key;
    r = await env.gw.admin('POST', '/tyk/keys', { org_id: 'default', access_rights: rights('static', 'plain') });
    assert.equal(r.status, 200, r.text);
    freeKey = JSON.parse(r.text).key;
  });
  after(() => teardown(env, dir));

  it('the bindings are kept with the key', T(async () => {
    const r = await env.gw.admin('GET', `/tyk/keys/${boundKey}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.text).mtls_static_certificate_bindings, [certId(alice.cert)]);
  }));

  it('static mTLS: a bound key works only with a listed certificate', T(async () => {
    assert.equal((await get(env.gw.port, '/static/x', alice, { Authorization: boundKey })).status, 200);
    expectErr(await get(env.gw.port, '/static/x', bob, { Authorization: boundKey }), 401, DENIED);
  }));

  it('a key without bindings works with any allowed certificate', T(async () => {
    { const r = await get(env.gw.port, '/static/x', alice, { Authorization: freeKey }); assert.equal(r.status, 200, r.body); }
    assert.equal((await get(env.gw.port, '/static/x', bob, { Authorization: freeKey })).status, 200);
  }));

  it('with use_certificate too, the bindings decide for a certificate-bound key', T(async () => {
    // Keys found by alice's and bob's certificates, each bound to alice's certificate only.
    for (const c of [alice, bob]) {
      const r = await env.gw.admin('POST', '/tyk/keys/create', { org_id: 'default', certificate: certId(c.cert),
        access_rights: rights('both'), mtls_static_certificate_bindings: [certId(alice.cert)] });
      assert.equal(r.status, 200, r.text);
    }
    assert.equal((await get(env.gw.port, '/both/x', alice)).status, 200);
    expectErr(await get(env.gw.port, '/both/x', bob), 401, DENIED);
  }));

  it('APIs without static mTLS ignore the bindings', T(async () => {
    assert.equal((await get(env.gw.port, '/plain/x', bob, { Authorization: boundKey })).status, 200);
    assert.equal((await get(env.gw.port, '/plain/x', null, { Authorization: boundKey })).status, 200);
  }));
});
