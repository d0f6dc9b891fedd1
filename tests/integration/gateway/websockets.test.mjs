// SPDX-License-Identifier: Apache-2.0
// WebSockets through the proxy (http_server_options.enable_websockets): the upgrade request goes
// through the middleware pipeline (auth before the upgrade), the upstream's 101 reaches the
// client, then frames flow both ways (text, binary, ping/pong, close from either side) with
// backpressure (a paused client does not make the gateway buffer the upstream's output).
// With the option off, the upgrade headers are hop-by-hop and dropped, as in Tyk: the upstream
// sees a plain GET and its answer (here the ws server's 426) reaches the client.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { WebSocket, WebSocketServer } from 'ws';
import { startGateway, keylessApi, withLogs, memKiB, binaryHasAsan, makeTempDir } from '../lib/gateway.mjs';
import { makeCert } from '../lib/certs.mjs';
import { startRedis } from '../lib/redis.mjs';
import { freePort } from '../lib/ports.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';

/* An echo server; "flood:<bytes>" makes it send that many bytes in 1 MiB binary messages,
 * waiting while its own send buffer is above 4 MiB (so what piles up is in the gateway). */
async function startEcho({ tls } = {}) {
  const port = await freePort();
  const state = { conns: new Set(), closed: 0, lastHeaders: null, flooded: 0, plainHeaders: null };
  // A plain GET (no upgrade) is recorded and answered 426, as the ws server's own would be.
  const server = (tls ? https.createServer.bind(null, tls) : http.createServer)((req, res) => {
    state.plainHeaders = req.headers;
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('Upgrade Required');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    state.conns.add(ws);
    state.lastHeaders = req.headers;
    ws.on('close', () => { state.conns.delete(ws); state.closed++; });
    ws.on('message', async (data, isBinary) => {
      const s = isBinary ? '' : data.toString();
      if (s.startsWith('flood:')) {
        const total = Number(s.slice(6));
        const chunk = Buffer.alloc(1 << 20, 0x61);
        state.flooded = 0;
        while (state.flooded < total && ws.readyState === WebSocket.OPEN) {
          if (ws.bufferedAmount > 4 << 20) { await sleep(5); continue; }
          ws.send(chunk, { binary: true });
          state.flooded += chunk.length;
        }
        return;
      }
      if (s === 'close-me') { ws.close(4001, 'bye'); return; }
      ws.send(data, { binary: isBinary });
    });
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  const close = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
    await new Promise((r) => server.close(r));
  };
  return { port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, wssUrl: `wss://localhost:${port}`, state, close };
}

function connect(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers })));
    });
    ws.once('error', reject);
  });
}

const nextMessage = (ws) => new Promise((resolve, reject) => {
  ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
  ws.once('close', () => reject(new Error('closed')));
});

