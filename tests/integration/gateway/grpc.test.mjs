// SPDX-License-Identifier: Apache-2.0
// gRPC through the gateway: @grpc/grpc-js clients speak h2c to the gateway, whose APIs target a
// grpc-js server with h2c://. Unary, client-, server- and bidi-streaming calls, status and
// trailers from the server, deadlines, 4 MB messages, and gateway errors as gRPC statuses
// (no key → UNAUTHENTICATED, rate limit → RESOURCE_EXHAUSTED, upstream down → UNAVAILABLE).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http2 from 'node:http2';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';
import { freePort } from '../lib/ports.mjs';
import { waitFor } from '../lib/procs.mjs';

const PROTO = `syntax = "proto3";
package test;
message Msg { string text = 1; bytes data = 2; int32 count = 3; }
service Echo {
  rpc Unary(Msg) returns (Msg);
  rpc Collect(stream Msg) returns (Msg);
  rpc Expand(Msg) returns (stream Msg);
  rpc Chat(stream Msg) returns (stream Msg);
  rpc Slow(Msg) returns (Msg);
  rpc Fail(Msg) returns (Msg);
}
service Secure { rpc Unary(Msg) returns (Msg); }
service Limited { rpc Unary(Msg) returns (Msg); }
service Down { rpc Unary(Msg) returns (Msg); }
`;

const MAX = 16 * 1024 * 1024;

function loadProto() {
  const dir = makeTempDir('turnpike-grpc-');
  const file = path.join(dir, 'test.proto');
  fs.writeFileSync(file, PROTO);
  const def = protoLoader.loadSync(file, { keepCase: true, longs: Number, defaults: true });
  return grpc.loadPackageDefinition(def).test;
}

async function startGrpcServer(pkg) {
  const state = { cancelled: 0, calls: 0 };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX, 'grpc.max_send_message_length': MAX });
  const unary = (call, cb) => {
    state.calls++;
    const m = call.metadata.get('x-meta');
    cb(null, { text: `echo:${call.request.text}${m.length ? `:${m[0]}` : ''}`, data: call.request.data, count: call.request.data.length });
  };
  server.addService(pkg.Echo.service, {
    Unary: unary,
    Collect: (call, cb) => {
      const texts = [];
      let bytes = 0;
      call.on('data', (m) => { texts.push(m.text); bytes += m.data.length; });
      call.on('end', () => cb(null, { text: texts.join(','), count: bytes }));
    },
    Expand: (call) => {
      for (let i = 0; i < call.request.count; i++) call.write({ text: `${call.request.text}-${i}`, count: i });
      const md = new grpc.Metadata();
      md.set('x-trailer', 'done');
      call.end(md);
    },
    Chat: (call) => {
      call.on('data', (m) => call.write({ text: `re:${m.text}`, count: m.count }));
      call.on('end', () => call.end());
    },
    Slow: (call, cb) => {
      const t = setTimeout(() => cb(null, { text: 'late' }), 3000);
      call.on('cancelled', () => { state.cancelled++; clearTimeout(t); });
    },
    Fail: (call, cb) => {
      const md = new grpc.Metadata();
      md.set('x-reason', 'testing');
      cb({ code: grpc.status.NOT_FOUND, details: 'no such thing', metadata: md });
    },
  });
  for (const svc of ['Secure', 'Limited', 'Down']) server.addService(pkg[svc].service, { Unary: unary });
  const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0',
    grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, state, server, close: () => new Promise((r) => server.tryShutdown(() => r())) };
}

const call = (client, method, req, opts = {}) => new Promise((resolve) => {
  client[method](req, opts.metadata || new grpc.Metadata(), opts.deadline ? { deadline: opts.deadline } : {},
    (err, res) => resolve({ err, res }));
});

