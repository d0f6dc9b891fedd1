// SPDX-License-Identifier: Apache-2.0
// Paced low-rate latency probe: N keep-alive connections, each sends one request,
// waits for the full response, then sleeps a fixed think time. No queueing, so the
// percentiles are per-request service latency (plus this client's own overhead,
// which is the same for every system under test).
//
// usage: node paced.js URL CONNS THINK_MS DURATION_S
// prints one line: "paced n=<count> errors=<e> p50_us=<x> p99_us=<y> max_us=<z>"
'use strict';
const http = require('http');

const [url, connsArg, thinkArg, durArg] = process.argv.slice(2);
if (!url) {
  console.error('usage: node paced.js URL CONNS THINK_MS DURATION_S');
  process.exit(2);
}
const conns = parseInt(connsArg || '4', 10);
const thinkMs = parseFloat(thinkArg || '10');
const durMs = parseFloat(durArg || '3') * 1000;
const u = new URL(url);
if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') {
  console.error('paced.js: refusing non-loopback target ' + u.hostname);
  process.exit(2);
}

const samples = [];
let errors = 0;
const deadline = Date.now() + durMs;

function worker() {
  // One agent per worker with one socket: each worker is exactly one keep-alive connection.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve) => {
    const once = () => {
      if (Date.now() >= deadline) {
        agent.destroy();
        resolve();
        return;
      }
      const t0 = process.hrtime.bigint();
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search,
        method: 'GET', agent,
        headers: process.env.BENCH_AUTH_HEADER ? { Authorization: process.env.BENCH_AUTH_HEADER } : {} }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          const t1 = process.hrtime.bigint();
          if (res.statusCode >= 200 && res.statusCode < 400) {
            samples.push(Number(t1 - t0) / 1000);
          } else {
            errors++;
          }
          setTimeout(once, thinkMs);
        });
      });
      req.on('error', () => { errors++; setTimeout(once, thinkMs); });
      req.end();
    };
    once();
  });
}

function pct(sorted, p) {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1));
  return sorted[i];
}

(async () => {
  const ws = [];
  for (let i = 0; i < conns; i++) ws.push(worker());
  await Promise.all(ws);
  // Drop the first request of every connection (TCP connect + cold paths).
  const s = samples.slice(conns).sort((a, b) => a - b);
  console.log(`paced n=${s.length} errors=${errors} p50_us=${pct(s, 50).toFixed(1)} ` +
    `p99_us=${pct(s, 99).toFixed(1)} max_us=${(s.length ? s[s.length - 1] : 0).toFixed(1)}`);
})();
