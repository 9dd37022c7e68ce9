import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, it, test } from 'node:test';
import { acceptorsFor, defaultAcceptors, reusePortSupported } from '../../src/listeners/acceptors.js';
import type { ConnectionHandler } from '../../src/listeners/handler.js';
import { Listener } from '../../src/listeners/listener.js';
import { openConnection } from '../helpers/tcp.js';

const NO_REUSE_PORT = reusePortSupported()
  ? false
  : `reusePort needs Node ≥ 22.12 on Linux (this is Node ${process.versions.node} on ${process.platform})`;

/** Records which listening socket accepted each connection, then closes it. */
class RecordingHandler implements ConnectionHandler {
  readonly acceptedBy = new Set<Server>();
  accepted = 0;
  readonly openConnections = 0;

  handle(socket: Socket): void {
    this.accepted++;
    // Node sets `server` on each socket it accepts.
    this.acceptedBy.add((socket as Socket & { server: Server }).server);
    socket.destroy();
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}

async function connectAndClose(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) (await openConnection(port)).destroy();
}

function refused(port: number): Promise<string | undefined> {
  return openConnection(port).then(
    (socket) => {
      socket.destroy();
      return undefined;
    },
    (error: NodeJS.ErrnoException) => error.code,
  );
}

function listen(port: number, reusePort: boolean): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, reusePort } as Parameters<Server['listen']>[0], () =>
      resolve(server),
    );
  });
}

test('reusePort is used from Node 22.12 and 23.1, on Linux only', () => {
  const cases: [string, string, boolean][] = [
    ['20.20.2', 'linux', false],
    ['22.11.0', 'linux', false],
    ['22.12.0', 'linux', true],
    ['23.0.0', 'linux', false],
    ['23.1.0', 'linux', true],
    ['26.12.1', 'linux', true],
    ['26.12.1', 'darwin', false],
  ];
  for (const [version, platform, expected] of cases)
    assert.equal(reusePortSupported(version, platform), expected, `${version} ${platform}`);
  assert.equal(defaultAcceptors() > 1, reusePortSupported());
  assert.equal(acceptorsFor('http'), 1);
  assert.equal(acceptorsFor('tcp'), defaultAcceptors());
  assert.equal(acceptorsFor('tls'), defaultAcceptors());
});

describe('a listener with one socket', () => {
  it('accepts, counts, and stops accepting on drain', { timeout: 10_000 }, async () => {
    const listener = new Listener('one', '127.0.0.1:0', undefined, 1);
    const handler = new RecordingHandler();
    listener.swapHandler(handler);
    await listener.bind();
    assert.ok(listener.bound);
    assert.notEqual(listener.port, 0);
    assert.equal(listener.boundAddress, `127.0.0.1:${listener.port}`);
    await connectAndClose(listener.port, 3);
    assert.equal(listener.stats.connectionsTotal, 3);
    assert.equal(handler.acceptedBy.size, 1);
    const port = listener.port;
    assert.equal(await listener.drain(1000), 0);
    assert.equal(listener.bound, false);
    assert.equal(await refused(port), 'ECONNREFUSED');
  });
});

describe('a listener with several sockets on one address', { skip: NO_REUSE_PORT }, () => {
  it('binds them all on the port chosen for port 0, and more than one accepts', {
    timeout: 20_000,
  }, async () => {
    const listener = new Listener('several', '127.0.0.1:0', undefined, 4);
    const handler = new RecordingHandler();
    listener.swapHandler(handler);
    await listener.bind();
    assert.notEqual(listener.port, 0);
    // The kernel spreads connections over the sockets by a hash of the client's port: with
    // 40 connections, all on one of 4 sockets has a chance of 4 × 4^-40.
    await connectAndClose(listener.port, 40);
    assert.equal(handler.accepted, 40);
    assert.equal(listener.stats.connectionsTotal, 40);
    assert.ok(handler.acceptedBy.size > 1, `accepted by ${handler.acceptedBy.size} socket(s)`);
    for (const server of handler.acceptedBy)
      assert.equal((server.address() as { port: number }).port, listener.port);
    listener.stopAccepting();
  });

  it('closes every socket on drain: no connection is accepted afterwards', { timeout: 20_000 }, async () => {
    const listener = new Listener('drained', '127.0.0.1:0', undefined, 4);
    const handler = new RecordingHandler();
    listener.swapHandler(handler);
    await listener.bind();
    const port = listener.port;
    await listener.drain(1000);
    assert.equal(listener.bound, false);
    try {
      // One socket left open would take every connection that reaches the port.
      for (let i = 0; i < 20; i++) assert.equal(await refused(port), 'ECONNREFUSED');
    } finally {
      // So that a failure ends the test process instead of keeping it alive.
      for (const server of handler.acceptedBy) server.close();
    }
  });

  it('refuses a port that another process shares with reusePort', { timeout: 10_000 }, async () => {
    const other = await listen(0, true);
    const port = (other.address() as { port: number }).port;
    try {
      const listener = new Listener('second', `127.0.0.1:${port}`, undefined, 4);
      await assert.rejects(listener.bind(), { name: 'BindError', code: 'EADDRINUSE' });
      assert.equal(listener.bound, false);
    } finally {
      other.close();
    }
  });
});

test('a port held without reusePort is refused, as before', { timeout: 10_000 }, async () => {
  const other = await listen(0, false);
  const port = (other.address() as { port: number }).port;
  try {
    const listener = new Listener('taken', `127.0.0.1:${port}`);
    await assert.rejects(listener.bind(), { name: 'BindError', code: 'EADDRINUSE' });
    assert.equal(listener.bound, false);
  } finally {
    other.close();
  }
});
