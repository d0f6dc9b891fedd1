// SPDX-License-Identifier: Apache-2.0
// The certificate store and its /tyk/certs control API (spec/gateway.md §6.6, §7.1, §7.2).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startRedis, redisCommand } from '../lib/redis.mjs';
import { waitFor } from '../lib/procs.mjs';
import { makeExpiredCert } from '../lib/certs.mjs';

const NOT_FOUND = 'Certificate with given SHA256 fingerprint not found';
const ENC_SECRET = 'cert-enc-secret';

function assertJson(r, status, body) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  if (body !== undefined) assert.deepEqual(r.json(), body);
}

const run = (args, cwd) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30000, cwd });

/* A self-signed certificate (with SANs) and its key, both PEM text. */
function selfSigned(dir, name, cn, extra = []) {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.crt`);
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/C=GB/O=Turnpike Test/CN=${cn}`, '-days', '2',
    '-addext', `subjectAltName=DNS:${cn},DNS:alt.${cn}`, ...extra, '-keyout', keyFile, '-out', certFile]);
  return { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}

const fp = (pem) => new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
const goTime = (s) => new Date(s).toISOString().replace('.000Z', 'Z');

/* Go's x509.DecryptPEMBlock: EVP_BytesToKey(MD5, salt = IV[:8], 1 round) + AES-256-CBC. */
function decryptLegacyPem(block, secret) {
  const m = /DEK-Info: AES-256-CBC,([0-9a-f]{32})\n\n([\s\S]*?)-----END/.exec(block);
  assert.ok(m, `encrypted block has a DEK-Info header: ${block}`);
  const iv = Buffer.from(m[1], 'hex');
  let key = Buffer.alloc(0);
  let prev = Buffer.alloc(0);
  while (key.length < 32) {
    prev = crypto.createHash('md5').update(Buffer.concat([prev, Buffer.from(secret), iv.subarray(0, 8)])).digest();
    key = Buffer.concat([key, prev]);
  }
  const d = crypto.createDecipheriv('aes-256-cbc', key.subarray(0, 32), iv);
  return Buffer.concat([d.update(Buffer.from(m[2].replace(/\s+/g, ''), 'base64')), d.final()]);
}

const pemDer = (pem) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

