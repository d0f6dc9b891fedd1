// SPDX-License-Identifier: Apache-2.0
// Free loopback TCP ports for the integration harness.
import net from 'node:net';

const handedOut = new Set();

/* Bind port 0 on 127.0.0.1, read the port the kernel picked, release it.
 * Ports already handed out in this process are skipped so two servers
 * started back to back never get the same number. */
export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no free port found');
}

/* Resolves true when something accepts TCP connections on port. */
export function portOpen(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const t = setTimeout(() => { s.destroy(); resolve(false); }, timeoutMs);
    s.on('connect', () => { clearTimeout(t); s.destroy(); resolve(true); });
    s.on('error', () => { clearTimeout(t); resolve(false); });
  });
}
