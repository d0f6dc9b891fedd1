// SPDX-License-Identifier: Apache-2.0
// A tiny authoritative DNS server over UDP on loopback for the gateway's
// resolver ("turnpike_dns_nameservers": ["127.0.0.1:<port>"]).
import dgram from 'node:dgram';

function readName(buf, off) {
  const labels = [];
  for (;;) {
    const len = buf[off];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) { off += 1; break; }
    if ((len & 0xc0) === 0xc0) { off += 2; break; } // pointers don't occur in queries we care about
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return [labels.join('.'), off];
}

/* startDns({ 'upstream.test': '127.0.0.1', ... }) → {port, queries, records, close()}.
 * A queries for a known name get the address (TTL 5); AAAA and other types for
 * a known name get NOERROR with no answers; unknown names get NXDOMAIN. */
export async function startDns(records = {}) {
  const sock = dgram.createSocket('udp4');
  const queries = [];
  const table = new Map(Object.entries(records).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v]));
  sock.on('message', (msg, rinfo) => {
    try {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const flags = msg.readUInt16BE(2);
      const qd = msg.readUInt16BE(4);
      if (qd < 1) return;
      const [name, after] = readName(msg, 12);
      const qtype = msg.readUInt16BE(after);
      const qclass = msg.readUInt16BE(after + 2);
      const question = msg.subarray(12, after + 4);
      const lname = name.toLowerCase().replace(/\.$/, '');
      queries.push({ name: lname, qtype });
      const known = table.has(lname);
      const answers = [];
      if (known && qtype === 1 && qclass === 1) {
        const ip = table.get(lname).split('.').map(Number);
        const rr = Buffer.alloc(16);
        rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
        rr.writeUInt16BE(1, 2); rr.writeUInt16BE(1, 4);
        rr.writeUInt32BE(5, 6); rr.writeUInt16BE(4, 10);
        Buffer.from(ip).copy(rr, 12);
        answers.push(rr);
      }
      const hdr = Buffer.alloc(12);
      hdr.writeUInt16BE(id, 0);
      const rd = flags & 0x0100;
      hdr.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | (known ? 0 : 3), 2); // QR AA RD RA rcode
      hdr.writeUInt16BE(1, 4);
      hdr.writeUInt16BE(answers.length, 6);
      sock.send(Buffer.concat([hdr, question, ...answers]), rinfo.port, rinfo.address);
    } catch { /* ignore malformed */ }
  });
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  return {
    port: sock.address().port,
    queries,
    set(name, ip) { table.set(name.toLowerCase(), ip); },
    close() { return new Promise((r) => sock.close(() => r())); },
  };
}
