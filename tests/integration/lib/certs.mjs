// SPDX-License-Identifier: Apache-2.0
// Self-signed certificates for TLS tests (openssl CLI).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/* makeCert(dir, name, cn) → {certFile, keyFile, cert, key} with
 * SAN DNS:<cn>, DNS:localhost, IP:127.0.0.1. */
export function makeCert(dir, name = 'server', cn = 'localhost') {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-days', '1',
    '-addext', `subjectAltName=DNS:${cn},DNS:localhost,IP:127.0.0.1`,
    '-keyout', keyFile, '-out', certFile], { stdio: 'pipe', timeout: 30000 });
  return { certFile, keyFile, cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}
