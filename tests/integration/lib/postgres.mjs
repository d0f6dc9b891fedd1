// SPDX-License-Identifier: Apache-2.0
// A private PostgreSQL 15 server for one test file: initdb into a temp dir, a free loopback
// port, trust authentication, stopped and removed at the end. Runs as the `postgres` system
// user when the tests run as root (PostgreSQL refuses to run as root).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.mjs';
import { track, terminate, waitFor } from './procs.mjs';

const BIN = process.env.PG_BIN_DIR || '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid && process.getuid() === 0;

function asPg(cmd, args) {
  // setpriv execs in place (no intermediate process), so signals reach postgres itself.
  return asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]] : [cmd, args];
}

function run(cmd, args, opts = {}) {
  const [c, a] = asPg(cmd, args);
  return execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }).toString();
}

export async function startPostgres() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-pg-'));
  const data = path.join(dir, 'data');
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  fs.chmodSync(dir, 0o755);
  run(path.join(BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  let proc = null;
  let log = '';

  async function launch() {
    const [c, a] = asPg(path.join(BIN, 'postgres'), ['-D', data, '-p', String(port), '-k', dir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off', '-c', 'max_connections=50']);
    proc = track(spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] }));
    proc.stdout.on('data', (d) => { log += d; });
    proc.stderr.on('data', (d) => { log += d; });
    await waitFor(() => {
      try { return query('SELECT 1') === '1'; } catch { return false; }
    }, { timeoutMs: 20000, intervalMs: 100, what: `postgres on ${port}` });
  }

  /* One statement through psql; rows as "a|b" lines, trimmed. */
  function query(sql, db = 'postgres') {
    return execFileSync('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres',
      '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  }

  await launch();
  return {
    port,
    dir,
    dsn: (db = 'postgres') => `host=127.0.0.1 port=${port} user=postgres dbname=${db} sslmode=disable`,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}?sslmode=disable`,
    query,
    logs: () => log,
    get proc() { return proc; },
    /* Fast shutdown (as `pg_ctl stop -m fast`): clients are disconnected. */
    async stop() { if (proc) await terminate(proc, 'SIGINT', 10000); proc = null; },
    async start() { await launch(); },
    async destroy() {
      if (proc) await terminate(proc, 'SIGINT', 10000);
      proc = null;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
