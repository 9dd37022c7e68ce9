/**
 * One test per timeout phase (README "Timeouts"). The phases tested elsewhere:
 *
 * - client head, `limits.headersTimeout` → 408 headers-timeout:
 *     l7-errors.test.ts "closes a client that sends its headers too slowly (408)…"
 * - upstream head, route `timeout` → 504 upstream-timeout:
 *     l7-errors.test.ts "answers 404/502/503/504 with x-portside-error codes" (/slow)
 * - upstream head, route `perTryTimeout` → retried, else 504:
 *     l7-errors.test.ts "retries an attempt that passes perTryTimeout on another endpoint"
 * - upstream body, `upstream.bodyTimeout` → response cut / 502|504:
 *     l7-h1-engine.test.ts "cuts a response whose body stalls longer than upstream.bodyTimeout"
 *     and "gives up on an upload the upstream stopped reading after upstream.bodyTimeout"
 * - drain, `drainTimeout` → remaining connections cut:
 *     e2e/cli.test.ts "run: cuts connections still open when drainTimeout expires, and exits 0"
 *     hot-reload.test.ts "an L4 connection keeps streaming across reloads … until drainTimeout"
 * - L4 `idleTimeout` → close: l4-proxy.test.ts "closes connections idle for longer than idleTimeout"
 * - tunnel idle, `limits.tunnelIdleTimeout`: wired and tested with the upgrade tunnel.
 *
 * Here: client body, waiting for a pooled connection, upstream connect (L7 and L4),
 * client keep-alive idle, upstream keep-alive idle; and the per-client share of a pool.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { HttpProxyHandler } from '../../src/l7/http-proxy.js';
import { startBlackhole } from '../helpers/blackhole.js';
import { type HttpUpstream, rawExchange, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startNamedServer } from '../helpers/servers.js';
import { whoAnswers } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

/** A client connection from `localAddress` (127.0.0.x: a distinct client address on loopback). */
function connectFrom(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything `socket` receives until the server closes it. */
function readToClose(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {});
    socket.once('close', () => resolve(text));
  });
}

