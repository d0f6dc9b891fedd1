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

/* makeExpiredCert(dir, cn) → {certFile, keyFile, cert, key}: a self-signed certificate whose
 * validity ended in 2020 (`openssl ca` accepts explicit dates, `openssl req -x509` does not). */
export function makeExpiredCert(dir, cn = 'old') {
  const d = path.join(dir, `expired-${cn}`);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndatabase=${d}/index.txt\nnew_certs_dir=${d}\n` +
    `serial=${d}/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n`);
  fs.writeFileSync(path.join(d, 'index.txt'), '');
  fs.writeFileSync(path.join(d, 'serial'), '01\n');
  const run = (args) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30000, cwd: d });
  run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', 'k.pem', '-out', 'r.csr']);
  run(['ca', '-batch', '-notext', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'k.pem', '-in', 'r.csr',
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-out', 'c.pem']);
  const certFile = path.join(d, 'c.pem');
  const keyFile = path.join(d, 'k.pem');
  return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}
