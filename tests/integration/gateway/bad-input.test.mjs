// SPDX-License-Identifier: Apache-2.0
// Hostile or broken input: request syntax, header limits, slow clients,
// broken configuration, and the command line.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, keylessApi, withLogs, runGateway, makeTempDir } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { rawRequest, rawStatus, request } from '../lib/http.mjs';

describe('bad requests', () => {
  let gw, up;
  const T = withLogs(() => gw);

  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      conf: { turnpike_header_timeout: 1, http_server_options: { read_timeout: 2 } },
      apis: [keylessApi({ api_id: 'b', listen_path: '/b/', target_url: up.url })],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  async function stillAlive() {
    assert.ok(!gw.exited(), 'gateway process is still running');
    const r = await gw.get('/b/alive');
    assert.equal(r.status, 200);
  }

  it('malformed request line → 400 and the connection is closed', T(async () => {
    for (const junk of ['GARBAGE\r\n\r\n', 'GET /b/x HTTP/1.1 extra\r\nHost: a\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n']) {
      const r = await rawRequest(gw.port, junk, { timeoutMs: 5000 });
      assert.ok(r.closed, `connection closed for ${JSON.stringify(junk)}`);
      assert.equal(rawStatus(r.text), 400, `for ${JSON.stringify(junk)}: ${r.text.slice(0, 200)}`);
    }
    await stillAlive();
  }));

  it('header line without a colon → 400', T(async () => {
    const r = await rawRequest(gw.port, 'GET /b/x HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n', { timeoutMs: 5000 });
    assert.equal(rawStatus(r.text), 400, r.text.slice(0, 200));
    assert.ok(r.closed);
    await stillAlive();
  }));

  it('headers larger than turnpike_max_header_size (32 KiB) → 431; smaller ones pass', T(async () => {
    const big = 'x'.repeat(40 * 1024);
    const r = await rawRequest(gw.port, `GET /b/x HTTP/1.1\r\nHost: a\r\nX-Big: ${big}\r\n\r\n`, { timeoutMs: 5000 });
    assert.equal(rawStatus(r.text), 431, r.text.slice(0, 200));
    const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'v'.repeat(100)}\r\n`).join('');
    const r2 = await rawRequest(gw.port, `GET /b/x HTTP/1.1\r\nHost: a\r\n${many}\r\n`, { timeoutMs: 5000 });
    assert.equal(rawStatus(r2.text), 431, r2.text.slice(0, 200));
    const ok = await gw.get('/b/x', { headers: { 'X-Medium': 'y'.repeat(16 * 1024) } });
    assert.equal(ok.status, 200);
    await stillAlive();
  }));

  it('slowloris: headers dribbled past turnpike_header_timeout → connection closed', { timeout: 15000 }, T(async () => {
    const pieces = [{ data: 'GET /b/x HTTP/1.1\r\nHost: a\r\n' }];
    for (let i = 0; i < 20; i++) pieces.push({ data: `X-Slow-${i}: v\r\n`, delayMs: 300 });
    const r = await rawRequest(gw.port, pieces, { timeoutMs: 8000 });
    assert.ok(r.closed, 'server closed the connection');
    assert.ok(r.elapsedMs < 3500, `closed after ${r.elapsedMs} ms, header timeout is 1 s`);
    const st = rawStatus(r.text);
    assert.ok(st === 0 || st === 408, `status ${st}`);
    await stillAlive();
  }));

  it('body never completed → closed after read_timeout', { timeout: 15000 }, T(async () => {
    up.reset();
    const r = await rawRequest(gw.port,
      'POST /b/x HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nonly-some-bytes',
      { timeoutMs: 8000 });
    assert.ok(r.closed, 'server closed the connection');
    assert.ok(r.elapsedMs < 5000, `closed after ${r.elapsedMs} ms, read_timeout is 2 s`);
    assert.notEqual(rawStatus(r.text), 200, r.text.slice(0, 200));
    await stillAlive();
  }));

  it('many bad connections in a row do not hurt', T(async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) =>
      rawRequest(gw.port, i % 2 ? '\x00\x01\x02\r\n\r\n' : 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n', { timeoutMs: 5000 })));
    await stillAlive();
  }));
});

describe('configuration errors and CLI', () => {
  let dir;
  before(() => { dir = makeTempDir('turnpike-cli-'); });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('invalid tyk.conf JSON → non-zero exit, stderr names the file and the reason', async () => {
    const conf = path.join(dir, 'broken.conf');
    fs.writeFileSync(conf, '{\n  "listen_port": 8080,\n  "secret": \n}\n');
    const r = await runGateway([`--conf=${conf}`], { timeoutMs: 10000 });
    assert.ok(!r.timedOut, 'exited by itself');
    assert.notEqual(r.code, 0);
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
    assert.ok(r.stderr.includes(conf), `stderr names the file:\n${r.stderr}`);
    assert.match(r.stderr, /json|pars|syntax|unexpected|invalid|expected/i);
  });

  it('--check reports every config error and every broken API definition, exits non-zero', async () => {
    const apps = path.join(dir, 'apps-bad');
    fs.mkdirSync(apps, { recursive: true });
    fs.writeFileSync(path.join(apps, 'bad-json.json'), '{"api_id": "bad-json", ');
    fs.writeFileSync(path.join(apps, 'bad-target.json'), JSON.stringify(
      keylessApi({ api_id: 'bad-target', listen_path: '/bt/', target_url: 'ht!tp://::not a url' })));
    fs.writeFileSync(path.join(apps, 'good.json'), JSON.stringify(
      keylessApi({ api_id: 'good', listen_path: '/good/', target_url: 'http://127.0.0.1:1' })));
    const conf = path.join(dir, 'check-bad.conf');
    fs.writeFileSync(conf, JSON.stringify({
      listen_port: 'eighty',
      graceful_shutdown_timeout_duration: 'soon',
      secret: 'x', app_path: apps, template_path: path.join(dir, 'tpl'),
      storage: { type: 'redis', host: '127.0.0.1', port: 1 },
    }, null, 2));
    const r = await runGateway([`--conf=${conf}`, '--check'], { timeoutMs: 15000 });
    const out = r.stdout + r.stderr;
    assert.ok(!r.timedOut, 'exited by itself');
    assert.notEqual(r.code, 0, out);
    assert.equal(r.signal, null);
    for (const needle of ['listen_port', 'graceful_shutdown_timeout_duration', 'bad-json.json', 'bad-target']) {
      assert.ok(out.includes(needle), `--check output mentions ${needle}:\n${out}`);
    }
  });

  it('--check exits 0 for a good config', async () => {
    const apps = path.join(dir, 'apps-good');
    fs.mkdirSync(apps, { recursive: true });
    fs.writeFileSync(path.join(apps, 'good.json'), JSON.stringify(
      keylessApi({ api_id: 'good', listen_path: '/good/', target_url: 'http://127.0.0.1:1' })));
    const conf = path.join(dir, 'check-good.conf');
    fs.writeFileSync(conf, JSON.stringify({ listen_port: 8080, secret: 'x', app_path: apps,
      storage: { type: 'redis', host: '127.0.0.1', port: 1 } }));
    const r = await runGateway([`--conf=${conf}`, '--check'], { timeoutMs: 15000 });
    assert.ok(!r.timedOut);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('--version prints a version and exits 0', async () => {
    const r = await runGateway(['--version'], { timeoutMs: 5000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /\d+\.\d+\.\d+/);
  });

  it('--help prints usage and exits 0', async () => {
    const r = await runGateway(['--help'], { timeoutMs: 5000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /--conf/);
    assert.match(r.stdout + r.stderr, /usage/i);
  });
});
