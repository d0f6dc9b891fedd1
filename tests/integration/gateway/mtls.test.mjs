// SPDX-License-Identifier: Apache-2.0
// Static mutual TLS (use_mutual_tls_auth + client_certificates): only allowed client
// certificates reach the API, with Tyk's messages for the others.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { makeCert } from '../lib/certs.mjs';

/* SHA-256 of the certificate's DER, as Tyk's certificate ids end with it. */
function fingerprint(pem) {
  return new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

function get(port, p, client) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: p, servername: 'localhost', rejectUnauthorized: false, agent: false,
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

describe('static mTLS', () => {
  let gw, up, dir, server, allowed, other, global;
  const T = withLogs(() => gw);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-mtls-'));
    server = makeCert(dir, 'server', 'localhost');
    allowed = makeCert(dir, 'allowed', 'client-a');
    other = makeCert(dir, 'other', 'client-b');
    global = makeCert(dir, 'global', 'client-g');
    up = await startUpstream();
    gw = await startGateway({
      conf: {
        http_server_options: { use_ssl: true, certificates: [{ domain_name: 'localhost', cert_file: server.certFile, key_file: server.keyFile }] },
        security: { certificates: { apis: [`default${fingerprint(global.cert)}`] } },
      },
      apis: [
        keylessApi({ api_id: 'mtls', listen_path: '/mtls/', target_url: up.url,
          use_mutual_tls_auth: true, client_certificates: [`default${fingerprint(allowed.cert)}`] }),
        keylessApi({ api_id: 'open', listen_path: '/open/', target_url: up.url }),
        keylessApi({ api_id: 'onlyglobal', listen_path: '/onlyglobal/', target_url: up.url, use_mutual_tls_auth: true }),
      ],
    });
  });
  after(async () => {
    await gw?.stop(); await up?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an allowed client certificate passes', T(async () => {
    const r = await get(gw.port, '/mtls/x', allowed);
    assert.equal(r.status, 200, r.body);
  }));

  it('no client certificate → 403 "Client TLS certificate is required"', T(async () => {
    const r = await get(gw.port, '/mtls/x', null);
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error, 'Client TLS certificate is required');
  }));

  it('another certificate → 403 "Certificate with SHA256 <hex> not allowed"', T(async () => {
    const r = await get(gw.port, '/mtls/x', other);
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error, `Certificate with SHA256 ${fingerprint(other.cert)} not allowed`);
  }));

  it('security.certificates.apis adds to every mTLS API\'s allow-list', T(async () => {
    assert.equal((await get(gw.port, '/mtls/x', global)).status, 200);
    assert.equal((await get(gw.port, '/onlyglobal/x', global)).status, 200);
    const r = await get(gw.port, '/onlyglobal/x', allowed);
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error, `Certificate with SHA256 ${fingerprint(allowed.cert)} not allowed`);
  }));

  it('APIs without mTLS accept clients with or without certificates', T(async () => {
    assert.equal((await get(gw.port, '/open/x', null)).status, 200);
    assert.equal((await get(gw.port, '/open/x', other)).status, 200);
  }));
});
