/**
 * Child process: the HTTP/2 (h2c, prior knowledge) upstream of the h2 scenarios, on the load
 * CPUs. `GET /small` answers the same 24 bytes as the HTTP/1.1 upstream; `POST` to the gRPC
 * path reads the framed request, then answers one framed reply and `grpc-status: 0` in
 * trailers, as a gRPC server's unary handler does. Prints `{"port":N}` once listening.
 */
import { constants, createServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { GRPC_PATH, GRPC_REPLY } from './grpc-frames.js';
import { SMALL_BODY } from './payloads.js';

const small = Buffer.from(SMALL_BODY);

function grpcUnary(stream: ServerHttp2Stream): void {
  stream.on('data', () => {});
  stream.on('end', () => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(GRPC_REPLY);
  });
}

// Stream and connection limits far above what the bench opens: the upstream is never the cap.
const server = createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  if (headers[constants.HTTP2_HEADER_PATH] === GRPC_PATH) return grpcUnary(stream);
  if (headers[constants.HTTP2_HEADER_PATH] === '/small') {
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': small.length });
    stream.end(small);
    return;
  }
  stream.respond({ ':status': 404 });
  stream.end();
});
server.on('sessionError', () => {});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
