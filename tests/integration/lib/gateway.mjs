// SPDX-License-Identifier: Apache-2.0
// Start turnpike-gateway with a temporary tyk.conf, apps/ and templates/.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.mjs';
import { startRedis } from './redis.mjs';
import { request } from './http.mjs';
import { track, terminate, waitExit, waitFor } from './procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const SECRET = 'test-secret';
export const NODE_SECRET = 'node-secret';

export function gatewayBin() {
  return process.env.TURNPIKE_GATEWAY_BIN || path.join(REPO, 'build-test/src/gateway/turnpike-gateway');
}

let asanCache;
/* True when the binary is built with AddressSanitizer (RSS limits then
 * measure growth, not absolute size). */
export function binaryHasAsan() {
  if (asanCache === undefined) {
    try { asanCache = fs.readFileSync(gatewayBin()).includes('__asan_init'); } catch { asanCache = false; }
  }
  return asanCache;
}

export function makeTempDir(prefix = 'turnpike-gw-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function isPlainObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }

/* Deep merge: objects merge recursively, arrays and scalars replace,
 * undefined/null in the override delete the key. */
export function deepMerge(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over || {})) {
    if (v === undefined || v === null) delete out[k];
    else if (isPlainObject(v) && isPlainObject(out[k])) out[k] = deepMerge(out[k], v);
    else out[k] = v;
  }
  return out;
}

/* A keyless classic API definition (Tyk's sampleAPI shape). */
export function keylessApi({ api_id, listen_path, target_url, strip_listen_path = true, ...rest }) {
  const base = {
    name: `api ${api_id}`,
    api_id,
    org_id: 'default',
    active: true,
    use_keyless: true,
    auth: { auth_header_name: 'Authorization' },
    version_data: {
      not_versioned: true,
      default_version: 'Default',
      versions: { Default: { name: 'Default', use_extended_paths: true } },
    },
    proxy: { listen_path, target_url, strip_listen_path },
  };
  const { proxy, ...others } = rest;
  const def = deepMerge(base, others);
  if (proxy) def.proxy = { ...def.proxy, ...proxy };
  return def;
}

// Tyk's shipped error templates, used only if the repository has none yet.
const FALLBACK_TEMPLATES = {
  'error.json': '{\n    "error": "{{.Message}}"\n}\n',
  'error.xml': '<?xml version = "1.0" encoding = "UTF-8"?>\n<error>{{.Message}}</error>\n',
};

function writeTemplates(dir, extra) {
  fs.mkdirSync(dir, { recursive: true });
  const repoTpl = path.join(REPO, 'templates');
  let copied = 0;
  if (fs.existsSync(repoTpl)) {
    for (const f of fs.readdirSync(repoTpl)) {
      const src = path.join(repoTpl, f);
      if (fs.statSync(src).isFile()) { fs.copyFileSync(src, path.join(dir, f)); copied++; }
    }
  }
  for (const [f, content] of Object.entries(FALLBACK_TEMPLATES)) {
    if (!fs.existsSync(path.join(dir, f))) {
      fs.writeFileSync(path.join(dir, f), content);
      if (!process.env.TURNPIKE_QUIET) console.error(`# harness: repo templates/${f} missing, wrote Tyk's default`);
    }
  }
  for (const [f, content] of Object.entries(extra || {})) fs.writeFileSync(path.join(dir, f), content);
  return copied;
}

/* Write one API: a definition object → apps/<api_id>.json, or
 * {file, content} for arbitrary (possibly broken) files. */
export function writeApiFile(appDir, def) {
  if (def && typeof def.file === 'string' && 'content' in def) {
    fs.writeFileSync(path.join(appDir, def.file), def.content);
    return path.join(appDir, def.file);
  }
  const p = path.join(appDir, `${def.api_id}.json`);
  // write-then-rename so a concurrently running reload never sees half a file
  fs.writeFileSync(`${p}.tmp`, JSON.stringify(def, null, 2));
  fs.renameSync(`${p}.tmp`, p);
  return p;
}

/* Run the binary with args to completion (for --check, --version, bad
 * configs). → {code, signal, stdout, stderr, timedOut}. */
export function runGateway(args, { timeoutMs = 15000, env = {}, cwd } = {}) {
  return new Promise((resolve) => {
    const child = track(spawn(gatewayBin(), args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(t); resolve({ code: -1, signal: null, stdout, stderr: stderr + String(e), timedOut }); });
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      // let the pipes drain
      setTimeout(() => resolve({ code, signal, stdout, stderr, timedOut }), 50);
    });
  });
}

/* Start a gateway.
 *   conf:      tyk.conf overrides (deep-merged over the defaults)
 *   apis:      API definitions (objects) or {file, content} raw files
 *   templates: extra template files {name: content}
 *   redis:     an object from startRedis(); if absent one is started and
 *              stopped with the gateway
 *   env:       extra environment for the process
 *   args:      extra command-line arguments
 *   waitReady: wait for GET /hello == 200 (default true)
 */
