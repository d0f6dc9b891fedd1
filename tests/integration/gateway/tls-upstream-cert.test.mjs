// SPDX-License-Identifier: Apache-2.0
// Upstream client certificates (mTLS to the upstream): tyk.conf security.certificates.upstream
// and API upstream_certificates map "host", "host:port", "*.domain" or "*" to a certificate ID
// from the store (or a PEM file path); the API's map overrides the global one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startRedis } from '../lib/redis.mjs';
import { makeCert } from '../lib/certs.mjs';

/* An HTTPS upstream that demands a client certificate signed by one of @cas and answers with
 * the CN it saw. */
async function startMtlsUpstream(serverCert, cas) {
  const server = https.createServer({
    key: serverCert.key, cert: serverCert.cert, ca: cas, requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    const peer = req.socket.getPeerCertificate();
    const body = JSON.stringify({ cn: peer && peer.subject ? peer.subject.CN : null });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    url: `https://127.0.0.1:${server.address().port}`,
    close() { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(() => r())); },
  };
}

describe('upstream client certificates', () => {
  let dir, up, redis, gw, alice, bob, aliceId, bobFile;
  const T = withLogs(() => gw);
  const api = (id, extra = {}) => keylessApi({ api_id: id, listen_path: `/${id}/`, target_url: up.url, ...extra });
  const cnOf = async (p) => {
    const r = await gw.get(p);
    return r.status === 200 ? JSON.parse(r.text).cn : r.status;
  };

  before(async () => {
    dir = makeTempDir('turnpike-upcert-');
    const server = makeCert(dir, 'upstream', 'localhost');
    alice = makeCert(dir, 'alice', 'alice-client');
    bob = makeCert(dir, 'bob', 'bob-client');
    // a certificate file with its key, as Tyk accepts a path in place of an ID
    bobFile = path.join(dir, 'bob-combined.pem');
    fs.writeFileSync(bobFile, Buffer.concat([bob.cert, bob.key]));
    up = await startMtlsUpstream(server, [alice.cert, bob.cert]);
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: {
        proxy_ssl_insecure_skip_verify: true,
        security: { private_certificate_encoding_secret: 'enc-secret', certificates: { upstream: { '*.example.org': bobFile } } },
      },
      apis: [api('none')],
    });
    const r = await gw.admin('POST', '/tyk/certs?org_id=default', Buffer.concat([alice.cert, alice.key]).toString());
    assert.equal(r.status, 200, r.text);
    aliceId = r.json().id;
  });
  after(async () => {
    await gw?.stop(); await up?.close(); await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a client certificate the upstream refuses the handshake → 500', T(async () => {
    const r = await gw.get('/none/x');
    assert.equal(r.status, 500, r.text);
  }));

  it('API upstream_certificates: "*", "host:port", bare host; a store certificate with its encrypted key', T(async () => {
    gw.writeApi(api('star', { upstream_certificates: { '*': aliceId } }));
    gw.writeApi(api('hostport', { upstream_certificates: { [`127.0.0.1:${up.port}`]: aliceId } }));
    gw.writeApi(api('bare', { upstream_certificates: { '127.0.0.1': aliceId } }));
    gw.writeApi(api('otherhost', { upstream_certificates: { 'api.example.com': aliceId } }));
    await gw.reload();
    assert.equal(await cnOf('/star/x'), 'alice-client');
    assert.equal(await cnOf('/hostport/x'), 'alice-client');
    assert.equal(await cnOf('/bare/x'), 'alice-client');
    assert.equal(await cnOf('/otherhost/x'), 500);
  }));

  it('the more specific entry wins: host:port over host over "*"', T(async () => {
    gw.writeApi(api('specific', { upstream_certificates: { '*': 'no-such-cert', '127.0.0.1': 'no-such-cert', [`127.0.0.1:${up.port}`]: aliceId } }));
    gw.writeApi(api('unknown', { upstream_certificates: { '*': 'defaultnosuchcertificate' } }));
    await gw.reload();
    assert.equal(await cnOf('/specific/x'), 'alice-client');
    // an unknown certificate ID means no client certificate (Tyk logs and goes on)
    assert.equal(await cnOf('/unknown/x'), 500);
  }));

  it('global security.certificates.upstream (a PEM file path); the API map overrides it', T(async () => {
    await gw.stop();
    gw = await startGateway({
      redis,
      conf: {
        proxy_ssl_insecure_skip_verify: true,
        security: { private_certificate_encoding_secret: 'enc-secret', certificates: { upstream: { '*': bobFile } } },
      },
      apis: [
        api('global'),
        api('override', { upstream_certificates: { '*': aliceId } }),
        api('disabled', { upstream_certificates: { '*': aliceId }, upstream_certificates_disabled: true }),
      ],
    });
    assert.equal(await cnOf('/global/x'), 'bob-client');
    assert.equal(await cnOf('/override/x'), 'alice-client');
    assert.equal(await cnOf('/disabled/x'), 'bob-client');
  }));

  it('a wrong encoding secret cannot decrypt the stored key: no client certificate', T(async () => {
    await gw.stop();
    gw = await startGateway({
      redis,
      conf: {
        proxy_ssl_insecure_skip_verify: true,
        security: { private_certificate_encoding_secret: 'another-secret' },
      },
      apis: [api('star', { upstream_certificates: { '*': aliceId } })],
    });
    assert.equal(await cnOf('/star/x'), 500);
    assert.match(gw.logs(), /certificate .*no usable certificate/);
  }));
});
