// SPDX-License-Identifier: Apache-2.0
// Start turnpike-pump with a temporary pump.conf; build analytics records the way Tyk's gateway
// encodes them (msgpack map keyed by Go field names, time as [sec, nsec]); read the CSV sink.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '@msgpack/msgpack';
import { freePort } from './ports.mjs';
import { track, terminate, waitFor } from './procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');

export function pumpBin() {
  return process.env.TURNPIKE_PUMP_BIN || path.join(REPO, 'build-test/src/pump/turnpike-pump');
}

export function tempDir(prefix = 'turnpike-pump-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/* One analytics record keyed by Tyk's Go field names. */
export function makeRecord(i, over = {}) {
  const sec = 1700000000 + i;
  return {
    Method: 'GET',
    Host: 'api.example.com',
    Path: `/r/${i}`,
    RawPath: `/r/${i}`,
    ContentLength: 0,
    UserAgent: 'node-test',
    Day: 14, Month: 11, Year: 2023, Hour: 22,
    ResponseCode: 200,
    APIKey: 'key-1',
    TimeStamp: [sec, 5000],
    APIVersion: 'Default',
    APIName: 'Test API',
    APIID: 'api1',
    OrgID: 'org1',
    OauthID: '',
    RequestTime: 12,
    RawRequest: Buffer.from('GET / HTTP/1.1\r\n\r\n').toString('base64'),
    RawResponse: '',
    IPAddress: '127.0.0.1',
    Geo: { Country: { ISOCode: '' }, City: { GeoNameID: 0, Names: {} }, Location: { Latitude: 0, Longitude: 0, TimeZone: '' } },
    Network: { OpenConnections: 0, ClosedConnection: 0, BytesIn: 0, BytesOut: 0 },
    Latency: { Total: 12, Upstream: 10, Gateway: 2 },
    Tags: ['org-org1', 'api-api1'],
    Alias: '',
    TrackPath: false,
    ExpireAt: [sec + 86400, 0],
    ApiSchema: '',
    ...over,
  };
}

export const encodeRecord = (r) => Buffer.from(encode(r));

/* RPUSH records (objects or raw Buffers) to key, in commands of up to 500. */
export async function pushRecords(redis, key, records) {
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500).map((r) => (Buffer.isBuffer(r) ? r : encodeRecord(r)));
    await redis.command('RPUSH', key, ...chunk);
  }
}

/* Go encoding/csv: quoted fields with "" escapes; rows end with \n. */
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; continue; }
    field += c; i++;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/* Every data row of every *.csv in dir, as objects keyed by the header row. */
export function readCsvDir(dir) {
  const out = [];
  let files = [];
  try { files = fs.readdirSync(dir).filter((f) => f.endsWith('.csv')).sort(); } catch { return out; }
  for (const f of files) {
    const rows = parseCsv(fs.readFileSync(path.join(dir, f), 'utf8'));
    const header = rows.shift() || [];
    for (const r of rows) {
      const o = { _file: f };
      header.forEach((h, k) => { o[h] = r[k]; });
      out.push(o);
    }
  }
  return out;
}

export function httpGet(port, p) {
  return fetch(`http://127.0.0.1:${port}${p}`).then(async (res) => ({
    status: res.status,
    headers: res.headers,
    text: await res.text(),
  }));
}

/* Starts the pump. pumps: the "pumps" map; conf: extra top-level keys. */
export async function startPump({ redis, pumps = {}, conf = {}, env = {}, dir, healthPort, args } = {}) {
  dir = dir || tempDir();
  healthPort = healthPort || await freePort();
  const full = {
    analytics_storage_type: 'redis',
    analytics_storage_config: { type: 'redis', host: '127.0.0.1', port: redis.port },
    purge_delay: 1,
    dont_purge_uptime_data: true,
    health_check_endpoint_port: healthPort,
    journal_dir: path.join(dir, 'journal'),
    pump_id: 'test-pump',
    pumps,
    ...conf,
  };
  const confPath = path.join(dir, 'pump.conf');
  fs.writeFileSync(confPath, JSON.stringify(full, null, 2));
  return launch({ dir, confPath, healthPort, env, args });
}

export function launch({ dir, confPath, healthPort, env = {}, args }) {
  let stdout = '', stderr = '';
  const proc = track(spawn(pumpBin(), args || ['-c', confPath], {
    cwd: dir,
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; if (process.env.PUMP_DEBUG) process.stderr.write(d); });
  const api = {
    proc, dir, confPath, healthPort,
    stdout: () => stdout,
    stderr: () => stderr,
    async ready() {
      await waitFor(async () => (await httpGet(healthPort, '/health')).status === 200,
        { timeoutMs: 10000, what: `turnpike-pump health on ${healthPort}; stderr: ${stderr}` });
      return api;
    },
    async stats() { return JSON.parse((await httpGet(healthPort, '/stats')).text); },
    stop: (sig = 'SIGTERM', grace = 10000) => terminate(proc, sig, grace),
    restart: () => launch({ dir, confPath, healthPort, env, args }).ready(),
  };
  return api;
}

export function exited(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode });
    else proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
}
