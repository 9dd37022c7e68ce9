import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket, { WebSocketServer } from 'ws';
import { type HttpUpstream, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { deadPort, startTcpServer, type TestServer } from '../helpers/servers.js';

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
const BLOCK = randomBytes(MiB);

/** 256 MiB made of one random MiB with the block index stamped in, so reordering shows in the hash. */
function bigStream(): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === TOTAL / MiB) return void this.push(null);
      const block = Buffer.from(BLOCK);
      block.writeUInt32BE(i++, 0);
      this.push(block);
    },
  });
}

function expectedHash(): string {
  const hash = createHash('sha256');
  for (let i = 0; i < TOTAL / MiB; i++) {
    const block = Buffer.from(BLOCK);
    block.writeUInt32BE(i, 0);
    hash.update(block);
  }
  return hash.digest('hex');
}

/** Largest `arrayBuffers` seen while `work` runs: a proxy that buffered whole bodies would show ~256 MiB. */
/** Above this much ArrayBuffer memory a sample is taken again after a full GC. */
const RECHECK_BYTES = 64 * MiB;

/**
 * The most ArrayBuffer memory that was still reachable during `work`. A sample above
 * RECHECK_BYTES is read again after a full GC: the test, the proxy and both upstreams share
 * this process, and how much garbage V8 lets pile up before collecting it differs between
 * Node versions (Node 26 let 130 MiB of released chunks wait), while a proxy that buffers
 * the body keeps it reachable.
 */
async function peakBuffers<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = 0;
  const timer = setInterval(() => {
    let bytes = process.memoryUsage().arrayBuffers;
    if (bytes > RECHECK_BYTES) {
      fullGc();
      bytes = process.memoryUsage().arrayBuffers;
    }
    peak = Math.max(peak, bytes);
  }, 20);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(timer);
  }
}

/** V8's gc(), made callable without starting node with --expose-gc. */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('L7 streaming and upgrades', { timeout: 120_000 }, () => {
  let sink: HttpUpstream;
  let source: HttpUpstream;
  let ws: HttpUpstream;
  let proxy: TestProxy;
  let mute: TestServer;
  const expected = expectedHash();

  before(async () => {
    sink = await startHttpUpstream('sink', (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, hash: hash.digest('hex') })));
    });
    source = await startHttpUpstream('source', (_req, res) => {
      res.writeHead(200, { 'content-length': TOTAL });
      bigStream().pipe(res);
    });
    ws = await startHttpUpstream('ws', (_req, res) => res.end('not a websocket request'));
    const wss = new WebSocketServer({ server: ws.server });
    wss.on('connection', (socket, req) => {
      socket.on('message', (data, binary) => socket.send(data, { binary }));
      socket.send(`hello ${req.headers['x-forwarded-for']}`);
    });
    mute = await startTcpServer(() => {}); // accepts, never answers
    proxy = await startProxy(`
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes:
      - { match: { pathPrefix: /upload }, cluster: sink }
      - { match: { pathPrefix: /download }, cluster: source }
      - { match: { pathPrefix: /ws }, cluster: ws }
      - { match: { pathPrefix: /dead-ws }, cluster: dead }
      - { match: { pathPrefix: /mute-ws }, cluster: mute, timeout: 300ms }
clusters:
  - { name: mute, endpoints: [127.0.0.1:${mute.port}] }
  - { name: dead, endpoints: [127.0.0.1:${await deadPort()}] }
  - { name: sink, endpoints: [127.0.0.1:${sink.port}] }
  - { name: source, endpoints: [127.0.0.1:${source.port}] }
  - { name: ws, endpoints: [127.0.0.1:${ws.port}] }
`);
  });
  after(async () => {
    await proxy?.stop();
    for (const u of [sink, source, ws, mute]) await u?.close();
  });

  it('streams a 256 MiB upload intact (chunked, without buffering it)', async () => {
    const { result, peak } = await peakBuffers(async () => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: proxy.port('web'),
        method: 'POST',
        path: '/upload',
      });
      const response = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
      await pipeline(bigStream(), req);
      const res = await response;
      let body = '';
      for await (const chunk of res) body += chunk;
      return { status: res.statusCode, ...JSON.parse(body) };
    });
    assert.deepEqual(result, { status: 200, bytes: TOTAL, hash: expected });
    assert.ok(
      peak < 128 * MiB,
      `peak buffer memory ${Math.round(peak / MiB)} MiB stays well under the body size`,
    );
  });

  it('streams a 256 MiB download intact (without buffering it)', async () => {
    const { result, peak } = await peakBuffers(
      () =>
        new Promise<{ status: number | undefined; length: string | undefined; bytes: number; hash: string }>(
          (resolve, reject) => {
            httpRequest({ host: '127.0.0.1', port: proxy.port('web'), path: '/download' }, (res) => {
              const hash = createHash('sha256');
              let bytes = 0;
              res.on('data', (c: Buffer) => {
                hash.update(c);
                bytes += c.length;
              });
              res.on('end', () =>
                resolve({
                  status: res.statusCode,
                  length: res.headers['content-length'],
                  bytes,
                  hash: hash.digest('hex'),
                }),
              );
              res.on('error', reject);
            })
              .on('error', reject)
              .end();
          },
        ),
    );
    assert.deepEqual(result, { status: 200, length: String(TOTAL), bytes: TOTAL, hash: expected });
    assert.ok(
      peak < 128 * MiB,
      `peak buffer memory ${Math.round(peak / MiB)} MiB stays well under the body size`,
    );
  });

  it('round-trips 1,000 WebSocket messages through the upgrade', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${proxy.port('web')}/ws/echo`);
    const received: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        received.push(String(data));
        if (received.length === 1001) resolve();
      });
      socket.on('error', reject);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const sent = Array.from({ length: 1000 }, (_, i) => `message ${i} ${'x'.repeat(i % 50)}`);
    for (const m of sent) socket.send(m);
    await done;
    socket.close();
    assert.equal(received[0], 'hello 127.0.0.1', 'the upstream saw x-forwarded-for on the upgrade request');
    assert.deepEqual(received.slice(1), sent);
  });

  it('refuses an upgrade with no route (404), no reachable endpoint (502) or no answer (504), with codes', async () => {
    for (const [path, status, code] of [
      ['/elsewhere', 404, 'no-route'],
      ['/dead-ws', 502, 'upstream-connect-failed'],
      ['/mute-ws', 504, 'upstream-timeout'],
    ] as const) {
      const socket = new WebSocket(`ws://127.0.0.1:${proxy.port('web')}${path}`);
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        socket.on('unexpected-response', (_req, res) => resolve(res));
        socket.on('open', () => reject(new Error('should not open')));
        socket.on('error', () => {});
      });
      assert.equal(response.statusCode, status);
      assert.equal(response.headers['x-portside-error'], code);
      socket.terminate();
    }
  });
});