describe('WebSockets', () => {
  let echo, secureEcho, certDir, redis, gw, off, key;
  const T = withLogs(() => gw);

  before(async () => {
    echo = await startEcho();
    certDir = makeTempDir('turnpike-ws-certs-');
    const cert = makeCert(certDir, 'up', 'localhost');
    secureEcho = await startEcho({ tls: { key: cert.key, cert: cert.cert } });
    redis = await startRedis();
    const apis = [
      keylessApi({ api_id: 'ws', listen_path: '/ws/', target_url: echo.url }),
      keylessApi({ api_id: 'wsscheme', listen_path: '/wsscheme/', target_url: echo.wsUrl }),
      keylessApi({ api_id: 'wss', listen_path: '/wss/', target_url: secureEcho.wssUrl,
        proxy: { transport: { ssl_insecure_skip_verify: true } } }),
      {
        name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
        auth: { auth_header_name: 'Authorization' },
        version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
        proxy: { listen_path: '/keyed/', target_url: echo.url, strip_listen_path: true },
      },
    ];
    gw = await startGateway({ redis, conf: { http_server_options: { enable_websockets: true } }, apis });
    off = await startGateway({ redis, apis: [apis[0]] });
    const r = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', allowance: 100, rate: 100, per: 1,
      access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } },
    });
    assert.equal(r.status, 200, r.text);
    key = JSON.parse(r.text).key;
  });
  after(async () => {
    await gw?.stop(); await off?.stop(); await echo?.close(); await secureEcho?.close(); await redis?.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('text and binary (1 MiB) messages are echoed through a keyless API', T(async () => {
    const ws = await connect(`ws://127.0.0.1:${gw.port}/ws/chat`);
    assert.equal(echo.state.lastHeaders.upgrade, 'websocket');
    assert.match(echo.state.lastHeaders['x-forwarded-for'], /127\.0\.0\.1/);
    ws.send('hello');
    let m = await nextMessage(ws);
    assert.equal(m.isBinary, false);
    assert.equal(m.data.toString(), 'hello');
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    ws.send(big);
    m = await nextMessage(ws);
    assert.equal(m.isBinary, true);
    assert.ok(Buffer.compare(m.data, big) === 0, 'binary payload intact');
    ws.close();
  }));

  it('a ws:// target URL works', T(async () => {
    const ws = await connect(`ws://127.0.0.1:${gw.port}/wsscheme/x`);
    ws.send('via ws scheme');
    assert.equal((await nextMessage(ws)).data.toString(), 'via ws scheme');
    ws.close();
  }));

  it('a wss:// target gets the upgrade over TLS', T(async () => {
    const ws = await connect(`ws://127.0.0.1:${gw.port}/wss/`);
    ws.send('via wss');
    assert.equal((await nextMessage(ws)).data.toString(), 'via wss');
    assert.equal(secureEcho.state.lastHeaders.host, `localhost:${secureEcho.port}`);
    ws.close();
  }));

  it('ping gets a pong across the tunnel', T(async () => {
    const ws = await connect(`ws://127.0.0.1:${gw.port}/ws/`);
    const pong = new Promise((r) => ws.once('pong', r));
    ws.ping(Buffer.from('p1'));
    assert.equal((await pong).toString(), 'p1');
    ws.close();
  }));

  it('closing the client closes the upstream connection', T(async () => {
    const before = echo.state.closed;
    const ws = await connect(`ws://127.0.0.1:${gw.port}/ws/`);
    ws.send('x');
    await nextMessage(ws);
    ws.terminate(); // no close frame: only the TCP connection ends
    await waitFor(() => echo.state.closed > before, { what: 'upstream sees the close' });
  }));

  it('the upstream closing closes the client (close code passes through)', T(async () => {
    const ws = await connect(`ws://127.0.0.1:${gw.port}/ws/`);
    const closed = new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.send('close-me');
    const c = await closed;
    assert.equal(c.code, 4001);
    assert.equal(c.reason, 'bye');
  }));

  it('a keyed API answers 401 before any upgrade without a key, and tunnels with one', T(async () => {
    await assert.rejects(connect(`ws://127.0.0.1:${gw.port}/keyed/`), (e) => {
      assert.equal(e.status, 401);
      assert.match(e.body, /Authorization field missing/);
      return true;
    });
    await assert.rejects(connect(`ws://127.0.0.1:${gw.port}/keyed/`, { headers: { Authorization: 'nope' } }),
      (e) => e.status === 403);
    const ws = await connect(`ws://127.0.0.1:${gw.port}/keyed/`, { headers: { Authorization: key } });
    ws.send('authorised');
    assert.equal((await nextMessage(ws)).data.toString(), 'authorised');
    ws.close();
  }));

  it('with enable_websockets off the upgrade is not forwarded: the upstream answer (426) comes back', T(async () => {
    echo.state.plainHeaders = null;
    await assert.rejects(connect(`ws://127.0.0.1:${off.port}/ws/`), (e) => {
      assert.equal(e.status, 426);
      return true;
    });
    const h = echo.state.plainHeaders;
    assert.ok(h, 'the upstream got a plain request');
    assert.equal(h.upgrade, undefined);
    assert.ok(!/upgrade/i.test(h.connection || ''), `connection: ${h.connection}`);
    assert.ok(h['sec-websocket-key'], 'end-to-end headers still go through');
  }));

  it('a graceful shutdown closes open tunnels and exits cleanly', T(async () => {
    const g = await startGateway({ redis, conf: { http_server_options: { enable_websockets: true } },
      apis: [keylessApi({ api_id: 'ws', listen_path: '/ws/', target_url: echo.url })] });
    try {
      const ws = await connect(`ws://127.0.0.1:${g.port}/ws/`);
      ws.send('x');
      await nextMessage(ws);
      const closed = new Promise((r) => ws.once('close', r));
      await g.stop('SIGTERM', 10000);
      await closed;
      assert.equal(g.proc.exitCode, 0, `${g.proc.signalCode}\n${g.logTail()}`);
    } finally {
      if (!g.exited()) await g.stop('SIGKILL', 2000);
    }
  }));

  it('a paused client does not make the gateway buffer the upstream flood (200 MiB)', T(async () => {
    const TOTAL = 200 << 20;
    const ws = await connect(`ws://127.0.0.1:${gw.port}/ws/`);
    let got = 0;
    ws.on('message', (d) => { got += d.length; });
    const base = memKiB(gw.pid).rss;
    ws.send(`flood:${TOTAL}`);
    await waitFor(() => echo.state.flooded > 0, { what: 'flood started' });
    ws.pause();
    // Let everything that can move move: kernel buffers, the gateway's bounded queues.
    let last = -1;
    await waitFor(async () => {
      const f = echo.state.flooded;
      const stalled = f === last;
      last = f;
      await sleep(300);
      return stalled;
    }, { timeoutMs: 20000, what: 'the upstream stalls against backpressure' });
    assert.ok(echo.state.flooded < 64 << 20, `upstream got ${echo.state.flooded} bytes out while the client was paused`);
    const grown = memKiB(gw.pid).rss - base;
    // A few MiB of queues at most; ASan's allocator keeps more around.
    assert.ok(grown < (binaryHasAsan() ? 48 : 16) * 1024, `gateway RSS grew by ${grown} KiB`);
    ws.resume();
    await waitFor(() => got >= TOTAL, { timeoutMs: 40000, what: `all ${TOTAL} bytes (got ${got})` });
    assert.equal(got, TOTAL);
    ws.close();
  }));
});

