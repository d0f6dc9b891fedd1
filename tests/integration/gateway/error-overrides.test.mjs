// SPDX-License-Identifier: Apache-2.0
// error_overrides (tyk.conf and API definition): rules keyed by status or class ("4xx"),
// matched by flag / message_pattern / body_field, answering with status_code, body (literal or
// {{.StatusCode}}/{{.Message}} template), message (default error template) and headers; applied to
// gateway errors and to upstream 4xx/5xx; API rules before the gateway's; after
// override_messages; rules that do not compile are logged and skipped (the API loads).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, withLogs, keylessApi } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { waitFor } from '../lib/procs.mjs';

const keyed = (id, target, extra = {}) => ({
  name: id, api_id: id, org_id: 'default', use_keyless: false, active: true,
  auth: { auth_header_name: 'Authorization' },
  version_data: { not_versioned: true, default_version: 'Default', versions: { Default: { name: 'Default' } } },
  proxy: { listen_path: `/${id}/`, target_url: target, strip_listen_path: true },
  ...extra,
});

describe('error_overrides', () => {
  let gw, up;
  const T = withLogs(() => gw);
  before(async () => {
    // /fail/<code>?body=... answers <code> with that body; anything else 200.
    up = await startUpstream((req, res) => {
      const u = new URL(req.url, 'http://x');
      const m = u.pathname.match(/\/fail\/(\d+)/);
      const body = u.searchParams.get('body') ?? 'upstream says no';
      res.writeHead(m ? Number(m[1]) : 200, { 'Content-Type': 'text/plain', 'X-Up': '1' });
      res.end(m ? body : 'ok');
    });
    gw = await startGateway({
      conf: {
        turnpike_skip_bad_templates: true, // Tyk's way with bad rules; the default rejects the API
        // override_messages runs first: the missing-key 401 becomes 419 before rules match.
        override_messages: { 'auth.auth_field_missing': { message: 'Show your key', code: 419 } },
        error_overrides: {
          419: [{ match: { message_pattern: '^Show' }, response: { status_code: 401, body: '{"gw":"global 419"}' } }],
          '5xx': [{ match: { flag: 'URS' }, response: { status_code: 502, message: 'Upstream <broke>' } }],
        },
      },
      apis: [
        keyed('auth', up.url, {
          error_overrides: {
            403: [{
              response: {
                status_code: 401, body: '{"code":"KEY_INVALID"}',
                headers: { 'WWW-Authenticate': 'Bearer realm="api"', 'X-Err': 'key' },
              },
            }],
          },
        }),
        keyed('tmpl', up.url, {
          error_overrides: {
            '4xx': [
              { match: { message_pattern: 'disallowed' }, response: { body: '{"status":{{.StatusCode}},"msg":"{{.Message}}"}' } },
              { match: { message_pattern: 'nothing-like-this' }, response: { status_code: 400, body: 'never' } },
            ],
          },
        }),
        keylessApi({
          api_id: 'up', listen_path: '/up/', target_url: up.url,
          error_overrides: {
            500: [
              { match: { body_field: 'error.code', body_value: 'DB_DOWN' }, response: { status_code: 503, body: '{"error":"database"}', headers: { 'Retry-After': '30' } } },
              { match: { message_pattern: 'stack trace' }, response: { body: '{"error":"internal"}' } },
            ],
            404: [{ response: { headers: { 'X-Missing': 'yes' } } }],
          },
        }),
        keyed('flag', up.url, {
          error_overrides: {
            403: [
              { match: { flag: 'RLT' }, response: { body: 'rate limited' } },
              { match: { flag: 'AKI' }, response: { status_code: 401, body: 'invalid key (AKI)' } },
            ],
          },
        }),
        keylessApi({ api_id: 'plain', listen_path: '/plain/', target_url: up.url }),
        keylessApi({
          api_id: 'off', listen_path: '/off/', target_url: up.url, error_overrides_disabled: true,
          error_overrides: { 500: [{ response: { status_code: 418, body: 'api rule' } }] },
        }),
        keyed('badrule', up.url, {
          error_overrides: {
            '4xx': [
              { match: { message_pattern: '[unclosed(' }, response: { body: 'bad regex' } },
              { response: { body: '{{.Broken', status_code: 400 } },
              { response: { status_code: 499, body: 'the good rule' } },
            ],
            abc: [{ response: { body: 'bad key' } }],
          },
        }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('a gateway 403 for an unknown key → custom JSON body, status and headers', T(async () => {
    const r = await gw.get('/auth/x', { headers: { Authorization: 'no-such-key' } });
    assert.equal(r.status, 401);
    assert.equal(r.text, '{"code":"KEY_INVALID"}');
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="api"');
    assert.equal(r.headers['x-err'], 'key');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-generator'], 'tyk.io');
  }));

  it('override_messages applies first; the gateway rule then matches the new code and message', T(async () => {
    const r = await gw.get('/auth/x');
    assert.equal(r.status, 401);
    assert.equal(r.text, '{"gw":"global 419"}');
    // API rules come before the gateway's: an API class rule (4xx) beats the gateway's exact 419.
    const p = await gw.get('/badrule/x');
    assert.equal(p.status, 499);
    assert.equal(p.text, 'the good rule');
  }));

  it('match.flag: the error classification of a gateway error (AKI: unknown key)', T(async () => {
    const r = await gw.get('/flag/x', { headers: { Authorization: 'unknown' } });
    assert.equal(r.status, 401);
    assert.equal(r.text, 'invalid key (AKI)');
  }));

  it('class rule 4xx: message_pattern match → inline template with the error fields', T(async () => {
    const r = await gw.get('/tmpl/x', { headers: { Authorization: 'unknown' } });
    assert.equal(r.status, 403);
    assert.deepEqual(r.json(), { status: 403, msg: 'Access to this API has been disallowed' });
  }));

  it('class rule whose patterns do not match leaves the error as it was', T(async () => {
    // 401 missing key → override_messages 419 "Show your key" → matches no tmpl rule → global 419 rule.
    const r = await gw.get('/tmpl/x');
    assert.equal(r.status, 401);
    assert.equal(r.text, '{"gw":"global 419"}');
  }));

  it('upstream 500 rewritten by body_field; fallback rule by message_pattern; unmatched untouched', T(async () => {
    const db = await gw.get(`/up/fail/500?body=${encodeURIComponent('{"error":{"code":"DB_DOWN"}}')}`);
    assert.equal(db.status, 503);
    assert.equal(db.text, '{"error":"database"}');
    assert.equal(db.headers['retry-after'], '30');
    assert.equal(db.headers['content-type'], 'application/json');
    assert.equal(db.headers['content-length'], String('{"error":"database"}'.length));
    const st = await gw.get(`/up/fail/500?body=${encodeURIComponent('boom\nstack trace here')}`);
    assert.equal(st.status, 500);
    assert.equal(st.text, '{"error":"internal"}');
    // No API rule matches → the gateway rule (flag URS: any upstream 5xx) → message in error template.
    const other = await gw.get('/up/fail/500?body=fine');
    assert.equal(other.status, 502);
    assert.deepEqual(other.json(), { error: 'Upstream <broke>' });
  }));

  it('a headers-only rule keeps the upstream body; 2xx responses are never touched', T(async () => {
    const nf = await gw.get('/up/fail/404?body=gone');
    assert.equal(nf.status, 404);
    assert.equal(nf.text, 'gone');
    assert.equal(nf.headers['x-missing'], 'yes');
    assert.equal(nf.headers['x-up'], '1');
    const ok = await gw.get('/up/fine');
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'ok');
    assert.equal(ok.headers['x-missing'], undefined);
  }));

  it('gateway rules apply to every API; error_overrides_disabled turns off only the API rules', T(async () => {
    const p = await gw.get('/plain/fail/503?body=x');
    assert.equal(p.status, 502);
    const off = await gw.get('/off/fail/500?body=x');
    assert.equal(off.status, 502, 'the API rule (418) is disabled; the global 5xx rule applies');
    const plain4 = await gw.get('/plain/fail/409?body=conflict');
    assert.equal(plain4.status, 409);
    assert.equal(plain4.text, 'conflict');
  }));

  it('with turnpike_skip_bad_templates, rules that do not compile are logged and skipped (as Tyk); the API loads with the good rule', T(async () => {
    await waitFor(() => /error_overrides\["4xx"\]\[0\].*invalid match pattern/.test(gw.logs()), { timeoutMs: 5000 });
    assert.match(gw.logs(), /error_overrides\["4xx"\]\[1\].*invalid body template/);
    assert.match(gw.logs(), /unrecognized status code format "abc"/);
    const r = await gw.get('/badrule/x', { headers: { Authorization: 'unknown' } });
    assert.equal(r.status, 499);
    assert.equal(r.text, 'the good rule');
  }));

  it('XML requests get the message in the XML error template', T(async () => {
    const r = await gw.get('/up/fail/502?body=x', { headers: { 'Content-Type': 'text/xml' } });
    assert.equal(r.status, 502);
    assert.equal(r.headers['content-type'], 'text/xml');
    assert.match(r.text, /<error>Upstream &lt;broke&gt;<\/error>/);
  }));
});

describe('error_overrides: a rule that does not compile rejects its API (the default)', () => {
  let up, gw;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      apis: [
        keyed('badregex', up.url, { error_overrides: { '4xx': [{ match: { message_pattern: '[unclosed(' }, response: { body: 'x' } }] } }),
        keyed('badtmpl', up.url, { error_overrides: { 401: [{ response: { body: '{{.Broken', status_code: 400 } }] } }),
        keyed('badkey', up.url, { error_overrides: { abc: [{ response: { body: 'x' } }] } }),
        keyed('good', up.url, { error_overrides: { 401: [{ response: { status_code: 499, body: 'good rule' } }] } }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('each bad API is refused at load with a message naming the rule; the good one serves', T(async () => {
    const logs = gw.logs();
    assert.match(logs, /API badregex: error_overrides\["4xx"\]\[0\]: .*invalid match pattern/);
    assert.match(logs, /API badtmpl: error_overrides\["401"\]\[0\]: .*invalid body template/);
    assert.match(logs, /API badkey: error_overrides: unrecognized status code format "abc"/);
    for (const id of ['badregex', 'badtmpl', 'badkey']) assert.equal((await gw.get(`/${id}/x`)).status, 404, id);
    const r = await gw.get('/good/x');
    assert.equal(r.status, 499);
    assert.equal(r.text, 'good rule');
  }));
});
