/**
 * The L4 proxy reuses one read buffer per direction while writes to the other side complete
 * at once. These tests make the reading side slow, so writes queue and the buffer must be
 * replaced rather than overwritten: any mix-up shows as a different hash.
 */
import assert from 'node:assert/strict';
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startTcpServer, type TestServer } from '../helpers/servers.js';
import { openConnection } from '../helpers/tcp.js';

/**
 * An upstream that sends `total` random bytes and resolves with their hash. With `dribble`,
 * it sends small pieces of varying size and yields between them, so the proxy's reads are
 * small and its writes to a slow client queue below the stream's high-water mark: the case
 * where the proxy keeps reading while earlier bytes still wait to be sent.
 */
async function startSource(
  total: number,
  dribble: boolean,
): Promise<{ server: TestServer; digest: Promise<string> }> {
  let resolveDigest!: (hex: string) => void;
  const digest = new Promise<string>((resolve) => {
    resolveDigest = resolve;
  });
  const server = await startTcpServer(async (socket) => {
    const hash = createHash('sha256');
    let sent = 0;
    while (sent < total) {
      const size = Math.min(total - sent, dribble ? 1 + Math.floor(Math.random() * 9000) : 64 * 1024);
      const chunk = randomBytes(size);
      hash.update(chunk);
      sent += size;
      if (!socket.write(chunk)) await once(socket, 'drain');
      else if (dribble) await new Promise(setImmediate);
    }
    socket.end();
    resolveDigest(hash.digest('hex'));
  });
  return { server, digest };
}

/**
 * Hashes what `socket` delivers, stalling 10 ms every 64 KiB: slower than the proxy can
 * send, so the kernel buffers fill up and the proxy's writes to this side queue (the
 * reused-buffer hazard).
 */
function readSlowly(socket: Socket): { hash: Hash; received: number } {
  const reader = { hash: createHash('sha256'), received: 0 };
  socket.on('data', (chunk: Buffer) => {
    reader.hash.update(chunk);
    reader.received += chunk.length;
    if (reader.received % (64 << 10) < chunk.length) {
      socket.pause();
      setTimeout(() => socket.resume(), 10);
    }
  });
  return reader;
}

describe('L4 proxy read buffers', { timeout: 60_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  async function proxyTo(port: number): Promise<TestProxy> {
    const p = await startProxy(`listeners:
  - { name: l4, address: 127.0.0.1:0, cluster: up }
clusters:
  - { name: up, endpoints: [127.0.0.1:${port}] }
drainTimeout: 1s
`);
    cleanups.push(() => p.stop());
    return p;
  }

  it('delivers every byte in order to a client that reads slowly', async () => {
    const source = await startSource(6 << 20, true);
    cleanups.push(() => source.server.close());
    const p = await proxyTo(source.server.port);
    const socket = await openConnection(p.port('l4'));
    const reader = readSlowly(socket);
    await once(socket, 'end');
    socket.destroy();
    assert.equal(reader.received, 6 << 20);
    assert.equal(reader.hash.digest('hex'), await source.digest);
  });

  it('delivers every byte in order to an upstream that reads slowly', async () => {
    // The other direction: client bytes are read into the client side's reused buffer.
    const sink = await startTcpServer((socket) => {
      const reader = readSlowly(socket);
      socket.on('end', () => socket.end(`${reader.received} ${reader.hash.digest('hex')}`));
    });
    cleanups.push(() => sink.close());
    const p = await proxyTo(sink.port);
    const socket = await openConnection(p.port('l4'));
    const hash = createHash('sha256');
    const total = 16 << 20;
    let sent = 0;
    while (sent < total) {
      const chunk = randomBytes(Math.min(total - sent, 1 + Math.floor(Math.random() * 9000)));
      hash.update(chunk);
      sent += chunk.length;
      if (!socket.write(chunk)) await once(socket, 'drain');
      else await new Promise(setImmediate);
    }
    socket.end();
    let reply = '';
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
    });
    await once(socket, 'end');
    assert.equal(reply, `${total} ${hash.digest('hex')}`);
  });

  it('keeps concurrent sessions apart', async () => {
    const sources = await Promise.all([1, 2, 3].map(() => startSource(16 << 20, false)));
    for (const s of sources) cleanups.push(() => s.server.close());
    const results = await Promise.all(
      sources.map(async (source) => {
        const p = await proxyTo(source.server.port);
        const socket = await openConnection(p.port('l4'));
        const hash = createHash('sha256');
        socket.on('data', (chunk: Buffer) => hash.update(chunk));
        await once(socket, 'end');
        socket.destroy();
        return { got: hash.digest('hex'), want: await source.digest };
      }),
    );
    for (const { got, want } of results) assert.equal(got, want);
  });
});
