// SPDX-License-Identifier: Apache-2.0
// Per-pump filters (skip lists first, then allow lists) and record shaping, as Tyk Pump does.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRedis } from '../lib/redis.mjs';
import { waitFor, sleep } from '../lib/procs.mjs';
import { startPump, makeRecord, pushRecords, readCsvDir, tempDir } from '../lib/pump.mjs';

describe('pump: filters', () => {
  let redis, pump, base;
  before(async () => {
    redis = await startRedis();
    base = tempDir();
    pump = await startPump({
      redis,
      conf: { omit_detailed_recording: false },
      pumps: {
        org1only: { type: 'csv', meta: { csv_dir: path.join(base, 'a') }, filters: { org_ids: ['org1'], skip_response_codes: [500] } },
        noapi2: { type: 'csv', meta: { csv_dir: path.join(base, 'b') }, filters: { skip_api_ids: ['api2'] }, ignore_fields: ['api_key'], omit_detailed_recording: true },
        codes: { type: 'csv', meta: { csv_dir: path.join(base, 'c') }, filters: { response_codes: [404] }, raw_request_decoded: true },
      },
    }).then((p) => p.ready());
  });
  after(async () => { await pump?.stop(); await redis?.stop(); });

  it('each sink gets only what its filters let through, shaped its way', async () => {
    const recs = [
      makeRecord(0, { OrgID: 'org1', APIID: 'api1', ResponseCode: 200 }),
      makeRecord(1, { OrgID: 'org1', APIID: 'api2', ResponseCode: 500 }),
      makeRecord(2, { OrgID: 'org2', APIID: 'api1', ResponseCode: 404 }),
      makeRecord(3, { OrgID: 'org1', APIID: 'api2', ResponseCode: 404 }),
    ];
    await pushRecords(redis, 'analytics-tyk-system-analytics', recs);
    await waitFor(async () => {
      const s = (await pump.stats()).sinks;
      return s.ORG1ONLY.in === 4 && s.NOAPI2.in === 4 && s.CODES.in === 4 && s.CODES.lag === 0 && s.NOAPI2.lag === 0 && s.ORG1ONLY.lag === 0;
    }, { timeoutMs: 10000, what: 'all sinks caught up' });
    await sleep(200);
    const paths = (d) => readCsvDir(path.join(base, d)).map((r) => r.Path).sort();
    assert.deepEqual(paths('a'), ['/r/0', '/r/3']);
    assert.deepEqual(paths('b'), ['/r/0', '/r/2']);
    assert.deepEqual(paths('c'), ['/r/2', '/r/3']);
    const b = readCsvDir(path.join(base, 'b'));
    assert.equal(b[0].APIKey, '');
    assert.equal(b[0].RawRequest, '');
    const a = readCsvDir(path.join(base, 'a'));
    assert.equal(a[0].APIKey, 'key-1');
    assert.equal(a[0].RawRequest, Buffer.from('GET / HTTP/1.1\r\n\r\n').toString('base64'));
    const c = readCsvDir(path.join(base, 'c'));
    assert.equal(c[0].RawRequest, 'GET / HTTP/1.1\r\n\r\n');
    const st = (await pump.stats()).sinks;
    assert.equal(st.ORG1ONLY.skipped, 2);
    assert.equal(st.ORG1ONLY.written, 2);
    assert.equal(st.NOAPI2.skipped, 2);
  });
});
