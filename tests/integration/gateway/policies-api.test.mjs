// SPDX-License-Identifier: Apache-2.0
// Policy control API /tyk/policies in policy_path file mode (spec/gateway.md §6.4): CRUD + reload.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, keylessApi, withLogs, makeTempDir } from '../lib/gateway.mjs';

const ERR = (message) => ({ status: 'error', message });

function assertJson(r, status, body) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  if (body !== undefined) assert.deepEqual(r.json(), body);
}

const policy = (id, extra = {}) => ({
  id, name: `policy ${id}`, org_id: 'default', rate: 10, per: 1, quota_max: -1,
  access_rights: { p1api: { api_id: 'p1api', versions: ['Default'] } }, active: true, ...extra,
});

describe('policies API (file mode)', () => {
  let gw, polDir;
  const T = withLogs(() => gw);

  before(async () => {
    polDir = makeTempDir('turnpike-pol-');
    fs.writeFileSync(path.join(polDir, 'seed.json'), JSON.stringify(policy('seed')));
    gw = await startGateway({
      conf: { policies: { policy_source: 'file', policy_path: polDir } },
      apis: [keylessApi({ api_id: 'p1api', listen_path: '/p1/', target_url: 'http://127.0.0.1:9' })],
    });
  });
  after(async () => { await gw?.stop(); fs.rmSync(polDir, { recursive: true, force: true }); });

  it('GET lists loaded policies and GET /{id} returns one; 404 otherwise', T(async () => {
    const r = await gw.admin('GET', '/tyk/policies');
    assertJson(r, 200);
    assert.ok(Array.isArray(r.json()));
    assert.ok(r.json().some((p) => p.id === 'seed'), r.text);
    const g = await gw.admin('GET', '/tyk/policies/seed');
    assertJson(g, 200);
    assert.equal(g.json().name, 'policy seed');
    assertJson(await gw.admin('GET', '/tyk/policies/nope'), 404, ERR('Policy not found'));
  }));

  it('POST writes <policy_path>/<id>.json, live only after reload', T(async () => {
    const r = await gw.admin('POST', '/tyk/policies', policy('newpol'));
    assertJson(r, 200, { key: 'newpol', status: 'ok', action: 'added' });
    const file = path.join(polDir, 'newpol.json');
    assert.ok(fs.existsSync(file));
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).name, 'policy newpol');
    assertJson(await gw.admin('GET', '/tyk/policies/newpol'), 404, ERR('Policy not found'));
    await gw.reload();
    const g = await gw.admin('GET', '/tyk/policies/newpol');
    assertJson(g, 200);
    assert.equal(g.json().rate, 10);
  }));

  it('PUT /{id} modifies; id mismatch → 400', T(async () => {
    const r = await gw.admin('PUT', '/tyk/policies/seed', policy('seed', { rate: 99 }));
    assertJson(r, 200, { key: 'seed', status: 'ok', action: 'modified' });
    await gw.reload();
    assert.equal((await gw.admin('GET', '/tyk/policies/seed')).json().rate, 99);
    assertJson(await gw.admin('PUT', '/tyk/policies/seed', policy('other')), 400,
      ERR('Request ID does not match that in policy! For Update operations these must match.'));
  }));

  it('DELETE /{id} removes the file; missing → 500 Delete failed', T(async () => {
    assertJson(await gw.admin('DELETE', '/tyk/policies/newpol'), 200, { key: 'newpol', status: 'ok', action: 'deleted' });
    assert.ok(!fs.existsSync(path.join(polDir, 'newpol.json')));
    await gw.reload();
    assertJson(await gw.admin('GET', '/tyk/policies/newpol'), 404, ERR('Policy not found'));
    assertJson(await gw.admin('DELETE', '/tyk/policies/newpol'), 500, ERR('Delete failed'));
  }));

  it('validation errors', T(async () => {
    assertJson(await gw.admin('POST', '/tyk/policies', '{'), 400, ERR('Request malformed'));
    assertJson(await gw.admin('POST', '/tyk/policies', { name: 'no id' }), 400, ERR('Unable to create policy without id.'));
    assertJson(await gw.admin('POST', '/tyk/policies', policy('bad/id')), 400,
      ERR('Invalid Policy ID: Allowed characters: a-z, A-Z, 0-9, ., _, -, ~'));
    assertJson(await gw.admin('PATCH', '/tyk/policies/seed'), 405, ERR('Method not supported'));
  }));
});
