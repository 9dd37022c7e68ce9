import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';

/** An HTTP upstream on 127.0.0.1 with a /healthz whose answer tests can change; it can die and come back on its port. */
export interface HealthUpstream {
  name: string;
  port: number;
  server: Server;
  /** Status of GET /healthz; change it at will. */
  healthStatus: number;
  /** Requests to /healthz so far. */
  healthChecks: number;
  /** Other requests so far (each answered 200 with the name). */
  requests: number;
  /** Stops listening and cuts every open connection, like a killed process. */
  kill(): Promise<void>;
}

/** Starts one; pass the port of a killed one to bring it back on the same port. */
export async function startHealthUpstream(
  name: string,
  port = 0,
  healthStatus = 200,
): Promise<HealthUpstream> {
  const sockets = new Set<Socket>();
  const upstream = { name, healthStatus, healthChecks: 0, requests: 0 } as HealthUpstream;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      upstream.healthChecks++;
      res.writeHead(upstream.healthStatus, { 'content-type': 'text/plain' }).end(`${name} health\n`);
      return;
    }
    upstream.requests++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${name}\n`);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  upstream.server = server;
  upstream.port = (server.address() as { port: number }).port;
  upstream.kill = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return upstream;
}
