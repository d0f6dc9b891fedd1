// SPDX-License-Identifier: Apache-2.0
// Shared set-up for the dashboard suites that go through a gateway's control API (keys, OAuth
// clients, certificates): one Redis shared by a real gateway and a dashboard whose
// tyk_api_config names that gateway, and a helper that creates an API on both sides.
import { startDashboard } from '../lib/dashboard.mjs';
import { startGateway, keylessApi, deepMerge, SECRET } from '../lib/gateway.mjs';
import { startRedis } from '../lib/redis.mjs';

export async function startDashWithGateway(storage, { gwConf = {}, dashConf = {}, gwApis = [] } = {}) {
  const redis = await startRedis();
  let gw, dash;
  try {
    gw = await startGateway({ redis, conf: gwConf, apis: gwApis });
    dash = await startDashboard({
      storage, redis,
      conf: deepMerge({ tyk_api_config: { Host: 'http://127.0.0.1', Port: String(gw.port), Secret: SECRET } }, dashConf),
    });
  } catch (e) {
    await gw?.stop().catch(() => {});
    await redis.stop().catch(() => {});
    throw e;
  }
  return {
    redis, gw, dash,
    async stop() {
      await dash?.stop().catch(() => {});
      await gw?.stop().catch(() => {});
      await redis.stop().catch(() => {});
    },
  };
}

/* A key-protected classic API definition of @org. */
export function authApi(org, apiId, listenPath, targetUrl, extra = {}) {
  return keylessApi({
    api_id: apiId, listen_path: listenPath, target_url: targetUrl, use_keyless: false,
    name: `api ${apiId}`, ...extra, org_id: org.orgId,
  });
}

/* Creates @def in the dashboard (POST /api/apis as the org's user; the Admin import when that
 * route is absent) and on the gateway (apps file + reload, since dashboard-mode sync is not
 * what these suites test). */
export async function addApi(env, org, def) {
  let r = await env.dash.api(org.key, 'POST', '/api/apis', { api_definition: def });
  if (r.status !== 200) {
    const first = `${r.status} ${r.text}`;
    r = await env.dash.admin('POST', '/admin/apis/import', { apis: [{ api_definition: def }] });
    if (r.status !== 200) throw new Error(`cannot create API in the dashboard: /api/apis ${first}; import ${r.status} ${r.text}`);
  }
  env.gw.writeApi(def);
  await env.gw.reload();
}
