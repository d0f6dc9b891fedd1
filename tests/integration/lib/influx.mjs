// SPDX-License-Identifier: Apache-2.0
// A private InfluxDB 1.x (/usr/bin/influxd) for one test file: every directory in a temp dir,
// the HTTP API and the backup/restore listener on free loopback ports, no reporting, no
// monitor store. Stopped and removed at the end.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.mjs';
import { track, terminate, waitFor } from './procs.mjs';

const INFLUXD = process.env.INFLUXD_BIN || '/usr/bin/influxd';

export async function startInflux() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-influx-'));
  const httpPort = await freePort();
  const rpcPort = await freePort();
  const conf = path.join(dir, 'influxdb.conf');
  fs.writeFileSync(conf, [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    `[meta]\n  dir = "${dir}/meta"\n  logging-enabled = false`,
    `[data]\n  dir = "${dir}/data"\n  wal-dir = "${dir}/wal"\n  query-log-enabled = false\n  wal-fsync-delay = "0s"`,
    '[monitor]\n  store-enabled = false',
    `[http]\n  enabled = true\n  bind-address = "127.0.0.1:${httpPort}"\n  log-enabled = false\n  pprof-enabled = false`,
    '[subscriber]\n  enabled = false',
    '[continuous_queries]\n  enabled = false',
    '[logging]\n  level = "error"\n  suppress-logo = true',
    '',
  ].join('\n'));
  let log = '';
  const proc = track(spawn(INFLUXD, ['-config', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${httpPort}`;
  await waitFor(async () => {
    try { return (await fetch(`${url}/ping`)).status === 204; } catch { return false; }
  }, { timeoutMs: 30000, intervalMs: 100, what: `influxd on ${httpPort}: ${log}` });

  /* One InfluxQL query (epoch=ns); the parsed JSON answer. */
  async function query(db, q) {
    const u = `${url}/query?db=${encodeURIComponent(db)}&epoch=ns&q=${encodeURIComponent(q)}`;
    const res = await fetch(u);
    if (res.status !== 200) throw new Error(`influx query ${q}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  }

  /* The rows of the first series of the first result as objects keyed by column. */
  async function rows(db, q) {
    const j = await query(db, q);
    const s = j.results?.[0]?.series?.[0];
    if (!s) return [];
    return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
  }

  return {
    url,
    port: httpPort,
    dir,
    query,
    rows,
    logs: () => log,
    async stop() {
      await terminate(proc, 'SIGTERM', 10000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
