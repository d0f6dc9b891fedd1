// SPDX-License-Identifier: Apache-2.0
// Body transforms with Go templates: extended_paths.transform (request body → upstream) and
// transform_response (upstream body → client): JSON and XML input, top-level arrays, Go's float64
// numbers, session meta_data (enable_session), context variables, $tyk_meta replacement in the
// output, file and blob templates, compressed responses, templates that fail to load (entry
// skipped, API loads) or at request time (original request body / partial response), and
// responses of other endpoints still streaming.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { waitFor } from '../lib/procs.mjs';

const b64 = (s) => Buffer.from(s).toString('base64');
const tpl = (source, more = {}) => ({ input_type: 'json', template_mode: 'blob', template_source: b64(source), ...more });
const entry = (p, method, source, more = {}) => ({ path: p, method, template_data: tpl(source, more) });
const ext = (paths) => ({
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } },
});

// Answers for the response-transform paths; everything else echoes what the upstream received.
const UPSTREAM_ANSWERS = {
  '/resp/json': { type: 'application/json', body: '{"items":[1,2,3],"name":"Ada","big":1000000}' },
  '/resp/array': { type: 'application/json', body: '[{"id":"a"},{"id":"b"}]' },
  '/resp/xml': { type: 'application/xml', body: '<order id="9"><line>x</line><line>y</line></order>' },
  '/resp/notjson': { type: 'text/plain', body: 'plain words' },
  '/resp/partial': { type: 'application/json', body: '{"list":[1]}' },
  '/resp/plain': { type: 'application/json', body: '{"untouched":true}' },
};

