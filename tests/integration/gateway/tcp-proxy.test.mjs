// SPDX-License-Identifier: Apache-2.0
// TCP / TLS proxy APIs (protocol "tcp" | "tls", listen_port, target tcp:// or tls://), as Tyk's
// proxy_muxer serves them: a listener per API port (subject to ports_whitelist unless
// disable_ports_whitelist), TLS termination with the gateway's certificates, raw bytes both
// ways. Also: the API's IP block list closes the connection at accept, an unreachable upstream
// closes the client, a client's half-close reaches the upstream and the reply still comes back,
// and listeners follow reloads.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { startGateway, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { startRedis } from '../lib/redis.mjs';
import { freePort, portOpen } from '../lib/ports.mjs';
import { makeCert } from '../lib/certs.mjs';
import { waitFor } from '../lib/procs.mjs';

function tcpApi(api_id, protocol, listen_port, target_url, extra = {}) {
  return {
    name: api_id, api_id, org_id: 'default', use_keyless: true, active: true, protocol, listen_port,
    version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: '', target_url },
    ...extra,
  };
}

/* Echo server; a connection whose input ends gets "bye:<bytes seen>" and is then closed. */
async function startEcho({ secure } = {}) {
  const port = await freePort();
  const state = { conns: 0 };
  const onConn = (sock) => {
    state.conns++;
    let seen = 0;
    sock.allowHalfOpen = true;
    sock.on('data', (d) => { seen += d.length; sock.write(d); });
    sock.on('end', () => { sock.end(`bye:${seen}`); });
    sock.on('error', () => {});
  };
  const server = secure
    ? tls.createServer({ key: secure.key, cert: secure.cert, allowHalfOpen: true }, onConn)
    : net.createServer({ allowHalfOpen: true }, onConn);
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { port, state, close: () => new Promise((r) => { server.close(r); }) };
}

/* Sends @data, then (optionally) ends the write side; resolves with everything read until the
 * connection closes, plus how it ended. */
function exchange(sock, data, { end = false, waitFor: want } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    let resolved = false;
    const done = (how) => { if (!resolved) { resolved = true; resolve({ data: Buffer.concat(chunks), how }); } };
    sock.on('data', (d) => {
      chunks.push(d);
      if (want && Buffer.concat(chunks).length >= want) done('enough');
    });
    sock.on('end', () => sock.end()); // the peer finished: finish ours, 'close' follows
    sock.on('close', () => done('closed'));
    sock.on('error', () => done('error'));
    if (data) sock.write(data);
    if (end) sock.end();
  });
}

const plain = (port) => new Promise((resolve, reject) => {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s));
  s.once('error', reject);
});

