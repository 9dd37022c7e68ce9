/**
 * HTTP/2's own attacks against an h2c listener, sent as raw frames or with h2load:
 * CONTINUATION, PING, SETTINGS and empty-DATA floods close the connection; oversized header
 * lists are refused without reaching the upstream; a client asking for more concurrent
 * streams than the listener allows never gets more to the upstream. After each, the proxy
 * still serves a well-behaved client.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type H2Upstream, h2Connect, h2Request, startH2Upstream } from '../helpers/h2.js';
import { FLAG, FRAME, frame, getRequest, headerBlock, opening, readFrames } from '../helpers/h2-frames.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

const run = promisify(execFile);

/** Writes `bytes` (without reading, so the server's answers back up), then reads until the server closes. */
function attack(
  port: number,
  bytes: Buffer[],
  timeoutMs = 20_000,
): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received: Buffer.concat(parts) });
    }, timeoutMs);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(parts) });
    });
    socket.pause();
    socket.on('connect', async () => {
      for (const b of bytes) {
        if (socket.destroyed) break;
        if (!socket.write(b))
          await new Promise<void>((r) => {
            const done = () => r();
            socket.once('drain', done);
            socket.once('close', done);
          });
      }
      socket.on('data', (d: Buffer) => parts.push(d));
      socket.resume();
    });
  });
}

function hasGoAway(received: Buffer): boolean {
  return readFrames(received).some((f) => f.type === FRAME.goaway);
}

function repeat(count: number, bytes: Buffer): Buffer[] {
  const batch = Buffer.concat(Array.from({ length: 100 }, () => bytes));
  return Array.from({ length: Math.ceil(count / 100) }, () => batch);
}

describe('L7 HTTP/2 defences', { timeout: 120_000 }, () => {
  let up: H2Upstream;
  let proxy: TestProxy;
  let port: number;
  let open = 0;
  let maxOpen = 0;

  before(async () => {
    up = await startH2Upstream('up', (stream) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      setTimeout(() => {
        open--;
        if (stream.destroyed) return;
        stream.respond({ ':status': 200 });
        stream.end('ok');
      }, 2);
    });
    proxy = await startProxy(`
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    accessLog: false
    http2: { maxConcurrentStreams: 20 }
    routes: [{ match: { pathPrefix: / }, cluster: up }]
clusters:
  - { name: up, upstreamProtocol: http2, endpoints: [127.0.0.1:${up.port}] }
`);
    port = proxy.port('web');
  });
  after(async () => {
    await proxy?.stop();
    await up?.close();
  });

  async function stillServes(): Promise<void> {
    const session = await h2Connect(port);
    const res = await h2Request(session, { ':path': '/after' });
    session.close();
    assert.equal(res.status, 200);
  }

  it('closes a connection that floods CONTINUATION frames', async () => {
    const before = up.requests.length;
    const continuation = frame(FRAME.continuation, 0, 1, headerBlock([['x-filler', 'a'.repeat(100)]]));
    const result = await attack(port, [
      opening(),
      frame(FRAME.headers, FLAG.endStream, 1, getRequest('/continuation')),
      ...repeat(20_000, continuation),
    ]);
    assert.equal(result.closed, true, 'the connection was closed');
    assert.ok(hasGoAway(result.received), 'a GOAWAY says why');
    assert.equal(up.requests.length, before, 'the endless header block reached no upstream');
    await stillServes();
  });

  it('closes a connection that floods PING frames without reading the answers', async () => {
    const ping = frame(FRAME.ping, 0, 0, Buffer.alloc(8));
    const result = await attack(port, [opening(), ...repeat(200_000, ping)]);
    assert.equal(result.closed, true);
    assert.ok(hasGoAway(result.received), 'a GOAWAY says why');
    await stillServes();
  });

  it('closes a connection that floods SETTINGS frames', async () => {
    const settings = frame(FRAME.settings, 0, 0);
    const result = await attack(port, [opening(), ...repeat(200_000, settings)]);
    assert.equal(result.closed, true);
    assert.ok(hasGoAway(result.received), 'a GOAWAY says why');
    await stillServes();
  });

  it('closes a connection that floods empty DATA frames', async () => {
    const post = headerBlock([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/empty-data'],
      [':authority', 'test'],
    ]);
    const empty = frame(FRAME.data, 0, 1);
    const result = await attack(port, [
      opening(),
      frame(FRAME.headers, FLAG.endHeaders, 1, post),
      ...repeat(5000, empty),
    ]);
    assert.equal(result.closed, true);
    const goaway = readFrames(result.received).find((f) => f.type === FRAME.goaway);
    assert.ok(goaway, 'a GOAWAY says why');
    await stillServes();
  });

  it('refuses a header list above limits.maxHeaderBytes without reaching the upstream', async () => {
    const before = up.requests.length;
    const session = await h2Connect(port);
    const outcome = await h2Request(session, { ':path': '/big', 'x-big': 'a'.repeat(70_000) }).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    session.destroy();
    assert.notEqual(outcome, 200);
    assert.equal(up.requests.length, before);
    await stillServes();
  });

  it('never has more streams open than maxConcurrentStreams for one connection (h2load)', async () => {
    maxOpen = 0;
    const { stdout } = await run(
      'h2load',
      ['-n', '2000', '-c', '1', '-m', '200', `http://127.0.0.1:${port}/flood`],
      {
        timeout: 60_000,
      },
    );
    // h2load opens its first streams before it reads the SETTINGS: those past the limit are
    // refused (RST_STREAM REFUSED_STREAM, safe to retry); every later request succeeds.
    const succeeded = Number(/(\d+) succeeded/.exec(stdout)?.[1]);
    assert.ok(succeeded >= 2000 - 200, stdout);
    assert.ok(maxOpen > 1, 'streams were multiplexed');
    assert.ok(maxOpen <= 20, `at most 20 streams at once reached the upstream (saw ${maxOpen})`);
  });
});