/** One GET from `localAddress` on its own connection. */
function getFrom(
  port: number,
  path: string,
  localAddress: string,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const STALLED_UPLOAD = 'POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nx';

describe('L7 timeouts, one per phase', { timeout: 60_000 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  /** Answers `got N bytes` once the request body is complete; counts upstream connections closed. */
  async function upstream(): Promise<HttpUpstream & { closed: () => number; open: () => number }> {
    const u = await startHttpUpstream('up', (req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => res.end(`got ${bytes} bytes`));
    });
    let opened = 0;
    let closed = 0;
    u.server.on('connection', (s: Socket) => {
      opened++;
      s.once('close', () => closed++);
    });
    cleanups.push(() => u.close());
    return { ...u, closed: () => closed, open: () => opened - closed };
  }
  async function proxy(port: number, listenerExtra: string, routeExtra = ''): Promise<TestProxy> {
    const p = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
${listenerExtra}    routes: [ { match: {}, cluster: up${routeExtra} } ]
clusters:
  - { name: up, endpoints: [127.0.0.1:${port}] }
`);
    cleanups.push(() => p.stop());
    return p;
  }
  async function client(port: number, localAddress?: string): Promise<Socket> {
    const socket = await connectFrom(port, localAddress);
    cleanups.push(() => socket.destroy());
    return socket;
  }

  it('client body: a body that stops arriving gets 408 after limits.bodyTimeout and frees its pooled connection', async () => {
    const up = await upstream();
    const p = await proxy(
      up.port,
      '    limits: { bodyTimeout: 200ms }\n    upstream: { maxConnectionsPerEndpoint: 2, maxConnectionsPerClient: 2 }\n',
      ', timeout: 10s',
    );
    const port = p.port('web');
    // Two uploads that stall after one byte hold both pooled connections of the endpoint.
    const stalled = await Promise.all([client(port), client(port)]);
    const answers = stalled.map(readToClose);
    for (const socket of stalled) socket.write(STALLED_UPLOAD);
    await eventually(() => up.requests.length === 2, { what: 'both uploads to reach the upstream' });
    // Another client waits for a connection, and gets one once the stalled uploads are cut.
    const other = await getFrom(port, '/other', '127.0.0.2');
    assert.equal(other.status, 200, other.body);
    assert.equal(other.body, 'got 0 bytes');
    for (const text of await Promise.all(answers)) {
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /x-portside-error: body-timeout/);
      assert.match(text, /connection: close/);
    }
    // The upstream connections that carried the stalled uploads are closed, not reused.
    await eventually(() => up.closed() >= 2, { what: 'the stalled uploads’ upstream connections to close' });
    const endpoint = p.proxy.current!.clusters.get('up')!.endpoints[0]!;
    await eventually(() => endpoint.state.active === 0, { what: 'no attempt left active' });
    assert.equal(endpoint.state.failuresTotal, 0, 'a slow client is not the endpoint’s failure');
    const timedOut = () => p.lines.filter((l) => l.msg === 'http request' && l.error === 'body-timeout');
    await eventually(() => timedOut().length >= 2, { what: 'two body-timeout access log lines' });
    assert.equal(timedOut().length, 2);
  });

  it('a client address holds at most upstream.maxConnectionsPerClient of a pool; others still get connections', async () => {
    const up = await upstream();
    // A pool of 4: one client address may hold 2 (the default: half the pool).
    const p = await proxy(up.port, '    upstream: { maxConnectionsPerEndpoint: 4 }\n');
    const port = p.port('web');
    const greedy = await Promise.all(Array.from({ length: 4 }, () => client(port, '127.0.0.1')));
    greedy[0]!.write(STALLED_UPLOAD);
    greedy[1]!.write(STALLED_UPLOAD);
    await eventually(() => up.requests.length === 2, { what: 'two stalled uploads to reach the upstream' });
    greedy[2]!.write(STALLED_UPLOAD);
    greedy[3]!.write(STALLED_UPLOAD);
    const handler = p.proxy.listener('web')!.handler as HttpProxyHandler;
    const endpoint = p.proxy.current!.clusters.get('up')!.endpoints[0]!;
    const pool = handler.pools.get(endpoint);
    await eventually(() => pool.queued === 2, { what: 'two more uploads of the same client to wait' });
    // A second client is served at once, though the pool has free connections only for it.
    const other = await getFrom(port, '/other', '127.0.0.2');
    assert.equal(other.status, 200, other.body);
    assert.equal(up.requests.length, 3, 'the greedy client still holds only two connections');
    assert.equal(pool.queued, 2);
    // When one of the greedy client's uploads completes, its next one takes the connection.
    const answer = new Promise<string>((resolve) =>
      greedy[0]!.once('data', (c: Buffer) => resolve(String(c))),
    );
    greedy[0]!.write('y'.repeat(99));
    assert.match(await answer, /^HTTP\/1\.1 200 [\s\S]*got 100 bytes/);
    await eventually(() => up.requests.filter((r) => r.url === '/upload').length === 3, {
      what: 'a waiting upload of the same client to get the freed connection',
    });
    assert.equal(pool.queued, 1);
    // A waiting request whose client goes away leaves the queue; the shares come back to nothing.
    for (const socket of greedy) socket.destroy();
    await eventually(() => pool.queued === 0 && endpoint.state.active === 0, {
      what: 'the greedy client’s requests to leave the pool',
    });
    // Its share is whole again: two new stalled uploads both get a connection.
    const uploads = up.requests.filter((r) => r.url === '/upload').length;
    for (const socket of await Promise.all([client(port), client(port)])) socket.write(STALLED_UPLOAD);
    await eventually(() => up.requests.filter((r) => r.url === '/upload').length === uploads + 2, {
      what: 'two new uploads of the client to reach the upstream',
    });
  });

  it('issue 14 defect 2 with default settings: 130 stalled uploads from one client leave others served', async () => {
    const up = await upstream();
    const p = await proxy(up.port, '');
    const port = p.port('web');
    const stalled = await Promise.all(Array.from({ length: 130 }, () => client(port, '127.0.0.1')));
    for (const socket of stalled) socket.write(STALLED_UPLOAD);
    // The default share: half of the 128 connections of the endpoint's pool.
    await eventually(() => up.requests.length === 64, { what: '64 stalled uploads to reach the upstream' });
    const other = await getFrom(port, '/other', '127.0.0.2');
    assert.equal(other.status, 200, other.body);
  });

  it('client body: a body that keeps arriving slowly is not cut by limits.bodyTimeout', async () => {
    const up = await upstream();
    const p = await proxy(up.port, '    limits: { bodyTimeout: 2s }\n');
    const socket = await client(p.port('web'));
    const answer = readToClose(socket);
    socket.write('POST /slow HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 40\r\n\r\n');
    // 40 bytes over about 3 s: longer than the timeout, never silent for long.
    for (let i = 0; i < 40; i++) {
      socket.write('z');
      await new Promise((resolve) => setTimeout(resolve, 75));
    }
    assert.match(await answer, /^HTTP\/1\.1 200 [\s\S]*got 40 bytes$/);
  });

  it('waiting for a pooled connection: an upload waits at most the route timeout (504)', async () => {
    const up = await upstream();
    const p = await proxy(up.port, '    upstream: { maxConnectionsPerEndpoint: 1 }\n', ', timeout: 300ms');
    const stalled = await client(p.port('web'), '127.0.0.1');
    stalled.write(STALLED_UPLOAD);
    await eventually(() => up.requests.length === 1, {
      what: 'the stalled upload to hold the only connection',
    });
    // Its body is not read while it waits, so no other timer covers the wait.
    const waiting = await rawExchange(
      p.port('web'),
      'POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello',
      10_000,
    );
    assert.equal(waiting.closedBy, 'server');
    assert.match(waiting.response, /^HTTP\/1\.1 504 /);
    assert.match(waiting.response, /x-portside-error: upstream-timeout/);
    assert.equal(up.requests.length, 1);
  });

  it('upstream connect: upstream.connectTimeout fails an attempt that cannot connect (502)', async () => {
    const blackhole = await startBlackhole();
    cleanups.push(() => blackhole.close());
    const p = await proxy(blackhole.port, '    upstream: { connectTimeout: 300ms }\n', ', timeout: 10s');
    const reply = await getFrom(p.port('web'), '/', '127.0.0.1');
    assert.equal(reply.status, 502);
    assert.equal(reply.headers['x-portside-error'], 'upstream-connect-failed');
    const endpoint = p.proxy.current!.clusters.get('up')!.endpoints[0]!;
    // The route retries a connect failure once (on the same, only endpoint).
    assert.equal(endpoint.state.failuresTotal, 2);
  });

  it('L4 connect: connectTimeout moves on to the next endpoint', async () => {
    const blackhole = await startBlackhole();
    cleanups.push(() => blackhole.close());
    const live = await startNamedServer('live');
    cleanups.push(() => live.close());
    const p = await startProxy(`listeners:
  - { name: l4, address: 127.0.0.1:0, cluster: up, connectTimeout: 300ms }
clusters:
  - { name: up, endpoints: [127.0.0.1:${blackhole.port}, 127.0.0.1:${live.port}] }
`);
    cleanups.push(() => p.stop());
    assert.equal(await whoAnswers(p.port('l4')), 'live');
    assert.equal(await whoAnswers(p.port('l4')), 'live');
    const dead = p.proxy.current!.clusters.get('up')!.endpoints[0]!;
    assert.ok(dead.state.failuresTotal >= 1, 'the blackholed endpoint was tried and timed out');
  });

  it('client keep-alive: limits.keepAliveTimeout closes an idle client connection', async () => {
    const up = await upstream();
    const p = await proxy(up.port, '    limits: { keepAliveTimeout: 300ms }\n');
    const socket = await client(p.port('web'));
    const text = readToClose(socket);
    socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    // The answer, then the proxy closes the idle connection (the test's own timeout is 60 s).
    assert.match(await text, /^HTTP\/1\.1 200 [\s\S]*got 0 bytes$/);
  });

  it('upstream keep-alive: upstream.idleTimeout closes an idle pooled connection', async () => {
    const up = await upstream();
    const p = await proxy(up.port, '    upstream: { idleTimeout: 200ms }\n');
    const reply = await getFrom(p.port('web'), '/', '127.0.0.1');
    assert.equal(reply.status, 200);
    await eventually(() => up.closed() === 1, { what: 'the pooled connection to close', timeoutMs: 10_000 });
  });
});