describe('/tyk/certs certificate store', () => {
  let gw, redis, dir, a, b, kp;
  const T = withLogs(() => gw);
  const rc = (...x) => redisCommand(redis.port, ...x);

  before(async () => {
    dir = makeTempDir('turnpike-certs-');
    a = selfSigned(dir, 'a', 'a.example.com');
    b = selfSigned(dir, 'b', 'b.example.com', ['-addext', 'basicConstraints=critical,CA:FALSE']);
    kp = selfSigned(dir, 'kp', 'kp.example.com');
    redis = await startRedis();
    gw = await startGateway({ redis, conf: { security: { private_certificate_encoding_secret: ENC_SECRET } } });
  });
  after(async () => {
    await gw?.stop();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('POST stores cert-raw-<org><sha256> and appends to cert-<org>-index', T(async () => {
    const id = `org1${fp(a.cert)}`;
    const r = await gw.admin('POST', '/tyk/certs?org_id=org1', a.cert);
    assertJson(r, 200, { id, status: 'ok', message: 'Certificate added' });
    const raw = await rc('GET', `cert-raw-${id}`);
    assert.ok(raw, 'stored');
    assert.equal(fp(raw), fp(a.cert));
    assert.ok(!raw.includes('PRIVATE KEY'), raw);
    assert.deepEqual(await rc('LRANGE', 'cert-org1-index', '0', '-1'), [`raw-${id}`]);
  }));

  it('duplicate → 403 "Certificate with <id> id already exists"', T(async () => {
    const id = `org1${fp(a.cert)}`;
    const r = await gw.admin('POST', '/tyk/certs?org_id=org1', a.cert);
    assertJson(r, 403, { status: 'error', message: `Certificate with ${id} id already exists` });
    assert.deepEqual(await rc('LRANGE', 'cert-org1-index', '0', '-1'), [`raw-${id}`]);
  }));

  it('invalid PEM, expired certificate, mismatched key → 403 with Tyk\'s messages', T(async () => {
    assertJson(await gw.admin('POST', '/tyk/certs?org_id=org1', 'not a certificate'), 403,
      { status: 'error', message: 'Failed to decode certificate. It should be PEM encoded.' });
    const old = makeExpiredCert(dir).cert;
    assertJson(await gw.admin('POST', '/tyk/certs?org_id=org1', old), 403,
      { status: 'error', message: 'certificate is expired' });
    assert.equal(await rc('EXISTS', `cert-raw-org1${fp(old)}`), 0);
    assertJson(await gw.admin('POST', '/tyk/certs?org_id=org1', b.cert + a.key), 403,
      { status: 'error', message: 'tls: private key does not match public key' });
  }));

  it('certificate + key: the key is stored encrypted with private_certificate_encoding_secret', T(async () => {
    const id = `org1${fp(kp.cert)}`;
    assertJson(await gw.admin('POST', '/tyk/certs?org_id=org1', kp.cert + kp.key), 200,
      { id, status: 'ok', message: 'Certificate added' });
    const raw = await rc('GET', `cert-raw-${id}`);
    assert.match(raw, /-----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,/);
    const keyBlock = raw.slice(raw.indexOf('-----BEGIN ENCRYPTED PRIVATE KEY-----'));
    assert.deepEqual(decryptLegacyPem(keyBlock, ENC_SECRET), pemDer(kp.key));
    const g = await gw.admin('GET', `/tyk/certs/${id}`);
    assertJson(g, 200);
    assert.equal(g.json().has_private, true);
  }));

  it('GET /tyk/certs?org_id= lists ids; mode=detailed gives CertificateBasics', T(async () => {
    const idb = `org1${fp(b.cert)}`;
    assertJson(await gw.admin('POST', '/tyk/certs?org_id=org1', b.cert), 200);
    const ids = [`org1${fp(a.cert)}`, `org1${fp(kp.cert)}`, idb];
    assertJson(await gw.admin('GET', '/tyk/certs?org_id=org1'), 200, { certs: ids });
    const d = await gw.admin('GET', '/tyk/certs?org_id=org1&mode=detailed');
    assertJson(d, 200);
    const certs = d.json().certs;
    assert.equal(certs.length, 3);
    const x = new crypto.X509Certificate(b.cert);
    assert.deepEqual(certs[2], {
      id: idb, issuer_cn: 'b.example.com', subject_cn: 'b.example.com',
      dns_names: ['b.example.com', 'alt.b.example.com'], has_private: false,
      not_before: goTime(x.validFrom), not_after: goTime(x.validTo), is_ca: false,
    });
    assert.equal(certs[1].has_private, true);
    assert.equal(certs[0].is_ca, new crypto.X509Certificate(a.cert).ca);
    assertJson(await gw.admin('GET', '/tyk/certs?org_id=nobody'), 200, { certs: null });
    assertJson(await gw.admin('GET', '/tyk/certs?org_id=nobody&mode=detailed'), 200, { certs: [] });
  }));

  it('GET /tyk/certs/{id} → CertificateMeta; several ids → list; unknown → 404', T(async () => {
    const id = `org1${fp(a.cert)}`;
    const x = new crypto.X509Certificate(a.cert);
    const r = await gw.admin('GET', `/tyk/certs/${id}`);
    assertJson(r, 200);
    const m = r.json();
    assert.equal(m.id, id);
    assert.equal(m.fingerprint, fp(a.cert));
    assert.equal(m.has_private, false);
    assert.equal(m.subject.CommonName, 'a.example.com');
    assert.deepEqual(m.subject.Country, ['GB']);
    assert.deepEqual(m.subject.Organization, ['Turnpike Test']);
    assert.equal(m.subject.Locality, null);
    assert.deepEqual(m.subject.Names, [
      { Type: [2, 5, 4, 6], Value: 'GB' }, { Type: [2, 5, 4, 10], Value: 'Turnpike Test' },
      { Type: [2, 5, 4, 3], Value: 'a.example.com' }]);
    assert.equal(m.issuer.CommonName, 'a.example.com');
    assert.equal(m.not_before, goTime(x.validFrom));
    assert.equal(m.not_after, goTime(x.validTo));
    assert.deepEqual(m.dns_names, ['a.example.com', 'alt.a.example.com']);
    assert.equal(m.is_ca, x.ca);

    const idb = `org1${fp(b.cert)}`;
    const several = await gw.admin('GET', `/tyk/certs/${id},${idb},org1${'0'.repeat(64)}`);
    assertJson(several, 200);
    const list = several.json();
    assert.equal(list.length, 3);
    assert.equal(list[0].id, id);
    assert.equal(list[1].id, idb);
    assert.equal(list[1].is_ca, false);
    assert.equal(list[2], null);

    assertJson(await gw.admin('GET', `/tyk/certs/org1${'0'.repeat(64)}`), 404,
      { status: 'error', message: NOT_FOUND });
  }));

  it('DELETE /tyk/certs/{id} removes the entry and its index row', T(async () => {
    const id = `org1${fp(b.cert)}`;
    assertJson(await gw.admin('DELETE', `/tyk/certs/${id}?org_id=org1`), 200, { status: 'ok', message: 'removed' });
    assert.equal(await rc('EXISTS', `cert-raw-${id}`), 0);
    assert.ok(!(await rc('LRANGE', 'cert-org1-index', '0', '-1')).includes(`raw-${id}`));
    assertJson(await gw.admin('GET', `/tyk/certs/${id}`), 404, { status: 'error', message: NOT_FOUND });
    // the org comes from the id when org_id is absent
    const ida = `org1${fp(a.cert)}`;
    assertJson(await gw.admin('DELETE', `/tyk/certs/${ida}`), 200, { status: 'ok', message: 'removed' });
    assert.deepEqual(await rc('LRANGE', 'cert-org1-index', '0', '-1'), [`raw-org1${fp(kp.cert)}`]);
    assertJson(await gw.admin('GET', '/tyk/certs?org_id=org1'), 200, { certs: [`org1${fp(kp.cert)}`] });
  }));

  it('a cert without an org has no index; an org list rebuilds its missing index once', T(async () => {
    const id = fp(a.cert);
    assertJson(await gw.admin('POST', '/tyk/certs', a.cert), 200, { id, status: 'ok', message: 'Certificate added' });
    assert.ok(await rc('GET', `cert-raw-${id}`));
    // an entry written without index (as an older Tyk did) is found and indexed by the first list
    await rc('SET', `cert-raw-org9${id}`, a.cert);
    assertJson(await gw.admin('GET', '/tyk/certs?org_id=org9'), 200, { certs: [`org9${id}`] });
    await waitFor(async () => (await rc('GET', 'cert-org9-index-migrated')) === '1', { what: 'migration mark' });
    assert.deepEqual(await rc('LRANGE', 'cert-org9-index', '0', '-1'), [`raw-org9${id}`]);
  }));

  it('405 for other methods', T(async () => {
    assertJson(await gw.admin('PUT', '/tyk/certs', a.cert), 405);
    assertJson(await gw.admin('POST', `/tyk/certs/${fp(a.cert)}`, a.cert), 405);
  }));

  it('Redis down → 503', T(async () => {
    await redis.stop();
    try {
      await waitFor(async () => (await gw.admin('GET', '/tyk/certs?org_id=org1')).status === 503,
        { timeoutMs: 10000, intervalMs: 100, what: '503 while Redis is down' });
      const r = await gw.admin('GET', '/tyk/certs?org_id=org1');
      assert.equal(r.json().status, 'error');
      assert.match(r.json().message, /Redis/);
      assert.equal((await gw.admin('POST', '/tyk/certs?org_id=org1', b.cert)).status, 503);
      assert.equal((await gw.admin('GET', `/tyk/certs/org1${fp(kp.cert)}`)).status, 503);
      assert.equal((await gw.admin('DELETE', `/tyk/certs/org1${fp(kp.cert)}`)).status, 503);
    } finally {
      await redis.restart();
    }
    await waitFor(async () => (await gw.admin('POST', '/tyk/certs?org_id=org1', b.cert)).status === 200,
      { timeoutMs: 15000, intervalMs: 200, what: 'recovery after Redis restart' });
  }));
});