describe('gRPC through the gateway', () => {
  let gw, up, pkg, clients;
  const T = withLogs(() => gw);

  before(async () => {
    pkg = loadProto();
    up = await startGrpcServer(pkg);
    const target = `h2c://127.0.0.1:${up.port}`;
    const grpcApi = (id, lp, extra = {}) => keylessApi({ api_id: id, listen_path: lp, target_url: target, strip_listen_path: false, ...extra });
    gw = await startGateway({
      conf: { http_server_options: { enable_http2: true }, turnpike_workers: 1 },
      apis: [
        grpcApi('echo', '/test.Echo/'),
        grpcApi('secure', '/test.Secure/', { use_keyless: false, auth: { auth_header_name: 'Authorization' } }),
        grpcApi('limited', '/test.Limited/', { global_rate_limit: { rate: 2, per: 60 } }),
        keylessApi({ api_id: 'down', listen_path: '/test.Down/', target_url: `h2c://127.0.0.1:${await freePort()}`, strip_listen_path: false }),
      ],
    });
    const addr = `127.0.0.1:${gw.port}`;
    const opts = { 'grpc.max_receive_message_length': MAX, 'grpc.max_send_message_length': MAX };
    clients = {};
    for (const svc of ['Echo', 'Secure', 'Limited', 'Down']) clients[svc] = new pkg[svc](addr, grpc.credentials.createInsecure(), opts);
  });

  after(async () => {
    for (const c of Object.values(clients || {})) c.close();
    await gw?.stop();
    await up?.close();
  });

  it('unary calls, with metadata', T(async () => {
    const md = new grpc.Metadata();
    md.set('x-meta', 'm1');
    const { err, res } = await call(clients.Echo, 'Unary', { text: 'hi', data: Buffer.from('abc') }, { metadata: md });
    assert.equal(err, null, err && err.message);
    assert.equal(res.text, 'echo:hi:m1');
    assert.equal(res.count, 3);
  }));

  it('many unary calls at once share the connection', T(async () => {
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => call(clients.Echo, 'Unary', { text: `n${i}` })));
    rs.forEach(({ err, res }, i) => { assert.equal(err, null); assert.equal(res.text, `echo:n${i}`); });
  }));

  it('client streaming', T(async () => {
    const res = await new Promise((resolve, reject) => {
      const s = clients.Echo.Collect((e, r) => (e ? reject(e) : resolve(r)));
      for (let i = 0; i < 20; i++) s.write({ text: `p${i}`, data: Buffer.alloc(1000) });
      s.end();
    });
    assert.equal(res.text, Array.from({ length: 20 }, (_, i) => `p${i}`).join(','));
    assert.equal(res.count, 20000);
  }));

  it('server streaming, with trailing metadata', T(async () => {
    const got = [];
    let trailer;
    await new Promise((resolve, reject) => {
      const s = clients.Echo.Expand({ text: 'x', count: 25 });
      s.on('data', (m) => got.push(m.text));
      s.on('status', (st) => { trailer = st.metadata.get('x-trailer')[0]; });
      s.on('error', reject);
      s.on('end', resolve);
    });
    await waitFor(() => trailer !== undefined, { timeoutMs: 2000 });
    assert.equal(got.length, 25);
    assert.equal(got[24], 'x-24');
    assert.equal(trailer, 'done');
  }));

  it('bidirectional streaming, message by message', T(async () => {
    const s = clients.Echo.Chat();
    const replies = [];
    s.on('data', (m) => replies.push(m.text));
    for (let i = 0; i < 5; i++) {
      s.write({ text: `m${i}`, count: i });
      await waitFor(() => replies.length === i + 1, { timeoutMs: 3000, what: `reply ${i}` });
      assert.equal(replies[i], `re:m${i}`);
    }
    await new Promise((resolve, reject) => { s.on('end', resolve); s.on('error', reject); s.end(); });
  }));

  it('server errors reach the client with their status, message and trailers', T(async () => {
    const { err } = await call(clients.Echo, 'Fail', { text: 'x' });
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.equal(err.details, 'no such thing');
    assert.equal(err.metadata.get('x-reason')[0], 'testing');
  }));

  it('4 MB messages both ways', T(async () => {
    const data = Buffer.alloc(4 * 1024 * 1024, 7);
    data[12345] = 1;
    const { err, res } = await call(clients.Echo, 'Unary', { text: 'big', data });
    assert.equal(err, null, err && err.message);
    assert.equal(res.count, data.length);
    assert.ok(Buffer.from(res.data).equals(data));
  }));

  it('a deadline shorter than the handler ends with DEADLINE_EXCEEDED and cancels upstream', T(async () => {
    const before = up.state.cancelled;
    const t0 = Date.now();
    const { err } = await call(clients.Echo, 'Slow', { text: 's' }, { deadline: Date.now() + 400 });
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - t0 < 2500);
    await waitFor(() => up.state.cancelled > before, { timeoutMs: 3000, what: 'upstream call cancelled' });
  }));

  it('the gateway itself ends a call at its grpc-timeout (client without its own deadline)', T(async () => {
    // node's http2 client enforces no deadline: only the gateway can end this call early.
    const before = up.state.cancelled;
    const session = http2.connect(`http://127.0.0.1:${gw.port}`);
    try {
      const t0 = Date.now();
      const req = session.request({ ':method': 'POST', ':path': '/test.Echo/Slow', 'content-type': 'application/grpc',
        te: 'trailers', 'grpc-timeout': '300m' });
      req.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message
      const result = await new Promise((resolve, reject) => {
        let head;
        req.on('response', (h) => { head = h; });
        req.on('trailers', (t) => resolve({ head, trailers: t }));
        req.on('end', () => resolve({ head, trailers: {} }));
        req.on('error', reject);
        req.resume();
      });
      const elapsed = Date.now() - t0;
      const status = result.trailers['grpc-status'] ?? result.head['grpc-status'];
      assert.equal(Number(status), grpc.status.DEADLINE_EXCEEDED, JSON.stringify(result));
      assert.ok(elapsed >= 250 && elapsed < 2000, `ended after ${elapsed} ms`);
      await waitFor(() => up.state.cancelled > before, { timeoutMs: 3000, what: 'upstream call cancelled' });
    } finally {
      session.close();
    }
  }));

  it('a keyed API without a key → UNAUTHENTICATED', T(async () => {
    const { err } = await call(clients.Secure, 'Unary', { text: 'x' });
    assert.equal(err.code, grpc.status.UNAUTHENTICATED, err.message);
  }));

  it('over the API rate limit → RESOURCE_EXHAUSTED', T(async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await call(clients.Limited, 'Unary', { text: 'x' })).err?.code ?? 0);
    assert.deepEqual(codes.slice(0, 2), [0, 0]);
    assert.equal(codes[3], grpc.status.RESOURCE_EXHAUSTED);
  }));

  it('an upstream that is down → UNAVAILABLE', T(async () => {
    const { err } = await call(clients.Down, 'Unary', { text: 'x' });
    assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
  }));
});