describe('body transforms (transform, transform_response)', () => {
  let gw, up, streamUp, key, tplDir;
  let release = () => {};
  const T = withLogs(() => gw);

  before(async () => {
    up = await startUpstream((req, res, rec) => {
      const a = UPSTREAM_ANSWERS[req.url.replace(/^\/[a-z]+(?=\/resp\/)/, '')];
      if (a) {
        let body = Buffer.from(a.body);
        const headers = { 'Content-Type': a.type, 'X-Up': 'yes' };
        if (req.headers['x-encode'] === 'gzip') { body = zlib.gzipSync(body); headers['Content-Encoding'] = 'gzip'; }
        if (req.headers['x-encode'] === 'deflate') { body = zlib.deflateRawSync(body); headers['Content-Encoding'] = 'deflate'; }
        headers['Content-Length'] = body.length;
        res.writeHead(200, headers);
        res.end(body);
        return;
      }
      const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: rec.body.toString() });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
      res.end(out);
    });
    // Sends a first chunk, then holds the response open until the test releases it.
    const held = (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first chunk\n');
      release = () => res.end('last chunk\n');
    };
    held.streaming = true;
    streamUp = await startUpstream(held);

    tplDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-tpl-'));
    fs.writeFileSync(path.join(tplDir, 'from-file.tmpl'), 'file says {{.greeting}}');

    const paths = {
      transform: [
        entry('/json', 'POST', '{"user": "{{.name}}", "n": {{.n}}, "big": {{.big}}, "neg": {{.neg}}}'),
        entry('/xml', 'POST', '{{.user.name}}-{{index .user "-id"}}-{{range .user.tag}}[{{.}}]{{end}}', { input_type: 'xml' }),
        entry('/array', 'POST', '{{range .array}}{{.a}},{{end}}'),
        entry('/empty', 'POST', 'keys={{len .}}'),
        entry('/notjson', 'POST', 'never used'),
        entry('/fails', 'POST', 'before {{index .list 10}} after'),
        entry('/file', 'POST', '', { template_mode: 'file', template_source: path.join(tplDir, 'from-file.tmpl') }),
        entry('/vars', 'POST', 'path=$tyk_context.path ctx={{._tyk_context.path}}'),
        entry('/badinput', 'POST', 'x', { input_type: 'yaml' }),
      ],
      transform_response: [
        entry('/resp/json', 'GET', '{"count": {{len .items}}, "who": "{{.name}}", "big": {{.big}}}'),
        entry('/resp/array', 'GET', '{{range .array}}<{{.id}}>{{end}}'),
        entry('/resp/xml', 'GET', 'order {{index .order "-id"}}: {{range .order.line}}{{.}};{{end}}', { input_type: 'xml' }),
        entry('/resp/notjson', 'GET', 'keys={{len .}}'),
        entry('/resp/partial', 'GET', 'before {{index .list 10}} after'),
      ],
    };
    const broken = {
      transform: [
        entry('/same', 'POST', 'first {{if}}'), // bad syntax: skipped, the next /same entry applies
        entry('/same', 'POST', 'second {{.a}}'),
        { path: '/badb64', method: 'POST', template_data: { input_type: 'json', template_mode: 'blob', template_source: '%%%not base64' } },
        { path: '/badmode', method: 'POST', template_data: { input_type: 'json', template_mode: 'inline', template_source: b64('x') } },
        entry('/nofile', 'POST', '', { template_mode: 'file', template_source: path.join(tplDir, 'missing.tmpl') }),
      ],
      transform_response: [entry('/resp/json', 'GET', '{{.nope')],
    };
    gw = await startGateway({
      conf: { turnpike_skip_bad_templates: true }, // Tyk's way; the default rejects the API
      apis: [
        keylessApi({ api_id: 'tx', listen_path: '/tx/', target_url: up.url, version_data: ext(paths) }),
        keylessApi({ api_id: 'ctx', listen_path: '/ctx/', target_url: up.url, enable_context_vars: true, version_data: ext(paths) }),
        keylessApi({ api_id: 'broken', listen_path: '/broken/', target_url: up.url, version_data: ext(broken) }),
        keylessApi({
          api_id: 'stream', listen_path: '/stream/', target_url: streamUp.url,
          version_data: ext({ transform_response: [entry('/other', 'GET', 'x')] }),
        }),
        {
          name: 'keyed', api_id: 'keyed', org_id: 'default', use_keyless: false, active: true,
          auth: { auth_header_name: 'Authorization' },
          version_data: ext({
            transform: [entry('/meta', 'POST', 'tier={{._tyk_meta.tier}} n={{._tyk_meta.n}} big={{._tyk_meta.big}} sub=$tyk_meta.tier', { enable_session: true })],
            transform_response: [entry('/resp/json', 'GET', 'resp tier={{._tyk_meta.tier}} items={{len .items}}', { enable_session: true })],
          }),
          proxy: { listen_path: '/keyed/', target_url: up.url, strip_listen_path: true },
        },
      ],
    });
    const r = await gw.admin('POST', '/tyk/keys/create', {
      org_id: 'default', meta_data: { tier: 'gold', n: 5, big: 2000000 },
      access_rights: { keyed: { api_id: 'keyed', api_name: 'keyed', versions: ['Default'] } },
    });
    assert.equal(r.status, 200, r.text);
    key = JSON.parse(r.text).key;
  });
  after(async () => {
    release();
    await gw?.stop(); await up?.close(); await streamUp?.close();
    if (tplDir) fs.rmSync(tplDir, { recursive: true, force: true });
  });

  const post = (p, body, headers = {}) => gw.get(p, { method: 'POST', body, headers });
  const seen = (r) => { assert.equal(r.status, 200, r.text); return JSON.parse(r.text); };

  it('JSON body: the upstream gets the template output with its Content-Length; numbers print as Go float64', T(async () => {
    const s = seen(await post('/tx/json', '{"name":"Ada","n":3,"big":1000000,"neg":-2.5}', { 'Content-Type': 'application/json' }));
    const want = '{"user": "Ada", "n": 3, "big": 1e+06, "neg": -2.5}';
    assert.equal(s.body, want);
    assert.equal(s.headers['content-length'], String(Buffer.byteLength(want)));
    assert.equal(s.headers['content-type'], 'application/json', 'headers are left alone');
  }));

  it('a chunked request body is transformed and sent with a Content-Length', T(async () => {
    const r = await gw.get('/tx/json', { method: 'POST', body: '{"name":"Bo","n":1,"big":2,"neg":0}', chunked: true, headers: { 'Transfer-Encoding': 'chunked' } });
    const s = seen(r);
    assert.equal(s.body, '{"user": "Bo", "n": 1, "big": 2, "neg": 0}');
    assert.equal(s.headers['content-length'], String(Buffer.byteLength(s.body)));
  }));

  it('XML input: attributes as "-name", repeated elements as lists', T(async () => {
    const s = seen(await post('/tx/xml', '<user id="7"><name>Ada</name><tag>a</tag><tag>b</tag></user>'));
    assert.equal(s.body, 'Ada-7-[a][b]');
  }));

  it('a top-level JSON array is .array', T(async () => {
    assert.equal(seen(await post('/tx/array', '[{"a":1},{"a":2.5}]')).body, '1,2.5,');
  }));

  it('an empty body reads as {}', T(async () => {
    const s = seen(await post('/tx/empty', ''));
    assert.equal(s.body, 'keys=0');
    assert.equal(s.headers['content-length'], '6');
  }));

  it('template_mode file reads the template from disk', T(async () => {
    assert.equal(seen(await post('/tx/file', '{"greeting":"hi"}')).body, 'file says hi');
  }));

  it('a method that does not match leaves the body untouched', T(async () => {
    const s = seen(await gw.get('/tx/json', { method: 'PUT', body: '{"name":"Ada"}' }));
    assert.equal(s.body, '{"name":"Ada"}');
    assert.equal(s.headers['content-length'], '14');
  }));

  it('a body that does not parse goes upstream untouched, with "Body transform failure" logged', T(async () => {
    const s = seen(await post('/tx/notjson', 'this is not json'));
    assert.equal(s.body, 'this is not json');
    await waitFor(() => /Body transform failure/.test(gw.logs()), { timeoutMs: 3000, what: 'failure log line' });
  }));

  it('an input_type other than json/xml: the original body goes upstream', T(async () => {
    assert.equal(seen(await post('/tx/badinput', '{"a":1}')).body, '{"a":1}');
    await waitFor(() => /unsupported request input type: yaml/.test(gw.logs()), { timeoutMs: 3000, what: 'input type log' });
  }));

  it('a template failing at request time: the ORIGINAL body goes upstream', T(async () => {
    const s = seen(await post('/tx/fails', '{"list":[1,2]}'));
    assert.equal(s.body, '{"list":[1,2]}');
    assert.equal(s.headers['content-length'], '14');
    await waitFor(() => /Body transform failure: failed to apply template to request/.test(gw.logs()), { timeoutMs: 3000, what: 'exec failure log' });
  }));

  it('$tyk_context in the output is "" without enable_context_vars; ._tyk_context absent', T(async () => {
    assert.equal(seen(await post('/tx/vars', '{}')).body, 'path= ctx=<no value>');
  }));

  it('with enable_context_vars: ._tyk_context and $tyk_context.* in the output', T(async () => {
    assert.equal(seen(await post('/ctx/vars', '{}')).body, 'path=%2Fctx%2Fvars ctx=/ctx/vars');
  }));

  it('enable_session: ._tyk_meta is the key\'s meta_data (numbers as float64) and $tyk_meta.* is replaced', T(async () => {
    const s = seen(await post('/keyed/meta', '{}', { Authorization: key }));
    assert.equal(s.body, 'tier=gold n=5 big=2e+06 sub=gold');
    assert.equal(s.headers['content-length'], String(Buffer.byteLength(s.body)));
  }));

  it('response: a JSON upstream body becomes the template output, with the new Content-Length', T(async () => {
    const r = await gw.get('/tx/resp/json');
    assert.equal(r.status, 200);
    assert.equal(r.text, '{"count": 3, "who": "Ada", "big": 1e+06}');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.text)));
    assert.equal(r.headers['x-up'], 'yes', 'upstream headers kept');
  }));

  it('response: top-level array, XML, and a body that does not parse (empty map)', T(async () => {
    assert.equal((await gw.get('/tx/resp/array')).text, '<a><b>');
    assert.equal((await gw.get('/tx/resp/xml')).text, 'order 9: x;y;');
    assert.equal((await gw.get('/tx/resp/notjson')).text, 'keys=0');
  }));

  it('response: a template failing at execution returns what it wrote before the error', T(async () => {
    const r = await gw.get('/tx/resp/partial');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'before ');
    assert.equal(r.headers['content-length'], '7');
    await waitFor(() => /Failed to apply template to request/.test(gw.logs()), { timeoutMs: 3000, what: 'response failure log' });
  }));

  it('response: enable_session gives ._tyk_meta', T(async () => {
    const r = await gw.get('/keyed/resp/json', { headers: { Authorization: key } });
    assert.equal(r.text, 'resp tier=gold items=3');
  }));

  it('response: gzip and deflate bodies are inflated, transformed and compressed again', T(async () => {
    for (const enc of ['gzip', 'deflate']) {
      const r = await gw.get('/tx/resp/json', { headers: { 'X-Encode': enc, 'Accept-Encoding': enc } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], enc);
      assert.equal(r.headers['content-length'], String(r.body.length));
      const plain = enc === 'gzip' ? zlib.gunzipSync(r.body) : zlib.inflateRawSync(r.body);
      assert.equal(plain.toString(), '{"count": 3, "who": "Ada", "big": 1e+06}');
    }
  }));

  it('with turnpike_skip_bad_templates, a template that fails to load skips only that entry (logged with API, version, kind, index); the API loads', T(async () => {
    const logs = gw.logs();
    const line = (kind, i) => new RegExp(`API broken: version Default: ${kind}\\[${i}\\].*Template load failure! Skipping transformation: `);
    assert.match(logs, line('transform', 0));
    assert.match(logs, line('transform', 2));
    assert.match(logs, /transform\[3\].*No valid template mode defined, must be either 'file' or 'blob'/);
    assert.match(logs, /transform\[4\].*missing\.tmpl/);
    assert.match(logs, line('transform_response', 0));
    // the next entry for the same path applies; skipped ones leave the body alone
    assert.equal(seen(await post('/broken/same', '{"a":"A"}')).body, 'second A');
    assert.equal(seen(await post('/broken/badb64', '{"a":1}')).body, '{"a":1}');
    assert.equal(seen(await post('/broken/badmode', '{"a":1}')).body, '{"a":1}');
    const r = await gw.get('/broken/resp/json');
    assert.equal(r.text, UPSTREAM_ANSWERS['/resp/json'].body, 'skipped response transform: upstream body as is');
  }));

  it('a response on an endpoint without transform_response still streams', T(async () => {
    const u = new URL(gw.url + '/stream/feed');
    let got = '';
    const res = await new Promise((resolve, reject) => {
      const req = http.get({ hostname: u.hostname, port: u.port, path: u.pathname, agent: false }, resolve);
      req.on('error', reject);
    });
    res.setEncoding('utf8');
    res.on('data', (d) => { got += d; });
    const ended = new Promise((r) => res.on('end', r));
    await waitFor(() => got.includes('first chunk'), { timeoutMs: 3000, what: 'first chunk before the upstream ends' });
    assert.ok(!got.includes('last chunk'));
    release();
    await ended;
    assert.equal(got, 'first chunk\nlast chunk\n');
  }));
});

