import { createServer, type Server, type Socket } from 'node:net';

/** A TCP server on 127.0.0.1 port 0 that tracks its sockets so close() never hangs. */
export interface TestServer {
  server: Server;
  port: number;
  /** Sockets currently open on the server side. */
  sockets: Set<Socket>;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

export async function startTcpServer(onConnection: (socket: Socket) => void, port = 0): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const result = { sockets, accepted: 0 } as TestServer;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    result.accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: tests open up to 1,000 connections at once.
    server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => resolve());
  });
  result.server = server;
  result.port = (server.address() as { port: number }).port;
  result.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return result;
}

/** Echoes every byte back and ends its side when the client ends (half-close aware). */
export function startEchoServer(port = 0): Promise<TestServer> {
  return startTcpServer((socket) => socket.pipe(socket), port);
}

/** Writes its name on connect, then echoes; tells tests which endpoint a connection reached. */
export function startNamedServer(name: string, port = 0): Promise<TestServer> {
  return startTcpServer((socket) => {
    socket.write(`${name}\n`);
    socket.pipe(socket);
  }, port);
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const s = await startTcpServer(() => {});
  await s.close();
  return s.port;
}
