/**
 * Child process: the floor for an HTTP/2 proxy built on node:http2 (nghttp2), Portside's
 * engine, with no features: one h2c upstream session, every client stream forwarded as one
 * upstream stream (headers, body, trailers), nothing routed, rewritten, timed or logged.
 * Its distance to nginx is what the engine costs; Portside's distance to it is what
 * Portside's own code (routing, forwarding rules, header translation, the Exchange) costs.
 * The bench runs it with the V8 flags of Portside's CLI, so that the two differ only in code.
 * Usage: h2-floor-proxy PORT UPSTREAM_PORT
 */
import {
  type ClientHttp2Session,
  connect,
  constants,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';

const [port, upstreamPort] = process.argv.slice(2).map(Number);
let upstream: ClientHttp2Session | undefined;

function session(): ClientHttp2Session {
  if (upstream && !upstream.closed && !upstream.destroyed) return upstream;
  upstream = connect(`http://127.0.0.1:${upstreamPort}`);
  upstream.on('error', () => {});
  return upstream;
}

/** Pseudo-headers other than the request's own, and the one HTTP/2 connection field. */
function requestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    if (name !== 'connection') out[name] = headers[name];
  }
  return out;
}

function forward(client: ServerHttp2Stream, headers: IncomingHttpHeaders, endStream: boolean): void {
  const stream = session().request(requestHeaders(headers), { endStream });
  // Either side may go away first (h2load resets what is in flight when it stops): the other
  // is reset, and nothing more is written to a closed stream.
  const gone = () => client.destroyed || client.closed;
  client.on('error', () => {});
  client.on('close', () => stream.close(constants.NGHTTP2_CANCEL));
  stream.on('error', () => {});
  stream.on('close', () => {
    if (gone() || stream.rstCode === constants.NGHTTP2_NO_ERROR) return;
    if (!client.headersSent) client.respond({ ':status': 502 });
    client.close(constants.NGHTTP2_INTERNAL_ERROR);
  });
  stream.on('response', (head) => {
    if (gone()) return;
    client.respond(head, { waitForTrailers: true });
    stream.pipe(client);
  });
  let trailers: IncomingHttpHeaders | undefined;
  stream.on('trailers', (fields) => {
    trailers = fields;
  });
  client.on('wantTrailers', () => (trailers ? client.sendTrailers(trailers) : client.close()));
  if (!endStream) client.pipe(stream);
}

const server = createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream, headers, flags) => forward(stream, headers, (flags & 1) !== 0));
server.on('sessionError', () => {});
server.listen(port, '127.0.0.1');
