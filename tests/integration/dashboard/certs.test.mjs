// SPDX-License-Identifier: Apache-2.0
// Dashboard certificates (/api/certs) stored through a real gateway's /tyk/certs, on SQLite and
// PostgreSQL: raw and multipart uploads, ids "<org><sha256 of DER>", listing and paging,
// duplicates and garbage refused, organisation isolation, the gateway down.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startDashboard, bootstrapOrg, stopSharedPostgres, STORAGES } from '../lib/dashboard.mjs';
import { makeTempDir, SECRET } from '../lib/gateway.mjs';
import { makeCert } from '../lib/certs.mjs';
import { freePort } from '../lib/ports.mjs';
import { redisCommand } from '../lib/redis.mjs';
import { startDashWithGateway } from './gateway-env.mjs';

after(stopSharedPostgres);

const tmp = makeTempDir('turnpike-dash-certs-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const certs = [0, 1, 2].map((i) => makeCert(tmp, `c${i}`, `cert${i}.example.com`).cert.toString());
const fingerprint = (pem) => crypto.createHash('sha256').update(new crypto.X509Certificate(pem).raw).digest('hex');

function multipart(pem) {
  const b = '----turnpikeboundary42';
  const body = `--${b}\r\nContent-Disposition: form-data; name="cert"; filename="c.pem"\r\n` +
    `Content-Type: application/x-pem-file\r\n\r\n${pem}\r\n--${b}--\r\n`;
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${b}` } };
}

for (const storage of STORAGES) {
  describe(`dashboard certificates through a gateway (${storage})`, () => {
    let env, A, B;
    before(async () => {
      env = await startDashWithGateway(storage);
      A = await bootstrapOrg(env.dash, { name: 'Org A' });
      B = await bootstrapOrg(env.dash, { name: 'Org B' });
    });
    after(async () => { await env?.stop(); });

    it('adds a PEM body and a multipart upload under the caller\'s org', async () => {
      const r = await env.dash.api(A.key, 'POST', '/api/certs', certs[0], { headers: { 'content-type': 'text/plain' } });
      assert.equal(r.status, 200, r.text);
      const id0 = A.orgId + fingerprint(certs[0]);
      assert.deepEqual(r.json(), { id: id0, status: 'ok', message: 'Certificate added' });
      assert.equal(await redisCommand(env.redis.port, 'EXISTS', `cert-raw-${id0}`), 1, 'in the gateway\'s store');
      const mp = multipart(certs[1]);
      const m = await env.dash.api(A.key, 'POST', '/api/certs', mp.body, { headers: mp.headers });
      assert.equal(m.status, 200, m.text);
      assert.equal(m.json().id, A.orgId + fingerprint(certs[1]));

      const dup = await env.dash.api(A.key, 'POST', '/api/certs', certs[0], { headers: { 'content-type': 'text/plain' } });
      assert.equal(dup.status, 409, dup.text);
      assert.match(dup.json().Message, /already exists/);
      for (const bad of ['not a certificate', '', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n']) {
        const g = await env.dash.api(A.key, 'POST', '/api/certs', bad, { headers: { 'content-type': 'text/plain' } });
        assert.equal(g.status, 400, `${JSON.stringify(bad)} -> ${g.text}`);
        assert.equal(g.json().Status, 'Error');
      }
      const broken = await env.dash.api(A.key, 'POST', '/api/certs', 'no parts here',
        { headers: { 'content-type': 'multipart/form-data; boundary=xyz' } });
      assert.equal(broken.status, 400);
      assert.match(broken.json().Message, /multipart/);
    });

    it('lists, pages, gets and deletes certificates', async () => {
      const l = await env.dash.api(A.key, 'GET', '/api/certs');
      assert.equal(l.status, 200, l.text);
      const ids = l.json().certs;
      assert.deepEqual([...ids].sort(), [A.orgId + fingerprint(certs[0]), A.orgId + fingerprint(certs[1])].sort());
      assert.equal(l.json().pages, 1);
      const det = (await env.dash.api(A.key, 'GET', '/api/certs?mode=detailed')).json();
      assert.equal(det.certs.length, 2);
      assert.ok(det.certs.every((c) => ids.includes(c.id)), JSON.stringify(det));
      const p1 = (await env.dash.api(A.key, 'GET', '/api/certs?p=1')).json();
      assert.equal(p1.certs.length, 2);
      assert.equal((await env.dash.api(A.key, 'GET', '/api/certs?p=2')).json().certs.length, 0);

      const id = ids[0];
      const g = await env.dash.api(A.key, 'GET', `/api/certs/${id}`);
      assert.equal(g.status, 200, g.text);
      assert.equal(g.json().id, id);
      const d = await env.dash.api(A.key, 'DELETE', `/api/certs/${id}`);
      assert.equal(d.status, 200, d.text);
      assert.equal(d.json().Status, 'OK');
      assert.equal((await env.dash.api(A.key, 'GET', `/api/certs/${id}`)).status, 404);
      assert.equal((await env.dash.api(A.key, 'DELETE', `/api/certs/${id}`)).status, 404);
      assert.equal((await env.dash.api(A.key, 'GET', '/api/certs')).json().certs.length, 1);
    });

    it('keeps organisations apart', async () => {
      const add = await env.dash.api(B.key, 'POST', '/api/certs', certs[2], { headers: { 'content-type': 'text/plain' } });
      assert.equal(add.status, 200, add.text);
      const idB = add.json().id;
      assert.ok(idB.startsWith(B.orgId));
      const la = (await env.dash.api(A.key, 'GET', '/api/certs')).json().certs;
      assert.ok(!la.includes(idB));
      assert.deepEqual((await env.dash.api(B.key, 'GET', '/api/certs')).json().certs, [idB]);
      const idA = la[0];
      assert.equal((await env.dash.api(B.key, 'GET', `/api/certs/${idA}`)).status, 404);
      assert.equal((await env.dash.api(B.key, 'DELETE', `/api/certs/${idA}`)).status, 404);
      assert.equal((await env.dash.api(A.key, 'GET', `/api/certs/${idA}`)).status, 200, 'still there');
      // The same certificate may exist in both organisations, under different ids.
      const again = await env.dash.api(A.key, 'POST', '/api/certs', certs[2], { headers: { 'content-type': 'text/plain' } });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.json().id, A.orgId + fingerprint(certs[2]));
    });
  });
}

describe('dashboard certificates with the gateway down', () => {
  let dash, A;
  before(async () => {
    const port = await freePort();
    dash = await startDashboard({ conf: { tyk_api_config: { Host: '127.0.0.1', Port: String(port), Secret: SECRET } } });
    A = await bootstrapOrg(dash);
  });
  after(async () => { await dash?.stop(); });

  it('answers 502 naming the gateway', async () => {
    const r = await dash.api(A.key, 'POST', '/api/certs', certs[0], { headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 502, r.text);
    assert.match(r.json().Message, /Could not reach the gateway at http:\/\/127\.0\.0\.1:\d+/);
    assert.equal((await dash.api(A.key, 'GET', '/api/certs')).status, 502);
  });
});