describe('TCP and TLS proxy APIs', () => {
  let redis, echo, tlsEcho, gw, certDir, cert, ports;
  const T = withLogs(() => gw);

  before(async () => {
    certDir = makeTempDir('turnpike-tcp-certs-');
    cert = makeCert(certDir, 'gw', 'localhost');
    redis = await startRedis();
    echo = await startEcho();
    tlsEcho = await startEcho({ secure: cert });
    ports = {
      tcp: await freePort(), tls: await freePort(), deny: await freePort(), down: await freePort(),
      toTls: await freePort(), allowOther: await freePort(), blocked: await freePort(), later: await freePort(),
    };
    const dead = await freePort(); // nothing listens there
    const whitelistPorts = Object.entries(ports).filter(([k]) => k !== 'blocked').map(([, p]) => p);
    gw = await startGateway({
      redis,
      conf: {
        http_server_options: {
          use_ssl: true,
          certificates: [{ domain_name: 'localhost', cert_file: cert.certFile, key_file: cert.keyFile }],
        },
        proxy_ssl_insecure_skip_verify: true,
        ports_whitelist: { tcp: { ports: whitelistPorts }, tls: { ranges: [{ from: ports.tls, to: ports.tls }] } },
      },
      apis: [
        tcpApi('tcp1', 'tcp', ports.tcp, `tcp://127.0.0.1:${echo.port}`),
        tcpApi('tls1', 'tls', ports.tls, `tcp://127.0.0.1:${echo.port}`),
        tcpApi('deny', 'tcp', ports.deny, `tcp://127.0.0.1:${echo.port}`,
          { enable_ip_blacklisting: true, blacklisted_ips: ['127.0.0.0/8'] }),
        tcpApi('allowother', 'tcp', ports.allowOther, `tcp://127.0.0.1:${echo.port}`,
          { enable_ip_whitelisting: true, allowed_ips: ['10.0.0.0/8'] }),
        tcpApi('down', 'tcp', ports.down, `tcp://127.0.0.1:${dead}`),
        tcpApi('totls', 'tcp', ports.toTls, `tls://localhost:${tlsEcho.port}`),
        tcpApi('blocked', 'tcp', ports.blocked, `tcp://127.0.0.1:${echo.port}`),
      ],
    });
  });
  after(async () => {
    await gw?.stop(); await echo?.close(); await tlsEcho?.close(); await redis?.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('raw TCP is echoed through a tcp API on its own port', T(async () => {
    const s = await plain(ports.tcp);
    const r = await exchange(s, 'hello tcp', { waitFor: 9 });
    assert.equal(r.data.toString(), 'hello tcp');
    s.destroy();
  }));

  it('a megabyte goes through intact both ways', T(async () => {
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const s = await plain(ports.tcp);
    const r = await exchange(s, big, { waitFor: big.length });
    assert.ok(Buffer.compare(r.data.subarray(0, big.length), big) === 0);
    s.destroy();
  }));

  it('half-close passes through: the upstream sees the end, its reply still arrives', T(async () => {
    const s = await plain(ports.tcp);
    const r = await exchange(s, 'abc', { end: true });
    // "bye:3" is written by the upstream only after it saw the end of our input.
    assert.equal(r.how, 'closed');
    assert.equal(r.data.toString(), 'abcbye:3');
  }));

  it('a tls API terminates TLS with the gateway certificate', T(async () => {
    const s = await new Promise((resolve, reject) => {
      const c = tls.connect({ port: ports.tls, host: '127.0.0.1', servername: 'localhost', ca: cert.cert }, () => resolve(c));
      c.once('error', reject);
    });
    assert.equal(s.authorized, true, String(s.authorizationError));
    const r = await exchange(s, 'over tls', { waitFor: 8 });
    assert.equal(r.data.toString(), 'over tls');
    s.destroy();
  }));

  it('a tls:// target gets a TLS connection from the gateway', T(async () => {
    const s = await plain(ports.toTls);
    const r = await exchange(s, 'to tls upstream', { waitFor: 15 });
    assert.equal(r.data.toString(), 'to tls upstream');
    s.destroy();
  }));

  it('blacklisted_ips closes the connection at accept; allowed_ips without us too', T(async () => {
    const conns = echo.state.conns;
    for (const port of [ports.deny, ports.allowOther]) {
      const s = await plain(port);
      const r = await exchange(s, 'x');
      assert.equal(r.data.length, 0);
      assert.ok(r.how === 'closed' || r.how === 'error');
    }
    assert.equal(echo.state.conns, conns, 'no upstream connection was made');
  }));

  it('an unreachable upstream closes the client connection', T(async () => {
    const s = await plain(ports.down);
    const r = await exchange(s, 'anyone?');
    assert.equal(r.data.length, 0);
    assert.ok(r.how === 'closed' || r.how === 'error');
    // The log line may land a moment after the close is seen.
    await waitFor(() => /api=down tcp upstream 127\.0\.0\.1:\d+: connection failed/.test(gw.logs()), { timeoutMs: 5000, what: 'the connection-failed log line' });
  }));

  it('a port not in ports_whitelist is not opened', T(async () => {
    assert.equal(await portOpen(ports.blocked), false);
    assert.match(gw.logs(), /API blocked \(tcp:\d+\): trying to open disabled port/);
  }));

  it('listeners follow reloads: an added API opens its port, a removed one closes it', T(async () => {
    assert.equal(await portOpen(ports.later), false);
    gw.writeApi(tcpApi('later', 'tcp', ports.later, `tcp://127.0.0.1:${echo.port}`));
    gw.removeApi('tcp1');
    await gw.reload();
    await waitFor(() => portOpen(ports.later), { what: 'new port open' });
    const s = await plain(ports.later);
    const r = await exchange(s, 'late', { waitFor: 4 });
    assert.equal(r.data.toString(), 'late');
    s.destroy();
    await waitFor(async () => !(await portOpen(ports.tcp)), { what: 'removed API port closed' });
  }));

  it('a graceful shutdown closes proxied connections and exits cleanly', T(async () => {
    const port = await freePort();
    const g = await startGateway({
      redis, conf: { disable_ports_whitelist: true },
      apis: [tcpApi('shut', 'tcp', port, `tcp://localhost:${echo.port}`)], // a name to resolve
    });
    try {
      const s = await plain(port);
      const r = exchange(s, 'still here', { waitFor: 1 << 30 });
      await waitFor(() => s.bytesRead >= 10, { what: 'echo through the resolved target' });
      const st = await g.stop('SIGTERM', 10000);
      assert.equal((await r).how === 'closed' || (await r).how === 'error', true);
      assert.equal(g.proc.exitCode, 0, `exit ${JSON.stringify(st)} ${g.proc.signalCode}\n${g.logTail()}`);
    } finally {
      if (!g.exited()) await g.stop('SIGKILL', 2000);
    }
  }));
});