export async function startGateway({ conf = {}, apis = [], templates = {}, redis, env = {}, args = [],
  waitReady = true, readyTimeoutMs = 20000 } = {}) {
  if (!fs.existsSync(gatewayBin())) {
    throw new Error(`gateway binary not found: ${gatewayBin()} (build it, or set TURNPIKE_GATEWAY_BIN)`);
  }
  const dir = makeTempDir();
  const ownRedis = !redis;
  if (!redis) redis = await startRedis();
  const port = conf.listen_port ?? await freePort();
  const appDir = path.join(dir, 'apps');
  const tplDir = path.join(dir, 'templates');
  fs.mkdirSync(appDir, { recursive: true });
  writeTemplates(tplDir, templates);

  const defaults = {
    listen_address: '127.0.0.1',
    listen_port: port,
    secret: SECRET,
    node_secret: NODE_SECRET,
    app_path: appDir,
    template_path: tplDir,
    pid_file_location: path.join(dir, 'gw.pid'),
    storage: { type: 'redis', host: '127.0.0.1', port: redis.port },
    turnpike_workers: 2,
    log_level: 'info',
    graceful_shutdown_timeout_duration: 5,
  };
  if (redis.password) defaults.storage.password = redis.password;
  const fullConf = deepMerge(defaults, conf);
  const confPath = path.join(dir, 'tyk.conf');
  fs.writeFileSync(confPath, JSON.stringify(fullConf, null, 2));
  for (const a of apis) writeApiFile(appDir, a);

  const tlsOn = !!(fullConf.http_server_options && fullConf.http_server_options.use_ssl);
  const scheme = tlsOn ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  const cport = fullConf.control_api_port && fullConf.control_api_port !== port ? fullConf.control_api_port : port;
  const controlUrl = `${scheme}://127.0.0.1:${cport}`;

  const logPath = path.join(dir, 'gateway.log');
  const logFd = fs.openSync(logPath, 'a');
  let logText = '';
  let stopping = false;

  const proc = track(spawn(gatewayBin(), [`--conf=${confPath}`, ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const onData = (stream) => (d) => {
    logText += d;
    if (logText.length > 4 * 1024 * 1024) logText = logText.slice(-2 * 1024 * 1024);
    try { fs.writeSync(logFd, d); } catch { /* closed */ }
    gw.stderrLines && stream === 'stderr' && gw.stderrLines.push(...String(d).split('\n').filter(Boolean));
  };
  let spawnError = null;
  proc.on('error', (e) => { spawnError = e; });
  proc.stdout.on('data', onData('stdout'));
  proc.stderr.on('data', onData('stderr'));
  proc.on('exit', (code, signal) => {
    if (!stopping && code !== 0) {
      console.error(`# gateway pid ${proc.pid} exited unexpectedly (code ${code}, signal ${signal}); log tail:\n${tail(logText)}`);
    }
  });

  const gw = {
    url, port, controlUrl, controlPort: cport, dir, appDir, templateDir: tplDir, confPath, logPath,
    proc, pid: proc.pid, conf: fullConf, redis, stderrLines: [],
    logs: () => logText,
    logTail: (n = 60) => tail(logText, n),
    /* Control API request with the secret. */
    admin(method, p, body, { secret = SECRET, headers = {}, timeoutMs = 10000 } = {}) {
      const h = { ...headers };
      if (secret !== null) h['X-Tyk-Authorization'] = secret;
      return request(controlUrl + p, { method, body, headers: h, timeoutMs });
    },
    get(p, opts = {}) { return request(url + p, opts); },
    writeApi(def) { return writeApiFile(appDir, def); },
    removeApi(id) { try { fs.unlinkSync(path.join(appDir, `${id}.json`)); } catch { /* absent */ } },
    async reload({ block = true } = {}) {
      const r = await gw.admin('GET', `/tyk/reload${block ? '?block=true' : ''}`, undefined, { timeoutMs: 15000 });
      if (r.status !== 200) throw new Error(`reload failed: ${r.status} ${r.text}`);
      return r;
    },
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    waitExit: (ms) => waitExit(proc, ms),
    async stop(signal = 'SIGTERM', graceMs = 10000) {
      stopping = true;
      const r = await terminate(proc, signal, graceMs);
      try { fs.closeSync(logFd); } catch { /* already */ }
      if (ownRedis) await redis.stop();
      if (!process.env.TURNPIKE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
      return r;
    },
    markStopping() { stopping = true; },
  };

  if (waitReady) {
    let firstUp = null;
    try {
      await waitFor(async () => {
        if (spawnError) throw Object.assign(spawnError, { fatal: true });
        if (gw.exited()) {
          throw Object.assign(new Error(`gateway exited (code ${proc.exitCode}, signal ${proc.signalCode})`), { fatal: true });
        }
        const r = await request(`${controlUrl}/${fullConf.health_check_endpoint_name || 'hello'}`,
          { timeoutMs: 1000, servername: tlsOn ? 'localhost' : undefined });
        if (r.status !== 200) return false;
        // Up. Give it a moment to reach Redis too (on a loaded machine the first connect can
        // trail /hello), unless the test started it without one on purpose.
        firstUp ??= Date.now();
        let redisUp = false;
        try { redisUp = JSON.parse(r.text).details?.redis?.status === 'pass'; } catch { /* not JSON */ }
        return redisUp || Date.now() - firstUp > 5000;
      }, { timeoutMs: readyTimeoutMs, intervalMs: 100, what: `gateway ${url} /hello` });
    } catch (e) {
      const msg = `${e.message}\nbinary: ${gatewayBin()}\nlog (${logPath}):\n${tail(logText)}`;
      await gw.stop('SIGKILL', 2000).catch(() => {});
      throw new Error(msg);
    }
  }
  return gw;
}

export function tail(text, n = 60) {
  const lines = String(text).split('\n');
  return lines.slice(-n).join('\n');
}

/* Wrap a test body so an assertion failure carries the gateway's log tail.
 *   const T = withLogs(() => gw);  it('x', T(async () => {...}));  */
export function withLogs(getGw) {
  return (fn) => async (...a) => {
    try {
      return await fn(...a);
    } catch (e) {
      const g = getGw();
      if (g && typeof g.logTail === 'function') {
        e.message += `\n--- gateway log tail (${g.logPath}) ---\n${g.logTail(40)}`;
      }
      throw e;
    }
  };
}

/* Readings from /proc/<pid>/status in KiB: {rss, hwm}. */
export function memKiB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => { const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s); return m ? Number(m[1]) : 0; };
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}
