// SPDX-License-Identifier: Apache-2.0
// Writes RPUSH commands (RESP, for `redis-cli --pipe`) that fill Tyk's analytics list with N
// realistic analytics records: msgpack maps keyed by Tyk's Go field names, time as [sec, nsec],
// a mix of APIs, keys, paths, methods and status codes, detailed recording off (as by default).
//   node bench/pump-fill.mjs <count> [list] | redis-cli -p <port> --pipe
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/integration/package.json'));
const { encode } = require('@msgpack/msgpack');

const N = Number(process.argv[2] || 200000);
const LIST = process.argv[3] || 'analytics-tyk-system-analytics';
const PER_CMD = 500;
const apis = ['payments', 'orders', 'users', 'search', 'inventory'];
const codes = [200, 200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 403, 404, 429, 500, 502];
const methods = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const agents = ['curl/8.5.0', 'okhttp/4.12.0', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0'];
const now = Math.floor(Date.now() / 1000);

function record(i) {
  const api = apis[i % apis.length];
  const sec = now - 3600 + Math.floor(i / 50);
  const d = new Date(sec * 1000);
  const total = 3 + (i * 7) % 180;
  return {
    Method: methods[i % methods.length],
    Host: `${api}.internal:8080`,
    Path: `/${api}/v1/items/${i % 1000}`,
    RawPath: `/${api}/v1/items/${i % 1000}`,
    ContentLength: (i * 13) % 4096,
    UserAgent: agents[i % agents.length],
    Day: d.getDate(), Month: d.getMonth() + 1, Year: d.getFullYear(), Hour: d.getHours(),
    ResponseCode: codes[i % codes.length],
    APIKey: `5d9f${(i % 200).toString(16).padStart(4, '0')}e3c0b2a1`,
    TimeStamp: [sec, (i * 1000003) % 1000000000],
    APIVersion: 'Default',
    APIName: `${api[0].toUpperCase()}${api.slice(1)} API`,
    APIID: `${api}-api-id`,
    OrgID: '5e9d9544a1dcd60001d0ed20',
    OauthID: '',
    RequestTime: total,
    RawRequest: '',
    RawResponse: '',
    IPAddress: `10.1.${(i >> 8) & 255}.${i & 255}`,
    Geo: { Country: { ISOCode: '' }, City: { GeoNameID: 0, Names: {} }, Location: { Latitude: 0, Longitude: 0, TimeZone: '' } },
    Network: { OpenConnections: 0, ClosedConnection: 0, BytesIn: 180 + (i % 300), BytesOut: 420 + (i % 900) },
    Latency: { Total: total, Upstream: total - 2, Gateway: 2 },
    Tags: [`key-5d9f${(i % 200).toString(16).padStart(4, '0')}`, 'org-5e9d9544a1dcd60001d0ed20', `api-${api}-api-id`],
    Alias: `client-${i % 200}`,
    TrackPath: i % 4 === 0,
    ExpireAt: [sec + 7 * 86400, 0],
    ApiSchema: '',
  };
}

const head = (n) => Buffer.from(`*${n}\r\n$5\r\nRPUSH\r\n$${Buffer.byteLength(LIST)}\r\n${LIST}\r\n`);
const out = [];
let size = 0;
function flush(force) {
  if (size >= 1 << 20 || (force && out.length)) {
    process.stdout.write(Buffer.concat(out));
    out.length = 0;
    size = 0;
  }
}
for (let i = 0; i < N; i += PER_CMD) {
  const n = Math.min(PER_CMD, N - i);
  out.push(head(n + 2));
  for (let k = 0; k < n; k++) {
    const b = Buffer.from(encode(record(i + k)));
    out.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    size += b.length + 16;
  }
  flush(false);
}
flush(true);
