// SPDX-License-Identifier: Apache-2.0
// Listener certificates from the certificate store: http_server_options.ssl_certificates (IDs or
// PEM file paths) and API "certificates", served by SNI under the certificates' own names
// (SANs, wildcards), next to the file certificates of http_server_options.certificates.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { request } from '../lib/http.mjs';
import { makeCert } from '../lib/certs.mjs';

/* A self-signed certificate whose only names are @sans (no "localhost"). */
function certFor(dir, name, cn, sans) {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-days', '1',
    '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`,
    '-keyout', keyFile, '-out', certFile], { stdio: 'pipe', timeout: 30000 });
  const cert = fs.readFileSync(certFile), key = fs.readFileSync(keyFile);
  return { certFile, keyFile, cert, key, pem: Buffer.concat([cert, key]).toString() };
}

/* The CN of the certificate the listener presents for @servername (undefined: no SNI). */
function servedCN(port, servername) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      resolve(cn);
    });
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('timeout')); });
  });
}

describe('listener certificates from the store', () => {
  let dir, redis, up, loader, gw, certs, ids;
  const T = withLogs(() => gw);
  const upload = async (pem) => {
    const r = await loader.admin('POST', '/tyk/certs?org_id=default', pem);
    assert.equal(r.status, 200, r.text);
    return r.json().id;
  };

  before(async () => {
    dir = makeTempDir('turnpike-sni-');
    const fileCert = makeCert(dir, 'listener', 'localhost');
    certs = {
      store: certFor(dir, 'store', 'store.example', ['store.example']),
      disk: certFor(dir, 'disk', 'disk.example', ['disk.example']),
      api: certFor(dir, 'api', 'api.example', ['api.example', '*.wild.example']),
      later: certFor(dir, 'later', 'later.example', ['later.example']),
    };
    const diskCombined = path.join(dir, 'disk-combined.pem');
    fs.writeFileSync(diskCombined, certs.disk.pem);
    redis = await startRedis();
    up = await startUpstream();
    // a plain gateway on the same Redis fills the store through the control API
    loader = await startGateway({ redis });
    ids = {
      store: await upload(certs.store.pem),
      api: await upload(certs.api.pem),
      later: await upload(certs.later.pem),
    };
    gw = await startGateway({
      redis,
      conf: {
        http_server_options: {
          use_ssl: true,
          certificates: [{ domain_name: 'localhost', cert_file: fileCert.certFile, key_file: fileCert.keyFile }],
          ssl_certificates: [ids.store, diskCombined, 'defaultmissingcertificateid'],
        },
      },
      apis: [keylessApi({ api_id: 'withcert', listen_path: '/wc/', target_url: up.url, certificates: [ids.api] })],
    });
  });
  after(async () => {
    await gw?.stop(); await loader?.stop(); await up?.close(); await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ssl_certificates: a store ID and a file path, each served for its own names', T(async () => {
    assert.equal(await servedCN(gw.port, 'store.example'), 'store.example');
    assert.equal(await servedCN(gw.port, 'disk.example'), 'disk.example');
    // an ID that is not in the store is logged and skipped
    assert.match(gw.logs(), /defaultmissingcertificateid/);
  }));

  it('the first tyk.conf certificate answers unknown names and clients without SNI', T(async () => {
    assert.equal(await servedCN(gw.port, 'localhost'), 'localhost');
    assert.equal(await servedCN(gw.port, 'nobody.example'), 'localhost');
    assert.equal(await servedCN(gw.port, undefined), 'localhost');
  }));

  it('API certificates are served by SNI, wildcard SANs included', T(async () => {
    assert.equal(await servedCN(gw.port, 'api.example'), 'api.example');
    assert.equal(await servedCN(gw.port, 'a.wild.example'), 'api.example');
    assert.equal(await servedCN(gw.port, 'a.b.wild.example'), 'localhost'); // one label only
  }));

  it('a verifying client gets through on a store certificate', T(async () => {
    const r = await request(`${gw.url}/wc/x`, { servername: 'store.example', ca: certs.store.cert, rejectUnauthorized: true });
    assert.equal(r.status, 200, r.text);
  }));

  it('API certificates follow reloads', T(async () => {
    assert.equal(await servedCN(gw.port, 'later.example'), 'localhost');
    gw.writeApi(keylessApi({ api_id: 'later', listen_path: '/later/', target_url: up.url, certificates: [ids.later] }));
    await gw.reload();
    assert.equal(await servedCN(gw.port, 'later.example'), 'later.example');
    gw.removeApi('later');
    gw.removeApi('withcert');
    await gw.reload();
    assert.equal(await servedCN(gw.port, 'later.example'), 'localhost');
    assert.equal(await servedCN(gw.port, 'api.example'), 'localhost');
    assert.equal(await servedCN(gw.port, 'store.example'), 'store.example');
  }));
});
