// SPDX-License-Identifier: Apache-2.0
// TLS on the listener (http_server_options) and to upstreams
// (proxy_ssl_insecure_skip_verify, proxy.transport, system trust store).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startRedis } from '../lib/redis.mjs';
import { request } from '../lib/http.mjs';
import { makeCert } from '../lib/certs.mjs';

describe('TLS', () => {
  let certDir, listenerCert, upstreamCert, up, redis;
  const gws = {};
  const T = withLogs(() => gws.current);

  before(async () => {
    certDir = makeTempDir('turnpike-certs-');
    listenerCert = makeCert(certDir, 'listener', 'localhost');
    upstreamCert = makeCert(certDir, 'upstream', 'localhost');
    up = await startUpstream(undefined, { tls: { key: upstreamCert.key, cert: upstreamCert.cert }, name: 'tls-up' });
    redis = await startRedis();
  });

  after(async () => {
    for (const g of Object.values(gws)) await g?.stop();
    await up?.close();
    await redis?.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  describe('listener', () => {
    before(async () => {
      gws.listener = gws.current = await startGateway({
        redis,
        conf: {
          http_server_options: {
            use_ssl: true,
            min_version: 772,
            certificates: [{ domain_name: 'localhost', cert_file: listenerCert.certFile, key_file: listenerCert.keyFile }],
          },
        },
        apis: [
          keylessApi({ api_id: 'secure', listen_path: '/secure/', target_url: up.url }),
          keylessApi({ api_id: 'perapi', listen_path: '/perapi/', target_url: up.url,
            proxy: { transport: { ssl_insecure_skip_verify: true } } }),
        ],
      });
    });

    it('serves HTTPS with the configured certificate', T(async () => {
      const r = await request(`${gws.listener.url}/hello`, { ca: listenerCert.cert, rejectUnauthorized: true, servername: 'localhost' });
      assert.equal(r.status, 200, r.text);
    }));

    it('plain HTTP on the TLS port does not get a normal response', T(async () => {
      const r = await request(`http://127.0.0.1:${gws.listener.port}/hello`, { timeoutMs: 3000 }).catch((e) => ({ error: e }));
      assert.ok(r.error || r.status === 400, `unexpected ${r.status}`);
    }));

    it('min_version 772 (TLS 1.3) refuses a TLS 1.2-only client', T(async () => {
      await assert.rejects(request(`${gws.listener.url}/hello`, { maxVersion: 'TLSv1.2', servername: 'localhost', timeoutMs: 5000 }));
      const ok = await request(`${gws.listener.url}/hello`, { minVersion: 'TLSv1.3', servername: 'localhost' });
      assert.equal(ok.status, 200);
    }));

    it('untrusted upstream certificate → 500', T(async () => {
      up.reset();
      const r = await request(`${gws.listener.url}/secure/x`, { servername: 'localhost' });
      assert.equal(r.status, 500, r.text);
      assert.deepEqual(r.json(), { error: 'There was a problem proxying the request' });
      assert.equal(up.requests.length, 0);
    }));

    it('proxy.transport.ssl_insecure_skip_verify on the API → 200', T(async () => {
      const r = await request(`${gws.listener.url}/perapi/x`, { servername: 'localhost' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().upstream, 'tls-up');
    }));
  });

  describe('upstream trust', () => {
    it('proxy_ssl_insecure_skip_verify → 200', async () => {
      gws.skip = gws.current = await startGateway({
        redis,
        conf: { proxy_ssl_insecure_skip_verify: true },
        apis: [keylessApi({ api_id: 'secure', listen_path: '/secure/', target_url: up.url })],
      });
      const r = await gws.skip.get('/secure/x');
      assert.equal(r.status, 200, `${r.text}\n${gws.skip.logTail(30)}`);
      assert.equal(r.json().upstream, 'tls-up');
      await gws.skip.stop(); delete gws.skip;
    });

    it('CA trusted through SSL_CERT_FILE → 200', async () => {
      gws.trust = gws.current = await startGateway({
        redis,
        env: { SSL_CERT_FILE: upstreamCert.certFile },
        apis: [keylessApi({ api_id: 'secure', listen_path: '/secure/', target_url: up.url })],
      });
      const r = await gws.trust.get('/secure/x');
      assert.equal(r.status, 200, `${r.text}\n${gws.trust.logTail(30)}`);
      await gws.trust.stop(); delete gws.trust;
    });
  });
});