describe('body transforms: a template that does not load rejects its API (the default)', () => {
  let up, gw;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      apis: [
        keylessApi({ api_id: 'badreq', listen_path: '/badreq/', target_url: up.url,
          version_data: ext({ transform: [entry('/ok', 'POST', 'fine {{.a}}'), entry('/same', 'POST', 'first {{if}}')] }) }),
        keylessApi({ api_id: 'badresp', listen_path: '/badresp/', target_url: up.url,
          version_data: ext({ transform_response: [entry('/resp/json', 'GET', '{{.nope')] }) }),
        keylessApi({ api_id: 'good', listen_path: '/good/', target_url: up.url,
          version_data: ext({ transform: [entry('/x', 'POST', 'got {{.a}}')] }) }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('the bad APIs are refused at load, naming version, kind, index and path; the good one serves', T(async () => {
    const logs = gw.logs();
    assert.match(logs, /API badreq: version Default: transform\[1\] \(POST \/same\): invalid template: /);
    assert.match(logs, /API badresp: version Default: transform_response\[0\] \(GET \/resp\/json\): invalid template: /);
    assert.equal((await gw.get('/badreq/ok')).status, 404);
    assert.equal((await gw.get('/badresp/resp/json')).status, 404);
    const r = await gw.get('/good/x', { method: 'POST', body: '{"a":"A"}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).bodyLength, 5); // "got A" reached the upstream
  }));
});
