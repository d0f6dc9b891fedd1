// SPDX-License-Identifier: Apache-2.0
// Permanent rejections: the influx, elasticsearch and splunk sinks point at a small HTTP server
// that refuses any body holding a marker (400; for _bulk, a per-item 400 as Elasticsearch does).
// The good records of each batch still arrive, the bad ones land in
// <journal_dir>/deadletter-<SINK>.jsonl in Tyk's JSON form, and every sink's lag reaches 0.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startRedis } from '../lib/redis.mjs';
import { waitFor } from '../lib/procs.mjs';
import { startPump, makeRecord, pushRecords, tempDir } from '../lib/pump.mjs';

const MARK = 'REJECT-ME';

/* Answers like influxd / Elasticsearch / Splunk HEC would, refusing marked data. Keeps every
 * accepted body per path prefix. */
async function startRefuser() {
  const accepted = { influx: [], es: [], splunk: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const send = (status, obj) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(obj === undefined ? '' : JSON.stringify(obj));
      };
      if (req.url.startsWith('/query')) return send(200, { results: [{ statement_id: 0 }] });
      if (req.url.startsWith('/write')) {
        if (body.includes(MARK)) return send(400, { error: 'unable to parse: bad point' });
        accepted.influx.push(body);
        return send(204);
      }
      if (req.url.startsWith('/_bulk')) {
        const lines = body.split('\n').filter((l) => l);
        const items = [];
        for (let i = 1; i < lines.length; i += 2) {
          if (lines[i].includes(MARK)) {
            items.push({ index: { status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad doc' } } });
          } else {
            accepted.es.push(JSON.parse(lines[i]));
            items.push({ index: { status: 201, result: 'created' } });
          }
        }
        return send(200, { took: 1, errors: items.some((x) => x.index.status >= 300), items });
      }
      if (req.url.startsWith('/services/collector')) {
        if (body.includes(MARK)) return send(400, { text: 'Invalid data format', code: 6 });
        accepted.splunk.push(body);
        return send(200, { text: 'Success', code: 0 });
      }
      send(404, { error: 'not found' });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { accepted, url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

describe('pump: records a server rejects for good go to the dead-letter file', () => {
  let redis, pump, srv, dir;
  before(async () => {
    redis = await startRedis();
    srv = await startRefuser();
    dir = tempDir();
    pump = await startPump({
      redis,
      dir,
      conf: { purge_delay: 1 },
      pumps: {
        influx: { type: 'influx', meta: { address: srv.url, database_name: 'tyk' } },
        elasticsearch: { type: 'elasticsearch', meta: { elasticsearch_url: srv.url, version: '7', index_name: 'tyk_analytics' } },
        splunk: { type: 'splunk', meta: { collector_url: `${srv.url}/services/collector/event`, collector_token: 't', enable_batch: true } },
      },
    }).then((p) => p.ready());
  });
  after(async () => { await pump?.stop(); await srv?.close(); await redis?.stop(); });

  it('stores the good records, dead-letters the bad ones and moves on', async () => {
    const bad = new Set([4, 17, 18, 29]);
    const recs = Array.from({ length: 30 }, (_, i) =>
      makeRecord(i, bad.has(i) ? { Path: `/${MARK}/${i}`, RawPath: `/${MARK}/${i}` } : {}));
    await pushRecords(redis, 'analytics-tyk-system-analytics', recs);

    const sinks = ['INFLUX', 'ELASTICSEARCH', 'SPLUNK'];
    const st = await waitFor(async () => {
      const s = await pump.stats();
      return sinks.every((n) => s.sinks[n].lag === 0 && s.sinks[n].dead_lettered === 4) && s;
    }, { timeoutMs: 30000, what: 'every sink caught up with 4 dead letters' });
    for (const n of sinks) {
      assert.equal(st.sinks[n].written, 26, `${n} written`);
      assert.equal(st.sinks[n].dead_lettered, 4, `${n} dead_lettered`);
      assert.equal(st.sinks[n].cursor, st.journal.head_seq, `${n} cursor`);
    }

    const goodPaths = recs.filter((_, i) => !bad.has(i)).map((r) => r.Path).sort();
    // influx: each accepted body holds lines with path="/r/N"
    const influxPaths = new Set();
    for (const b of srv.accepted.influx) for (const m of b.matchAll(/path="([^"]*)"/g)) influxPaths.add(m[1]);
    assert.deepEqual([...influxPaths].sort(), goodPaths);
    const esPaths = new Set(srv.accepted.es.map((d) => d.request_uri)); // Tyk's ES document key
    assert.deepEqual([...esPaths].sort(), goodPaths);
    const splunkPaths = new Set();
    for (const b of srv.accepted.splunk) for (const m of b.matchAll(/"path":"([^"]*)"/g)) splunkPaths.add(m[1]);
    assert.deepEqual([...splunkPaths].sort(), goodPaths);

    for (const n of sinks) {
      const file = path.join(dir, 'journal', `deadletter-${n}.jsonl`);
      const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
      assert.equal(lines.length, 4, file);
      assert.deepEqual(lines.map((l) => l.path).sort(), [...bad].map((i) => `/${MARK}/${i}`).sort());
      for (const l of lines) {
        assert.equal(l.api_id, 'api1');
        assert.equal(l.method, 'GET');
        assert.equal(l.response_code, 200);
        assert.equal(typeof l.journal_seq, 'number');
        assert.match(l.error, /400/);
      }
    }
    assert.match(pump.stderr(), /rejected journal seq \d+ for good/);
  });
});
