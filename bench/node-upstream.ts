/**
 * Child process: the built-in upstream. Always serves the TCP bulk source (writes bytes
 * as fast as the reader takes them); with `--http` also the HTTP upstream used when nginx
 * is not installed. Prints `{"http":port,"bulk":port}` once listening.
 *
 * HTTP routes (same as the nginx upstream): GET /small, GET /64k, POST /upload (1 MiB body
 * read to the end, then "ok").
 */
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server } from 'node:net';
import { LARGE_BODY_BYTES, SMALL_BODY } from './payloads.js';

const small = Buffer.from(SMALL_BODY);
const large = Buffer.alloc(LARGE_BODY_BYTES, 'x');
const chunk = Buffer.alloc(64 * 1024, 'b');

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const bulk = createTcpServer((socket) => {
  socket.on('error', () => socket.destroy());
  const pump = () => {
    while (socket.write(chunk)) {
      if (socket.destroyed) return;
    }
  };
  socket.on('drain', pump);
  socket.resume();
  pump();
});

let httpPort: number | undefined;
if (process.argv.includes('--http')) {
  const http = createHttpServer((req, res) => {
    if (req.url === '/upload') {
      req.on('data', () => {});
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
        res.end('ok\n');
      });
      return;
    }
    const body = req.url === '/64k' ? large : small;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  http.keepAliveTimeout = 120_000;
  http.headersTimeout = 121_000;
  http.maxRequestsPerSocket = 0;
  httpPort = await listen(http);
}
const bulkPort = await listen(bulk);
process.stdout.write(`${JSON.stringify({ http: httpPort, bulk: bulkPort })}\n`);
