// SPDX-License-Identifier: Apache-2.0
// IP allow and block lists (allowed_ips / blacklisted_ips): addresses and CIDR blocks, IPv4 and
// IPv6, the client address taken as Tyk's RealIP (X-Real-IP, else the first X-Forwarded-For
// entry, else the peer), 403 "access from this IP has been disallowed".
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, keylessApi, withLogs } from '../lib/gateway.mjs';
import { startUpstream } from '../lib/upstream.mjs';

const DENIED = { error: 'access from this IP has been disallowed' };

describe('IP allow and block lists', () => {
  let gw, up;
  const T = withLogs(() => gw);
  before(async () => {
    up = await startUpstream();
    const api = (id, extra) => keylessApi({ api_id: id, listen_path: `/${id}/`, target_url: up.url, ...extra });
    gw = await startGateway({
      apis: [
        api('allow', { enable_ip_whitelisting: true, allowed_ips: ['10.0.0.0/8', '2001:db8::/32', '127.0.0.1', '172.16.5.4'] }),
        api('allowother', { enable_ip_whitelisting: true, allowed_ips: ['10.0.0.0/8'] }),
        api('block', { enable_ip_blacklisting: true, blacklisted_ips: ['192.168.0.0/16', '::1', 'bob', '203.0.113.7'] }),
        api('both', {
          enable_ip_whitelisting: true, allowed_ips: ['10.0.0.0/8', '127.0.0.1'],
          enable_ip_blacklisting: true, blacklisted_ips: ['10.1.0.0/16'],
        }),
        api('acdisabled', { ip_access_control_disabled: true, enable_ip_whitelisting: false, allowed_ips: ['10.0.0.0/8'] }),
        api('noflag', { allowed_ips: ['10.0.0.0/8'] }),
        api('flagnolist', { enable_ip_whitelisting: true, allowed_ips: [] }),
      ],
    });
  });
  after(async () => { await gw?.stop(); await up?.close(); });

  const get = (path, headers = {}) => gw.get(path, { headers });

  it('allowed_ips: the peer address, X-Real-IP and CIDR blocks are admitted', T(async () => {
    up.reset();
    assert.equal((await get('/allow/x')).status, 200, 'peer 127.0.0.1 is listed');
    assert.equal((await get('/allow/x', { 'X-Real-IP': '10.200.3.4' })).status, 200);
    assert.equal((await get('/allow/x', { 'X-Real-IP': '172.16.5.4' })).status, 200);
    assert.equal((await get('/allow/x', { 'X-Real-IP': '::ffff:10.0.0.1' })).status, 200, 'IPv4-mapped IPv6 is the same address');
    assert.equal((await get('/allow/x', { 'X-Real-IP': '2001:db8:ffff::1' })).status, 200);
    assert.equal((await get('/allow/x', { 'X-Forwarded-For': '10.9.9.9, 1.1.1.1' })).status, 200);
    assert.equal(up.requests.length, 6);
  }));

  it('allowed_ips: anything else gets 403 with Tyk\'s message, and the upstream is not called', T(async () => {
    up.reset();
    for (const h of [
      { 'X-Real-IP': '192.168.1.1' },
      { 'X-Real-IP': '172.16.5.5' },
      { 'X-Real-IP': '2001:db9::1' },
      { 'X-Real-IP': 'not-an-ip' },
      { 'X-Forwarded-For': '1.1.1.1, 10.0.0.1' },
      { 'X-Real-IP': '1.1.1.1', 'X-Forwarded-For': '10.0.0.1' },
      { 'X-Forwarded-For': '10.0.0.1 ,1.1.1.1' }, // the first entry is taken as is, space included
    ]) {
      const r = await get('/allow/x', h);
      assert.equal(r.status, 403, JSON.stringify(h));
      assert.deepEqual(r.json(), DENIED);
      assert.equal(r.headers['x-generator'], 'tyk.io');
    }
    const r = await get('/allowother/x');
    assert.equal(r.status, 403, 'the peer 127.0.0.1 is not in 10.0.0.0/8');
    assert.equal(up.requests.length, 0);
  }));

  it('blacklisted_ips: listed addresses and blocks are refused, others pass', T(async () => {
    up.reset();
    assert.equal((await get('/block/x')).status, 200);
    assert.equal((await get('/block/x', { 'X-Real-IP': '10.0.0.1' })).status, 200);
    let r = await get('/block/x', { 'X-Real-IP': '192.168.44.1' });
    assert.equal(r.status, 403);
    assert.deepEqual(r.json(), DENIED);
    assert.equal((await get('/block/x', { 'X-Forwarded-For': '203.0.113.7,10.0.0.1' })).status, 403);
    assert.equal((await get('/block/x', { 'X-Real-IP': '0:0:0:0:0:0:0:1' })).status, 403);
    assert.equal((await get('/block/x', { 'X-Real-IP': '::ffff:192.168.0.1' })).status, 403);
    r = await get('/block/x', { 'X-Real-IP': 'bob' });
    assert.equal(r.status, 200, 'an entry that is not an address matches nothing (as in Tyk)');
    assert.equal(up.requests.length, 3);
    assert.match(gw.logs(), /API block: blacklisted_ips\[2\]: "bob" is not an IP address or CIDR block/);
  }));

  it('both lists: the allow list runs first, then the block list', T(async () => {
    assert.equal((await get('/both/x', { 'X-Real-IP': '10.2.0.1' })).status, 200);
    assert.equal((await get('/both/x', { 'X-Real-IP': '10.1.2.3' })).status, 403);
    assert.equal((await get('/both/x', { 'X-Real-IP': '11.0.0.1' })).status, 403);
  }));

  it('when the lists apply: ip_access_control_disabled, the enable flags, an empty list', T(async () => {
    assert.equal((await get('/acdisabled/x', { 'X-Real-IP': '1.2.3.4' })).status, 200);
    assert.equal((await get('/flagnolist/x', { 'X-Real-IP': '1.2.3.4' })).status, 200);
    // Tyk: (enable_ip_whitelisting || !ip_access_control_disabled) && allowed_ips not empty
    assert.equal((await get('/noflag/x', { 'X-Real-IP': '1.2.3.4' })).status, 403);
    assert.equal((await get('/noflag/x', { 'X-Real-IP': '10.3.3.3' })).status, 200);
  }));
});
