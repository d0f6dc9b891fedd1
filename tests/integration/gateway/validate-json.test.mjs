// SPDX-License-Identifier: Apache-2.0
// extended_paths.validate_json: a matching request's body is checked against the entry's JSON
// Schema (draft 4). Valid bodies reach the upstream unchanged; invalid ones answer 422 (or
// error_response_code) with gojsonschema's messages joined by "; "; non-JSON answers 400
// "JSON parsing error: ..."; schema_b64 works like schema; another method is not validated;
// an API with an invalid schema is refused at load while the others serve.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const ext = (paths) => ({
  not_versioned: true, default_version: 'Default',
  versions: { Default: { name: 'Default', use_extended_paths: true, extended_paths: paths } },
});

// The schema of Tyk's own validate_json test.
const person = {
  title: 'Person', type: 'object',
  properties: {
    firstName: { type: 'string' }, lastName: { type: 'string' },
    age: { description: 'Age in years', type: 'integer', minimum: 0 },
    objs: { enum: ['a', 'b', 'c'], type: 'string' },
  },
  required: ['firstName', 'lastName'],
};
const tree = {
  type: 'object', required: ['name'],
  properties: { name: { type: 'string' }, kids: { type: 'array', items: { $ref: '#' } } },
};
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('validate_json', () => {
  let gw, up;
  const T = withLogs(() => gw);
  const post = (p, body, headers = { 'Content-Type': 'application/json' }) =>
    gw.get(p, { method: 'POST', body, headers });
  const errorOf = (r) => JSON.parse(r.text).error;

  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      apis: [
        keylessApi({
          api_id: 'vj', listen_path: '/vj/', target_url: up.url,
          version_data: ext({
            validate_json: [
              { path: '/person', method: 'POST', schema: person },
              { path: '/coded', method: 'PUT', schema: person, error_response_code: 406 },
              { path: '/b64', method: 'POST', schema_b64: b64({ type: 'array', maxItems: 2 }) },
              { path: '/tree', method: 'POST', schema: tree },
              { path: '/draft7', method: 'POST',
                schema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' } },
              { path: '/off', method: 'POST', schema: person, disabled: true },
            ],
          }),
        }),
        keylessApi({
          api_id: 'vj-bad', listen_path: '/vj-bad/', target_url: up.url,
          version_data: ext({
            validate_json: [{ path: '/x', method: 'POST',
              schema: { properties: { age: { minimum: 'zero' } } } }],
          }),
        }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  it('a valid body reaches the upstream byte for byte', T(async () => {
    const text = '{ "firstName": "Harry",\n  "lastName": "Potter", "age": 23.0 }';
    const n = up.requests.length;
    const r = await post('/vj/person', text);
    assert.equal(r.status, 200);
    assert.equal(up.requests.length, n + 1);
    assert.equal(up.requests[n].body.toString(), text);
  }));

  it('an invalid body answers 422 with Tyk\'s messages, and the upstream is not called', T(async () => {
    const n = up.requests.length;
    const r = await post('/vj/person', '{"age":23}');
    assert.equal(r.status, 422);
    assert.match(r.headers['content-type'], /application\/json/);
    assert.equal(errorOf(r), 'firstName: firstName is required; lastName: lastName is required');
    assert.equal(errorOf(await post('/vj/person', '[]')),
      '(root): Invalid type. Expected: object, given: array');
    assert.equal(errorOf(await post('/vj/person', '{"firstName":"H","lastName":"P","objs":"d"}')),
      'objs: objs must be one of the following: "a", "b", "c"');
    assert.equal(errorOf(await post('/vj/person', '{"firstName":"H","lastName":"P","age":"x"}')),
      'age: Invalid type. Expected: integer, given: string');
    assert.equal(errorOf(await post('/vj/tree', '{"name":"r","kids":[{"name":"a"},{"name":5}]}')),
      'kids.1.name: Invalid type. Expected: string, given: integer');
    assert.equal(up.requests.length, n);
  }));

  it('error_response_code replaces 422', T(async () => {
    const r = await gw.get('/vj/coded', { method: 'PUT', body: '{}' });
    assert.equal(r.status, 406);
    assert.equal(errorOf(r), 'firstName: firstName is required; lastName: lastName is required');
  }));

  it('a body that is not JSON answers 400 "JSON parsing error"', T(async () => {
    const r = await post('/vj/person', 'not_json');
    assert.equal(r.status, 400);
    assert.match(errorOf(r), /^JSON parsing error: ./);
    const empty = await post('/vj/person', '');
    assert.equal(empty.status, 400);
    assert.equal(errorOf(empty), 'JSON parsing error: EOF');
  }));

  it('schema_b64 is decoded and enforced', T(async () => {
    assert.equal((await post('/vj/b64', '[1,2]')).status, 200);
    const r = await post('/vj/b64', '[1,2,3]');
    assert.equal(r.status, 422);
    assert.equal(errorOf(r), '(root): Array must have at most 2 items');
  }));

  it('another method, another path or a disabled entry is not validated', T(async () => {
    const n = up.requests.length;
    assert.equal((await gw.get('/vj/person', { method: 'PUT', body: 'not_json' })).status, 200);
    assert.equal((await post('/vj/elsewhere', 'not_json')).status, 200);
    assert.equal((await post('/vj/off', '{}')).status, 200);
    assert.equal(up.requests.length, n + 3);
  }));

  it('a $schema other than draft 4 is refused per request, as Tyk does', T(async () => {
    const r = await post('/vj/draft7', '{}');
    assert.equal(r.status, 500);
    assert.equal(errorOf(r), 'unsupported schema, unable to validate');
  }));

  it('a large chunked body is validated and then proxied intact', T(async () => {
    const kids = Array.from({ length: 5000 }, (_, i) => ({ name: `k${i}`, kids: [] }));
    const text = JSON.stringify({ name: 'root', kids });
    const n = up.requests.length;
    const r = await gw.get('/vj/tree', { method: 'POST', body: text, chunked: true,
      headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } });
    assert.equal(r.status, 200);
    assert.equal(up.requests[n].bodySha256, crypto.createHash('sha256').update(text).digest('hex'));
  }));

  it('an API whose schema is invalid is refused at load; the others serve', T(async () => {
    assert.match(gw.logs(), /vj-bad: version Default: validate_json\[0\] \(POST \/x\): invalid schema: #\/properties\/age\/minimum: minimum must be a number/);
    const r = await post('/vj-bad/x', '{}');
    assert.equal(r.status, 404);
    assert.equal((await post('/vj/person', '{"firstName":"a","lastName":"b"}')).status, 200);
    assert.doesNotMatch(gw.logs(), /Sanitizer|runtime error/);
  }));
});
