// SPDX-License-Identifier: Apache-2.0
// redis-server on loopback for one test file, plus a minimal RESP client.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.mjs';
import { track, terminate, waitFor } from './procs.mjs';

/* ---- RESP ---------------------------------------------------------------- */

export function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/* Parse one RESP value from buf at off. Returns [value, nextOffset] or null
 * when more bytes are needed. Errors come back as {error: "..."}. With
 * binary, bulk strings come back as Buffers (msgpack records). */
export function parseReply(buf, off = 0, binary = false) {
  if (off >= buf.length) return null;
  const eol = buf.indexOf('\r\n', off);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[off]);
  const line = buf.toString('utf8', off + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return [line, next];
    case '-': return [{ error: line }, next];
    case ':': return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [binary ? Buffer.from(buf.subarray(next, next + n)) : buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const arr = [];
      let o = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, o, binary);
        if (!r) return null;
        arr.push(r[0]);
        o = r[1];
      }
      return [arr, o];
    }
    default:
      throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
  }
}

/* One command on a fresh connection. Options via a trailing object:
 * redisCommand(port, 'PUBLISH', 'ch', 'msg', {password, timeoutMs, binary}). */
export function redisCommand(port, ...args) {
  let opts = {};
  if (args.length && typeof args[args.length - 1] === 'object' && !Buffer.isBuffer(args[args.length - 1])) {
    opts = args.pop();
  }
  const timeoutMs = opts.timeoutMs ?? 3000;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let want = 1;
    const replies = [];
    const t = setTimeout(() => { sock.destroy(); reject(new Error(`redis ${args[0]}: timeout`)); }, timeoutMs);
    sock.on('error', (e) => { clearTimeout(t); reject(e); });
    sock.on('connect', () => {
      if (opts.password) { want = 2; sock.write(encodeCommand(['AUTH', opts.password])); }
      sock.write(encodeCommand(args));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      while ((r = parseReply(buf, 0, !!opts.binary))) {
        replies.push(r[0]);
        buf = buf.subarray(r[1]);
      }
      if (replies.length >= want) {
        clearTimeout(t);
        sock.destroy();
        const v = replies[want - 1];
        if (v && typeof v === 'object' && 'error' in v) reject(new Error(`redis: ${v.error}`));
        else resolve(v);
      }
    });
  });
}

/* Subscribe to a channel; collects {channel, message} in .messages. */
export function redisSubscribe(port, channel, { password, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const messages = [];
    const waiters = [];
    let subscribed = false;
    const t = setTimeout(() => { sock.destroy(); reject(new Error('redis SUBSCRIBE: timeout')); }, timeoutMs);
    const api = {
      messages,
      close() { sock.destroy(); },
      /* Resolves with the first message for which pred(msg) is true. */
      waitFor(pred = () => true, ms = 5000) {
        const hit = messages.find(pred);
        if (hit) return Promise.resolve(hit);
        return new Promise((res, rej) => {
          const w = { pred, res, timer: setTimeout(() => {
            waiters.splice(waiters.indexOf(w), 1);
            rej(new Error(`no pub/sub message on ${channel} within ${ms} ms (got ${JSON.stringify(messages)})`));
          }, ms) };
          waiters.push(w);
        });
      },
    };
    sock.on('error', (e) => { clearTimeout(t); if (!subscribed) reject(e); });
    sock.on('connect', () => {
      if (password) sock.write(encodeCommand(['AUTH', password]));
      sock.write(encodeCommand(['SUBSCRIBE', channel]));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      while ((r = parseReply(buf, 0))) {
        buf = buf.subarray(r[1]);
        const v = r[0];
        if (Array.isArray(v) && v[0] === 'subscribe') {
          subscribed = true; clearTimeout(t); resolve(api);
        } else if (Array.isArray(v) && v[0] === 'message') {
          const m = { channel: v[1], message: v[2] };
          messages.push(m);
          for (const w of [...waiters]) {
            if (w.pred(m)) { clearTimeout(w.timer); waiters.splice(waiters.indexOf(w), 1); w.res(m); }
          }
        }
      }
    });
  });
}

/* ---- server -------------------------------------------------------------- */

/* persist: an append-only file synced on every write in a temp dir kept across restart(), so
 * a killed and restarted server still has everything it acknowledged. */
export async function startRedis({ password, port, persist = false } = {}) {
  port = port ?? await freePort();
  let proc = null;
  let log = '';
  const dataDir = persist ? fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-redis-')) : null;

  async function launch() {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
    if (persist) args.push('--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir);
    else args.push('--appendonly', 'no');
    if (password) args.push('--requirepass', password);
    proc = track(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    proc.stdout.on('data', (d) => { log += d; });
    proc.stderr.on('data', (d) => { log += d; });
    await waitFor(async () => (await redisCommand(port, 'PING', { password, timeoutMs: 500 })) === 'PONG',
      { timeoutMs: 10000, intervalMs: 50, what: `redis-server on ${port}` });
  }

  await launch();
  return {
    port,
    password,
    get proc() { return proc; },
    logs: () => log,
    command: (...args) => redisCommand(port, ...args, { password }),
    async stop() {
      await terminate(proc, 'SIGKILL', 3000);
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
    /* Kill without removing the data (persist), for outage tests; start() brings it back. */
    async kill() { await terminate(proc, 'SIGKILL', 3000); },
    async start() { await launch(); },
    async restart() { await terminate(proc, 'SIGKILL', 3000); await launch(); },
  };
}
