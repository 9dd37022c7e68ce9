/**
 * HTTP/2 peers for tests: node:http2 (nghttp2) upstreams that record what reached them, and
 * a client request helper that collects status, headers, body and trailers.
 */
import {
  type ClientHttp2Session,
  connect,
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface H2Upstream {
  name: string;
  port: number;
  server: Http2Server;
  /** Request headers of every stream, in arrival order. */
  requests: IncomingHttpHeaders[];
  /** Streams the client (Portside) reset or abandoned before their response ended. */
  aborted: number;
  close(): Promise<void>;
}

export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

/** Answers `name path body` with `x-server: name` and an `x-trailer` trailer, unless `handler` answers. */
export async function startH2Upstream(name: string, handler?: StreamHandler): Promise<H2Upstream> {
  const server = createServer();
  const up: H2Upstream = {
    name,
    port: 0,
    server,
    requests: [],
    aborted: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    up.requests.push(headers);
    stream.on('aborted', () => up.aborted++);
    stream.on('error', () => {});
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => {
      const body = Buffer.concat(parts);
      if (handler) return handler(stream, headers, body);
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'x-server': name }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': name }));
      stream.end(`${name} ${headers[':path']} ${body.toString()}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.port = (server.address() as AddressInfo).port;
  return up;
}

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  trailers: IncomingHttpHeaders | undefined;
}

/** One request on `session`; `body` is sent and the stream ended. */
export function h2Request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: string | Buffer,
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    let response: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    const parts: Buffer[] = [];
    req.on('response', (h) => {
      response = h;
    });
    req.on('trailers', (t) => {
      trailers = t;
    });
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () =>
      resolve({
        status: Number(response[':status']),
        headers: response,
        body: Buffer.concat(parts).toString(),
        trailers,
      }),
    );
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

/** An h2c (prior knowledge) client session to 127.0.0.1:`port`. */
export async function h2Connect(port: number): Promise<ClientHttp2Session> {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}
