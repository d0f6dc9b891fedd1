// SPDX-License-Identifier: Apache-2.0
// Streaming: a server-sent-events upstream (text/event-stream, chunked, an event every 300 ms,
// never ending) reaches the client event by event while the upstream still holds the connection,
// through a keyless API, an API with detailed analytics and response header transforms, and an
// API whose cache (a whole-body response filter) is on for another endpoint only. When the
// client leaves, the gateway lets go of the upstream connection.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { waitFor } from '../lib/procs.mjs';

const PERIOD_MS = 300;

/* Opens a streamed GET; collects SSE events ("...\n\n") with their arrival time. */
function openStream(url, headers = {}) {
  const started = Date.now();
  const events = [];
  let buf = '';
  let res;
  const req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers }, agent: false });
  const headP = new Promise((resolve, reject) => {
    req.on('response', (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          events.push({ text: buf.slice(0, i), at: Date.now() - started });
          buf = buf.slice(i + 2);
        }
      });
      r.on('error', () => {});
      resolve(r);
    });
    req.on('error', reject);
  });
  return {
    events,
    head: () => headP,
    async waitEvents(n, ms = 3000) {
      await waitFor(() => events.length >= n, { timeoutMs: ms, intervalMs: 10, what: `${n} events from ${url}` });
      return events;
    },
    close() { req.destroy(); res?.destroy(); },
  };
}

describe('streaming (server-sent events)', () => {
  let gw, up;
  const open = new Set(); // upstream SSE responses still held open
  let closedUpstream = 0;
  const T = withLogs(() => gw);
  before(async () => {
    const handler = (req, res) => {
      if (!req.url.includes('events')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ url: req.url }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      let n = 0;
      const send = () => res.write(`id: ${n}\ndata: event ${n++}\n\n`);
      send();
      const t = setInterval(send, PERIOD_MS);
      open.add(res);
      res.on('close', () => { clearInterval(t); open.delete(res); closedUpstream++; });
    };
    handler.streaming = true;
    up = await startUpstream(handler);
    const v = (extra) => ({ not_versioned: true, versions: { Default: { name: 'Default', use_extended_paths: true, ...extra } } });
    gw = await startGateway({
      conf: { enable_analytics: true },
      apis: [
        keylessApi({ api_id: 'plain', listen_path: '/plain/', target_url: up.url }),
        keylessApi({
          api_id: 'busy', listen_path: '/busy/', target_url: up.url, enable_detailed_recording: true,
          version_data: v({ global_response_headers: { 'X-Stream-Tag': 'sse' },
            extended_paths: { transform_response_headers: [{ path: '/events', method: 'GET', add_headers: { 'X-Endpoint': 'events' }, delete_headers: [] }] } }),
        }),
        keylessApi({
          api_id: 'cache', listen_path: '/cache/', target_url: up.url,
          cache_options: { enable_cache: true, cache_timeout: 60 },
          version_data: v({ extended_paths: { cache: ['/cached'] } }),
        }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  async function expectLiveStream(path, check = () => {}) {
    const before = closedUpstream;
    const s = openStream(gw.url + path);
    const res = await s.head();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    check(res);
    const ev = await s.waitEvents(1, 1500);
    assert.match(ev[0].text, /^id: 0\ndata: event 0$/);
    assert.ok(ev[0].at < PERIOD_MS + 1000, `first event after ${ev[0].at} ms`);
    assert.equal(open.size, 1, 'the upstream still holds the stream open');
    await s.waitEvents(3, 3000);
    // each event arrived on its own, about one period after the previous one
    const gaps = [ev[1].at - ev[0].at, ev[2].at - ev[1].at];
    for (const g of gaps) assert.ok(g >= PERIOD_MS / 2, `events arrived together (gaps ${gaps})`);
    assert.equal(ev[2].text, 'id: 2\ndata: event 2');
    s.close();
    await waitFor(() => closedUpstream > before && open.size === 0,
      { timeoutMs: 3000, intervalMs: 20, what: 'the upstream connection to close after the client left' });
  }

  it('keyless API: events arrive one by one while the upstream keeps the response open', T(async () => {
    await expectLiveStream('/plain/events');
  }));

  it('detailed analytics and response header transforms do not hold the stream', T(async () => {
    await expectLiveStream('/busy/events', (res) => {
      assert.equal(res.headers['x-stream-tag'], 'sse');
      assert.equal(res.headers['x-endpoint'], 'events');
    });
  }));

  it('a cache on another endpoint does not buffer this one', T(async () => {
    await expectLiveStream('/cache/events');
    const a = await gw.get('/cache/cached');
    const b = await gw.get('/cache/cached');
    assert.equal(a.status, 200);
    assert.equal(b.headers['x-tyk-cached-response'], '1', 'the cached endpoint is still cached');
  }));

  it('the gateway stays healthy after clients dropped streams', T(async () => {
    const r = await gw.get('/plain/other');
    assert.equal(r.status, 200);
    assert.equal(open.size, 0);
  }));
});
