import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { httpClient, startHttpUpstream } from '../helpers/http.js';
import { startProxy } from '../helpers/proxy.js';
import { openConnection } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

/** What one client does: a request, and where (if anywhere) it gives up. */
interface Move {
  path: '/ok' | '/big' | '/echo' | '/reset' | '/partial';
  body: 'none' | 'length' | 'chunked';
  bodyBytes: number;
  abort: 'never' | 'after-head' | 'mid-body' | 'after-first-byte';
  pipelined: boolean;
}

const move = fc.record<Move>({
  path: fc.constantFrom('/ok', '/big', '/echo', '/reset', '/partial'),
  body: fc.constantFrom('none', 'length', 'chunked'),
  bodyBytes: fc.integer({ min: 1, max: 200_000 }),
  abort: fc.constantFrom('never', 'after-head', 'mid-body', 'after-first-byte'),
  pipelined: fc.boolean(),
});

function requestBytes(m: Move): { head: string; body: Buffer } {
  const payload = randomBytes(m.body === 'none' ? 0 : m.bodyBytes);
  const method = m.body === 'none' ? 'GET' : 'POST';
  if (m.body === 'length') {
    return {
      head: `${method} ${m.path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${payload.length}\r\n\r\n`,
      body: payload,
    };
  }
  if (m.body === 'chunked') {
    const body = Buffer.concat([
      Buffer.from(`${payload.length.toString(16)}\r\n`),
      payload,
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
    return { head: `${method} ${m.path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, body };
  }
  return { head: `${method} ${m.path} HTTP/1.1\r\nHost: x\r\n\r\n`, body: payload };
}

/** Plays one move on its own connection; resolves when the connection is done either way. */
async function play(port: number, m: Move): Promise<void> {
  const socket: Socket = await openConnection(port);
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const { head, body } = requestBytes(m);
  socket.write(head);
  if (m.abort === 'after-head') {
    socket.destroy();
    return closed;
  }
  if (m.abort === 'mid-body' && body.length > 1) {
    socket.write(body.subarray(0, body.length >> 1));
    setTimeout(() => socket.destroy(), 5);
    return closed;
  }
  socket.write(body);
  if (m.pipelined) socket.write('GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  // The client leaves once the answers stop coming (or at the first byte, for that move).
  let quiet: NodeJS.Timeout | undefined;
  socket.on('data', () => {
    if (m.abort === 'after-first-byte') socket.destroy();
    clearTimeout(quiet);
    quiet = setTimeout(() => socket.destroy(), 100);
  });
  // A proxy that never answers would keep the socket open this long.
  setTimeout(() => socket.destroy(), 3000).unref();
  return closed;
}

test('random client aborts, upstream resets and pipelining leave nothing behind', {
  timeout: 60_000,
}, async (t) => {
  const big = Buffer.alloc(256 * 1024, 'abcdefgh');
  const upstream = await startHttpUpstream('chaos', (req, res) => {
    if (req.url === '/reset') return void setTimeout(() => req.socket.destroy(), 2);
    if (req.url === '/partial') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('only part of it');
      return void setTimeout(() => req.socket.destroy(), 2);
    }
    if (req.url === '/echo') return void req.pipe(res);
    req.resume();
    req.on('end', () => res.end(req.url === '/big' ? big : 'ok'));
  });
  t.after(() => upstream.close());
  const p = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    accessLog: false
    upstream: { maxConnectionsPerEndpoint: 8 }
    routes: [ { match: {}, cluster: up, timeout: 2s, retries: { attempts: 0 } } ]
clusters:
  - { name: up, endpoints: [127.0.0.1:${upstream.port}] }
`);
  t.after(() => p.stop());
  const port = p.port('web');
  const moves = fc.sample(move, 240);
  for (let i = 0; i < moves.length; i += 24)
    await Promise.all(moves.slice(i, i + 24).map((m) => play(port, m)));

  const endpoint = p.proxy.current!.clusters.get('up')!.endpoints[0]!;
  await eventually(() => endpoint.state.active === 0, { what: 'every attempt to end' });
  await eventually(() => p.proxy.listener('web')!.openConnections === 0, {
    what: 'every client connection to close',
  });
  const client = httpClient(port, 2);
  t.after(() => client.close());
  for (let i = 0; i < 20; i++) {
    const reply = await client.request('/big');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, big.toString(), 'still serving whole bodies');
  }
  const echoed = await client.request('/echo', { method: 'POST', body: big });
  assert.equal(echoed.body, big.toString(), 'and whole uploads');
  assert.equal(endpoint.state.active, 0);
});
