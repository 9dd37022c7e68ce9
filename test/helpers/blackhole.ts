import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

/**
 * A worker that listens and then blocks its thread, so its socket is never accepted from.
 * Runs as CommonJS text: workers started from a string do not go through tsx.
 */
const LISTENER = `
const { parentPort, workerData } = require('node:worker_threads');
const server = require('node:net').createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(workerData, 0, 0);
  server.close();
});
`;

function tryConnect(port: number, waitMs: number): Promise<{ socket: Socket; connected: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const timer = setTimeout(() => resolve({ socket, connected: false }), waitMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({ socket, connected: true });
    });
  });
}

/**
 * A port whose connects hang: its listening socket's accept queue is full and nobody
 * accepts, so the kernel drops every further SYN (the client retries until its own
 * timeout). For connect-timeout tests, which a refused or unreachable port cannot do.
 */
export async function startBlackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(LISTENER, { eval: true, workerData: flag });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Fill the accept queue: connects complete until it is full; the first that hangs proves it.
  const fillers: Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const { socket, connected } = await tryConnect(port, 1000);
    fillers.push(socket);
    if (!connected) break;
  }
  return {
    port,
    async close() {
      for (const socket of fillers) socket.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    },
  };
}
