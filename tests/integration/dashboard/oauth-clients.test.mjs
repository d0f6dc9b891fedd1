// SPDX-License-Identifier: Apache-2.0
// Dashboard OAuth clients (/api/apis/oauth/{apiId}...) through a real gateway's
// /tyk/oauth/clients, on SQLite and PostgreSQL: create, list, get, tokens, delete, validation,
// organisation isolation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapOrg, stopSharedPostgres, STORAGES } from '../lib/dashboard.mjs';
import { startUpstream } from '../lib/upstream.mjs';
import { startDashWithGateway, authApi, addApi } from './gateway-env.mjs';

after(stopSharedPostgres);

function oauthApi(org, apiId, target) {
  return authApi(org, apiId, `/${apiId}/`, target, {
    use_oauth2: true,
    oauth_meta: { allowed_access_types: ['authorization_code', 'client_credentials'], allowed_authorize_types: ['code'],
      auth_login_redirect: 'http://127.0.0.1:9/login' },
    notifications: { shared_secret: '', oauth_on_keychange_url: '' },
  });
}

for (const storage of STORAGES) {
  describe(`dashboard OAuth clients through a gateway (${storage})`, () => {
    let env, up, A, B, apiA, apiB;
    before(async () => {
      up = await startUpstream();
      env = await startDashWithGateway(storage);
      A = await bootstrapOrg(env.dash, { name: 'Org A' });
      B = await bootstrapOrg(env.dash, { name: 'Org B' });
      apiA = `oautha${storage}`;
      apiB = `oauthb${storage}`;
      await addApi(env, A, oauthApi(A, apiA, up.url));
      await addApi(env, B, oauthApi(B, apiB, up.url));
    });
    after(async () => { await env?.stop(); await up?.close(); });

    it('creates, lists, gets, lists tokens of and deletes a client', async () => {
      const c = await env.dash.api(A.key, 'POST', `/api/apis/oauth/${apiA}`, {
        redirect_uri: 'http://app.example.com/cb', description: 'app one', meta_data: { team: 'a' },
        api_id: apiB, // the URL's API wins
      });
      assert.equal(c.status, 200, c.text);
      const cl = c.json();
      assert.match(cl.client_id, /^[0-9a-f]{32}$/);
      assert.ok(cl.secret);
      assert.equal(cl.redirect_uri, 'http://app.example.com/cb');
      assert.deepEqual(cl.meta_data, { team: 'a' });
      const l = await env.dash.api(A.key, 'GET', `/api/apis/oauth/${apiA}`);
      assert.equal(l.status, 200, l.text);
      assert.deepEqual(l.json().apps.map((x) => x.client_id), [cl.client_id]);
      assert.equal(l.json().pages, 1);
      assert.deepEqual((await env.dash.api(A.key, 'GET', `/api/apis/oauth/${apiB}`)).status, 404,
        'org B\'s API is not org A\'s');
      const g = await env.dash.api(A.key, 'GET', `/api/apis/oauth/${apiA}/${cl.client_id}`);
      assert.equal(g.status, 200, g.text);
      assert.equal(g.json().secret, cl.secret);
      const t = await env.dash.api(A.key, 'GET', `/api/apis/oauth/${apiA}/${cl.client_id}/tokens`);
      assert.equal(t.status, 200, t.text);
      assert.deepEqual(t.json(), []);
      // The client is real: the gateway's own control API sees it under the API.
      const gw = await env.gw.admin('GET', `/tyk/oauth/clients/${apiA}/${cl.client_id}`);
      assert.equal(gw.status, 200, gw.text);
      const d = await env.dash.api(A.key, 'DELETE', `/api/apis/oauth/${apiA}/${cl.client_id}`);
      assert.equal(d.status, 200, d.text);
      assert.deepEqual(d.json(), { Status: 'OK', Message: 'OAuth Client deleted successfully', Meta: null });
      assert.equal((await env.dash.api(A.key, 'GET', `/api/apis/oauth/${apiA}/${cl.client_id}`)).status, 404);
      assert.deepEqual((await env.dash.api(A.key, 'GET', `/api/apis/oauth/${apiA}`)).json().apps, []);
    });

    it('pages clients', async () => {
      for (let i = 0; i < 11; i++) {
        const r = await env.dash.api(B.key, 'POST', `/api/apis/oauth/${apiB}`, { redirect_uri: `http://b${i}.example.com/` });
        assert.equal(r.status, 200, r.text);
      }
      const p1 = (await env.dash.api(B.key, 'GET', `/api/apis/oauth/${apiB}?p=1`)).json();
      assert.equal(p1.apps.length, 10);
      assert.equal(p1.pages, 2);
      assert.equal((await env.dash.api(B.key, 'GET', `/api/apis/oauth/${apiB}?p=2`)).json().apps.length, 1);
      assert.equal((await env.dash.api(B.key, 'GET', `/api/apis/oauth/${apiB}`)).json().apps.length, 11);
    });

    it('refuses bad requests and other organisations', async () => {
      const cases = [
        [{ client_id: 5 }, 400, /client_id must be a string/],
        [{ meta_data: 'x' }, 400, /meta_data must be an object/],
        [{ policy_id: 'no-such-policy' }, 400, /Policy does not exist/],
      ];
      for (const [body, status, msg] of cases) {
        const r = await env.dash.api(A.key, 'POST', `/api/apis/oauth/${apiA}`, body);
        assert.equal(r.status, status, `${JSON.stringify(body)} -> ${r.text}`);
        assert.match(r.json().Message, msg);
      }
      const bad = await env.dash.api(A.key, 'POST', `/api/apis/oauth/${apiA}`, '{"redirect_uri":', { headers: { 'content-type': 'application/json' } });
      assert.equal(bad.status, 400);
      assert.equal((await env.dash.api(A.key, 'POST', '/api/apis/oauth/nosuchapi', {})).status, 404);
      const c = await env.dash.api(A.key, 'POST', `/api/apis/oauth/${apiA}`, { redirect_uri: 'http://a.example.com/' });
      const id = c.json().client_id;
      for (const [m, p] of [['GET', `/api/apis/oauth/${apiA}`], ['GET', `/api/apis/oauth/${apiA}/${id}`],
        ['DELETE', `/api/apis/oauth/${apiA}/${id}`], ['GET', `/api/apis/oauth/${apiA}/${id}/tokens`],
        ['POST', `/api/apis/oauth/${apiA}`]]) {
        const r = await env.dash.api(B.key, m, p, m === 'POST' ? {} : undefined);
        assert.equal(r.status, 404, `${m} ${p} by org B: ${r.text}`);
      }
      assert.equal((await env.dash.api(A.key, 'GET', `/api/apis/oauth/${apiA}/${id}`)).status, 200, 'untouched');
      assert.equal((await env.dash.api(A.key, 'GET', `/api/apis/oauth/${apiA}/nosuchclient`)).status, 404);
    });
  });
}
