// SPDX-License-Identifier: Apache-2.0
// A private Prometheus (/usr/bin/prometheus) scraping given targets every second: config and
// TSDB in a temp dir, the web API on a free loopback port. Stopped and removed at the end.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.mjs';
import { track, terminate, waitFor } from './procs.mjs';

const PROMETHEUS = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';

/* targets: ["127.0.0.1:port", ...], scraped at metricsPath. */
export async function startPrometheus({ targets, metricsPath = '/metrics' }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-prom-'));
  const port = await freePort();
  const conf = path.join(dir, 'prom.yml');
  fs.writeFileSync(conf, [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: turnpike-pump',
    `    metrics_path: ${metricsPath}`,
    '    static_configs:',
    `      - targets: [${targets.map((t) => `"${t}"`).join(', ')}]`,
    '',
  ].join('\n'));
  let log = '';
  const proc = track(spawn(PROMETHEUS, [`--config.file=${conf}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    try { return (await fetch(`${url}/-/ready`)).status === 200; } catch { return false; }
  }, { timeoutMs: 30000, intervalMs: 100, what: `prometheus on ${port}: ${log}` });

  /* An instant query; the result vector ([{metric, value: [t, "v"]}]). */
  async function query(q) {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
    const j = await res.json();
    if (j.status !== 'success') throw new Error(`prometheus query ${q}: ${JSON.stringify(j)}`);
    return j.data.result;
  }

  return {
    url,
    port,
    query,
    logs: () => log,
    async stop() {
      await terminate(proc, 'SIGTERM', 10000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
