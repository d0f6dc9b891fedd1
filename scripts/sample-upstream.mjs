// SPDX-License-Identifier: Apache-2.0
// A tiny echo service used as the sample API's upstream by `make run`.
import http from 'node:http';

const port = Number(process.argv[2] || 0);
const server = http.createServer((req, res) => {
  let bytes = 0;
  req.on('data', (d) => { bytes += d.length; });
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body_bytes: bytes }, null, 2);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body + '\n');
  });
});
server.listen(port, '127.0.0.1', () => console.log(`sample upstream on 127.0.0.1:${server.address().port}`));