describe('WebSocket tunnels: turnpike_tunnel_idle_timeout', () => {
  let echo, redis, gw;
  const T = withLogs(() => gw);
  before(async () => {
    echo = await startEcho();
    redis = await startRedis();
    gw = await startGateway({
      redis,
      conf: { http_server_options: { enable_websockets: true }, turnpike_tunnel_idle_timeout: 1 },
      apis: [keylessApi({ api_id: 'ws', listen_path: '/ws/', target_url: echo.url })],
    });
  });
  after(async () => { await gw?.stop(); await echo?.close(); await redis?.stop(); });

  it('a tunnel carrying traffic stays open; a silent one is closed on both sides', T(async () => {
    const ws = await connect(`ws://127.0.0.1:${gw.port}/ws/idle`);
    const closed = new Promise((resolve) => ws.once('close', () => resolve(Date.now())));
    // 2.4 s of traffic, a message every 300 ms: longer than the timeout, never idle that long.
    let silentSince = 0;
    for (let i = 0; i < 8; i++) {
      if (i) await sleep(300);
      const m = nextMessage(ws);
      ws.send(`tick ${i}`);
      assert.equal((await m).data.toString(), `tick ${i}`);
      silentSince = Date.now();
    }
    assert.equal(ws.readyState, WebSocket.OPEN);
    const at = await Promise.race([closed, sleep(6000).then(() => null)]);
    assert.ok(at, 'the silent tunnel was closed');
    assert.ok(at - silentSince >= 900, `closed after ${at - silentSince} ms of silence`);
    await waitFor(() => echo.state.closed >= 1, { timeoutMs: 5000, what: 'the upstream side closed too' });
  }));
});
