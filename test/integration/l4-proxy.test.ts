import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { captureLogger, startProxy, type TestProxy } from '../helpers/proxy.js';
import {
  deadPort,
  startEchoServer,
  startNamedServer,
  startTcpServer,
  type TestServer,
} from '../helpers/servers.js';
import { exchange, openConnection, readAll, whoAnswers } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

function tcpConfig(endpoints: number[], extra = ''): string {
  return `listeners:
  - name: l4
    address: 127.0.0.1:0
    cluster: up
    connectTimeout: 3s
${extra}
clusters:
  - name: up
    endpoints: [${endpoints.map((p) => `127.0.0.1:${p}`).join(', ')}]
drainTimeout: 2s
`;
}

describe('L4 TCP proxy', { timeout: 60_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  async function upstream(server: Promise<TestServer>): Promise<TestServer> {
    const s = await server;
    cleanups.push(() => s.close());
    return s;
  }
  async function proxy(yaml: string): Promise<TestProxy> {
    const p = await startProxy(yaml);
    cleanups.push(() => p.stop());
    return p;
  }

  it('balances connections across two upstreams in turn', async () => {
    const a = await upstream(startNamedServer('A'));
    const b = await upstream(startNamedServer('B'));
    const p = await proxy(tcpConfig([a.port, b.port]));
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) seen.push(await whoAnswers(p.port('l4')));
    assert.deepEqual(seen, ['A', 'B', 'A', 'B', 'A', 'B', 'A', 'B', 'A', 'B']);
  });

  it('skips a dead endpoint with no client-visible error', async () => {
    const live = await upstream(startNamedServer('live'));
    const p = await proxy(tcpConfig([await deadPort(), live.port]));
    for (let i = 0; i < 20; i++) assert.equal(await whoAnswers(p.port('l4')), 'live');
    const failures = p.proxy.current!.clusters.get('up')!.endpoints[0]!.state.failuresTotal;
    assert.ok(failures >= 10, `the dead endpoint was tried and recorded failures (${failures})`);
  });

  it('closes the client connection when every endpoint is dead, and logs why', async () => {
    const p = await proxy(tcpConfig([await deadPort(), await deadPort()]));
    const socket = await openConnection(p.port('l4'));
    const reply = await readAll(socket).catch(() => Buffer.alloc(0));
    assert.equal(reply.length, 0);
    const line = await eventually(() => p.lines.find((l) => l.end === 'connect_failed'));
    assert.equal(line.attempts, 2);
  });

  it('completes 1,000 concurrent connections', async () => {
    const echo = await upstream(startEchoServer());
    const p = await proxy(tcpConfig([echo.port]));
    const port = p.port('l4');
    const replies = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => exchange(port, `hello ${i}`).then((r) => r.toString())),
    );
    assert.deepEqual(
      replies,
      Array.from({ length: 1000 }, (_, i) => `hello ${i}`),
    );
  });

  it('carries 256 MiB both ways byte-identical', async () => {
    const echo = await upstream(startEchoServer());
    const p = await proxy(tcpConfig([echo.port]));
    const socket = await openConnection(p.port('l4'));
    const chunk = randomBytes(1 << 20);
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    socket.on('data', (c: Buffer) => {
      received.update(c);
      receivedBytes += c.length;
    });
    const ended = once(socket, 'end');
    for (let i = 0; i < 256; i++) {
      // Vary each MiB so a reordered or duplicated chunk changes the hash.
      chunk.writeUInt32BE(i, 0);
      sent.update(chunk);
      if (!socket.write(Buffer.from(chunk))) await once(socket, 'drain');
    }
    socket.end();
    await ended;
    socket.destroy();
    assert.equal(receivedBytes, 256 << 20);
    assert.equal(received.digest('hex'), sent.digest('hex'));
  });

  it('honours half-close: a client that shuts its write side still gets the whole response', async () => {
    // The upstream answers only after the client's FIN arrives, then closes.
    const server = await upstream(
      startTcpServer((socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          setImmediate(() => socket.end(`got ${body.length} bytes: ${body.toUpperCase()}`));
        });
      }),
    );
    const p = await proxy(tcpConfig([server.port]));
    const reply = await exchange(p.port('l4'), 'half closed');
    assert.equal(reply.toString(), 'got 11 bytes: HALF CLOSED');
  });

  it('closes connections idle for longer than idleTimeout', async () => {
    const echo = await upstream(startEchoServer());
    const p = await proxy(tcpConfig([echo.port], '    idleTimeout: 200ms'));
    const socket = await openConnection(p.port('l4'));
    socket.write('ping');
    await once(socket, 'data');
    await once(socket, 'end');
    const line = await eventually(() =>
      p.lines.find((l) => l.msg === 'tcp connection' && l.end === 'idle_timeout'),
    );
    assert.equal(line.bytesFromClient, 4);
    await eventually(() => echo.sockets.size === 0, { what: 'the upstream side to be closed too' });
  });

  it('keeps connections open while bytes flow in either direction', async () => {
    // The upstream talks every 60 ms for a while, with a 500 ms idle timeout: bytes that only
    // flow upstream → client must count as activity too.
    const talker = await upstream(
      startTcpServer((socket) => {
        let sent = 0;
        const timer = setInterval(() => {
          socket.write('tick');
          if (++sent === 8) clearInterval(timer);
        }, 60);
        socket.on('close', () => clearInterval(timer));
      }),
    );
    const p = await proxy(tcpConfig([talker.port], '    idleTimeout: 500ms'));
    const socket = await openConnection(p.port('l4'));
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    await once(socket, 'end');
    assert.equal(received, 'tick'.repeat(8), 'every tick arrived before the idle close');
    const line = await eventually(() => p.lines.find((l) => l.msg === 'tcp connection'));
    assert.equal(line.end, 'idle_timeout');
    assert.ok(Number(line.durationMs) >= 8 * 60 + 500, `closed after ${line.durationMs} ms`);
  });

  it('survives clients and upstreams that reset mid-stream', async () => {
    const resetter = await upstream(
      startTcpServer((socket) => socket.once('data', () => socket.resetAndDestroy())),
    );
    const p = await proxy(tcpConfig([resetter.port]));
    for (let i = 0; i < 20; i++) {
      const socket = await openConnection(p.port('l4'));
      const error = once(socket, 'error');
      socket.write('boom');
      const [e] = (await error) as [NodeJS.ErrnoException];
      assert.equal(e.code, 'ECONNRESET', 'the upstream reset reaches the client as a reset');
    }
    const client = await openConnection(p.port('l4'));
    client.resetAndDestroy();
    const reset = await eventually(() => p.lines.filter((l) => l.end === 'upstream_error').length >= 20);
    assert.ok(reset);
    // The process is still healthy and serving.
    const echo = await upstream(startEchoServer());
    const p2 = await proxy(tcpConfig([echo.port]));
    assert.equal((await exchange(p2.port('l4'), 'still here')).toString(), 'still here');
  });

  it('logs one line per finished connection with bytes, endpoint and duration', async () => {
    const echo = await upstream(startEchoServer());
    const p = await proxy(tcpConfig([echo.port]));
    await exchange(p.port('l4'), 'twelve bytes');
    const line = await eventually(() => p.lines.find((l) => l.msg === 'tcp connection'));
    assert.equal(line.listener, 'l4');
    assert.equal(line.endpoint, `127.0.0.1:${echo.port}`);
    assert.equal(line.bytesFromClient, 12);
    assert.equal(line.bytesToClient, 12);
    assert.equal(line.end, 'closed');
    assert.equal(typeof line.durationMs, 'number');
    assert.match(String(line.client), /^127\.0\.0\.1:\d+$/);
  });

  it('captureLogger collects JSON lines', () => {
    const { logger, lines } = captureLogger();
    logger.info({ a: 1 }, 'x');
    assert.equal(lines[0]?.a, 1);
  });

  it('a connection refused for lack of endpoints is not counted as open, and drain does not wait for it', async () => {
    // drainTimeout 10m: before the fix the refused connection stayed counted and shutdown waited for it.
    const p = await startProxy(`listeners:
  - { name: l4, address: 127.0.0.1:0, cluster: up }
clusters:
  - { name: up, endpoints: [] }
drainTimeout: 10m
`);
    for (let i = 0; i < 3; i++) {
      const socket = await openConnection(p.port('l4'));
      socket.resume();
      await once(socket, 'end');
      socket.destroy();
    }
    assert.ok(
      p.lines.some((l) => l.end === 'no_endpoint'),
      'the connections ended no_endpoint',
    );
    assert.equal(p.proxy.listener('l4')!.openConnections, 0);
    await p.stop(); // resolves at once; before the fix it waited the whole drainTimeout
  });
});
