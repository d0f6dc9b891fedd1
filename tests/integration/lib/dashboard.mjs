// SPDX-License-Identifier: Apache-2.0
// Starts turnpike-dashboard for one test file, on SQLite (a temp file) or on a private
// PostgreSQL (lib/postgres.mjs), with its own Redis unless one is given. Also bootstraps an
// organisation and an admin user the way Tyk's installers do (Admin API, then the user sets a
// password), and runs a describe() block once per storage backend.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, makeTempDir, deepMerge, tail } from './gateway.mjs';
import { request } from './http.mjs';
import { freePort } from './ports.mjs';
import { startPostgres } from './postgres.mjs';
import { track, terminate, waitFor } from './procs.mjs';
import { startRedis } from './redis.mjs';

export const ADMIN_SECRET = 'test-admin-secret';
export const DASH_NODE_SECRET = 'node-secret'; // the gateway lib's NODE_SECRET

export function dashboardBin() {
  return process.env.TURNPIKE_DASHBOARD_BIN || path.join(REPO, 'build-test/src/dashboard/turnpike-dashboard');
}

/* The storage backends every dashboard suite runs against. TURNPIKE_DASH_STORAGES=sqlite
 * narrows it while developing. */
export const STORAGES = (process.env.TURNPIKE_DASH_STORAGES || 'sqlite,postgres').split(',');

let pgShared = null;
let pgDbs = 0;
/* A fresh database on this file's one PostgreSQL server. */
async function freshPostgresDb() {
  if (!pgShared) pgShared = await startPostgres();
  const name = `dash${++pgDbs}`;
  pgShared.query(`CREATE DATABASE ${name}`);
  return { dsn: pgShared.url(name), pg: pgShared, name };
}
export async function stopSharedPostgres() {
  if (pgShared) await pgShared.stop();
  pgShared = null;
}

/* startDashboard({storage: 'sqlite'|'postgres', conf, redis, env, postgresUrl})
 * → {url, port, conf, dir, redis, admin(), api(), logs(), stop()} */
export async function startDashboard({ storage = 'sqlite', conf = {}, redis, env = {}, postgresUrl,
  waitReady = true } = {}) {
  const bin = dashboardBin();
  if (!fs.existsSync(bin)) throw new Error(`dashboard binary not found: ${bin} (build it, or set TURNPIKE_DASHBOARD_BIN)`);
  const dir = makeTempDir('turnpike-dash-');
  const ownRedis = !redis;
  if (!redis) redis = await startRedis();
  const port = conf.listen_port ?? await freePort();
  let main;
  let pgInfo = null;
  if (storage === 'postgres') {
    if (postgresUrl) main = { type: 'postgres', connection_string: postgresUrl };
    else {
      pgInfo = await freshPostgresDb();
      main = { type: 'postgres', connection_string: pgInfo.dsn };
    }
  } else {
    main = { type: 'sqlite', connection_string: path.join(dir, 'tyk_analytics.db') };
  }
  const defaults = {
    listen_port: port,
    turnpike_listen_address: '127.0.0.1',
    admin_secret: ADMIN_SECRET,
    shared_node_secret: DASH_NODE_SECRET,
    storage: { main },
    redis_host: '127.0.0.1',
    redis_port: redis.port,
    turnpike_workers: 2,
    log_level: 'info',
  };
  if (redis.password) defaults.redis_password = redis.password;
  const fullConf = deepMerge(defaults, conf);
  const confPath = path.join(dir, 'tyk_analytics.conf');
  fs.writeFileSync(confPath, JSON.stringify(fullConf, null, 2));
  const url = `http://127.0.0.1:${port}`;
  let logText = '';
  let stopping = false;
  const proc = track(spawn(bin, [`--conf=${confPath}`], {
    cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const onData = (d) => {
    logText += d;
    if (logText.length > 4 * 1024 * 1024) logText = logText.slice(-2 * 1024 * 1024);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  proc.on('exit', (code, signal) => {
    if (!stopping && code !== 0) {
      console.error(`# dashboard pid ${proc.pid} exited unexpectedly (code ${code}, signal ${signal}); log tail:\n${tail(logText)}`);
    }
  });
  const call = (method, p, body, headers, timeoutMs = 10000) =>
    request(url + p, { method, body, headers, timeoutMs });
  const dash = {
    url, port, conf: fullConf, dir, redis, storage, proc, pg: pgInfo?.pg,
    logs: () => logText,
    logTail: (n = 60) => tail(logText, n),
    /* Admin API call (admin-auth header). */
    admin(method, p, body, { secret = ADMIN_SECRET, headers = {} } = {}) {
      const h = { ...headers };
      if (secret !== null) h['admin-auth'] = secret;
      return call(method, p, body, h);
    },
    /* Dashboard API call as the user whose access key is @key. */
    api(key, method, p, body, { headers = {} } = {}) {
      const h = { ...headers };
      if (key !== null) h.authorization = key;
      return call(method, p, body, h);
    },
    raw: call,
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    async stop(signal = 'SIGTERM') {
      stopping = true;
      const r = await terminate(proc, signal, 10000);
      if (ownRedis) await redis.stop();
      if (!process.env.TURNPIKE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
      return r;
    },
  };
  if (waitReady) {
    try {
      await waitFor(async () => {
        if (dash.exited()) throw Object.assign(new Error(`dashboard exited (code ${proc.exitCode})`), { fatal: true });
        const r = await request(`${url}/health`, { timeoutMs: 1000 }).catch(() => null);
        return r && (r.status === 200 || r.status === 503);
      }, { timeoutMs: 20000, intervalMs: 100, what: `dashboard ${url}/health` });
    } catch (e) {
      const msg = `${e.message}\nbinary: ${bin}\nlog:\n${tail(logText)}`;
      await dash.stop('SIGKILL').catch(() => {});
      throw new Error(msg);
    }
  }
  return dash;
}

/* Creates an organisation and an admin user in it through the Admin API, as Tyk's bootstrap
 * does. → {orgId, userId, key, email, password}. */
export async function bootstrapOrg(dash, { name = 'Test Org', email, password = 'Test-pass-123',
  permissions = {} } = {}) {
  const slug = `org-${Math.random().toString(16).slice(2, 8)}`;
  const o = await dash.admin('POST', '/admin/organisations', { owner_name: name, owner_slug: slug });
  if (o.status !== 200) throw new Error(`create org: ${o.status} ${o.text}`);
  const orgId = o.json().Meta;
  email ??= `admin-${slug}@example.com`;
  const u = await dash.admin('POST', '/admin/users', {
    org_id: orgId, first_name: 'Ad', last_name: 'Min', email_address: email, active: true,
    user_permissions: permissions,
  });
  if (u.status !== 200) throw new Error(`create user: ${u.status} ${u.text}`);
  const user = u.json().Meta;
  const key = user.access_key;
  const userId = user.id;
  const r = await dash.api(key, 'POST', `/api/users/${userId}/actions/reset`, { new_password: password });
  if (r.status !== 200) throw new Error(`set password: ${r.status} ${r.text}`);
  return { orgId, userId, key, email, password };
}
