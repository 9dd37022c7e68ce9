import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Pool } from 'undici';

/** A real HTTP upstream on 127.0.0.1 port 0 that records what it received. */
export interface HttpUpstream {
  server: Server;
  port: number;
  /** Every request seen (headers lower-cased, url as received). */
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

/**
 * Starts an upstream; the default handler answers 200 with a JSON body naming the server
 * (`name`), the url and the headers it saw.
 */
export async function startHttpUpstream(
  name: string,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<HttpUpstream> {
  const sockets = new Set<Socket>();
  const requests: HttpUpstream['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (handler) return handler(req, res);
    const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    server,
    port: (server.address() as { port: number }).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * One GET on a new connection to the proxy's `port` with `Host: host`: the name of the
 * upstream that answered (its `x-upstream` header, as startHttpUpstream sends), else the status.
 */
export function upstreamFor(port: number, host: string, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers['x-upstream'] ?? res.statusCode)));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A keep-alive client for one proxy port; `close()` it when done. */
export function httpClient(port: number, connections = 4) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections });
  return {
    pool,
    async request(
      path: string,
      options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
    ): Promise<Reply> {
      const { statusCode, headers, body } = await pool.request({
        path,
        method: (options.method ?? 'GET') as 'GET',
        headers: options.headers,
        body: options.body,
      });
      return { status: statusCode, headers, body: await body.text() };
    },
    /** The JSON the default upstream handler answers with. */
    async json(path: string, options: { method?: string; headers?: Record<string, string> } = {}) {
      const reply = await this.request(path, options);
      if (reply.status !== 200) throw new Error(`${path}: status ${reply.status}: ${reply.body}`);
      return JSON.parse(reply.body) as {
        name: string;
        url: string;
        method: string;
        headers: Record<string, string>;
      };
    },
    close: () => pool.close(),
  };
}

/**
 * Writes raw bytes to a port and resolves with everything read until the server closes
 * the connection (or `timeoutMs`, after which the socket is destroyed). For requests no
 * well-behaved client would send: smuggling attempts, hop-by-hop headers, slow headers.
 */
export function rawExchange(
  port: number,
  text: string,
  timeoutMs = 5000,
): Promise<{ response: string; closedBy: 'server' | 'timeout'; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let response = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response, closedBy: 'timeout', ms: Date.now() - started });
    }, timeoutMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response, closedBy: 'server', ms: Date.now() - started });
    });
    socket.on('connect', () => {}).once('error', reject);
  });
}
