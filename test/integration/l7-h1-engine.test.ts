import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { type HttpUpstream, httpClient, rawExchange, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startTcpServer } from '../helpers/servers.js';
import { openConnection, readUntil } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

const count = (text: string, part: string) => text.split(part).length - 1;

/**
 * Behaviours of Portside's own HTTP/1.1 engine that the other L7 tests do not reach:
 * pipelining, early responses, HTTP/1.0 clients, close-delimited and chunked responses,
 * 100-continue, and stale upstream keep-alive sockets.
 */
describe('L7 HTTP/1.1 engine', { timeout: 30_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  async function upstream(...args: Parameters<typeof startHttpUpstream>): Promise<HttpUpstream> {
    const u = await startHttpUpstream(...args);
    cleanups.push(() => u.close());
    return u;
  }
  async function proxyTo(port: number, extra = ''): Promise<TestProxy> {
    const p = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes: [ { match: {}, cluster: up${extra} } ]
clusters:
  - { name: up, endpoints: [127.0.0.1:${port}] }
`);
    cleanups.push(() => p.stop());
    return p;
  }

  it('answers pipelined requests in order on one connection', async () => {
    const up = await upstream('up', (req, res) => res.end(`you asked for ${req.url}`));
    const p = await proxyTo(up.port);
    const socket = await openConnection(p.port('web'));
    cleanups.push(() => void socket.destroy());
    const paths = ['/one', '/two', '/three', '/four'];
    socket.write(paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    const text = await readUntil(
      socket,
      (t) => count(t, 'you asked for') === paths.length && t.endsWith('/four'),
    );
    const order = [...text.matchAll(/you asked for (\/[a-z]+)/g)].map((m) => m[1]);
    assert.deepEqual(order, paths);
    assert.equal(count(text, 'HTTP/1.1 200 '), paths.length);
  });

  it('relays an early upstream answer to an upload it did not read, then closes', async () => {
    const up = await upstream('up', (_req, res) =>
      res.writeHead(413, { 'content-length': 8 }).end('too big!'),
    );
    const p = await proxyTo(up.port);
    const socket = await openConnection(p.port('web'));
    cleanups.push(() => void socket.destroy());
    socket.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n');
    socket.write(randomBytes(64 * 1024));
    const text = await readUntil(socket, (t) => t.endsWith('too big!'));
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.match(text, /connection: close/i);
  });

  it('serves HTTP/1.0 clients: keep-alive on request, chunked bodies decoded, close otherwise', async () => {
    const up = await upstream('up', (req, res) => {
      if (req.url === '/chunked') {
        res.write('part one, ');
        res.end('part two');
      } else res.end('fixed');
    });
    const p = await proxyTo(up.port);
    const socket = await openConnection(p.port('web'));
    cleanups.push(() => void socket.destroy());
    socket.write('GET /fixed HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const first = await readUntil(socket, (t) => t.endsWith('fixed'));
    assert.match(first, /^HTTP\/1\.1 200 /);
    assert.match(first, /connection: keep-alive/i);
    const { response } = await rawExchange(p.port('web'), 'GET /chunked HTTP/1.0\r\n\r\n');
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(response, /transfer-encoding/i);
    assert.ok(response.endsWith('\r\n\r\npart one, part two'), JSON.stringify(response));
  });

  it('re-chunks a close-delimited upstream response and keeps the client connection', async () => {
    const legacy = await startTcpServer((socket) => {
      socket.once('data', () =>
        socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'),
      );
    });
    cleanups.push(() => legacy.close());
    const p = await proxyTo(legacy.port);
    const client = httpClient(p.port('web'), 1);
    cleanups.push(() => client.close());
    for (let i = 0; i < 3; i++) {
      const reply = await client.request('/');
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'until the end');
      assert.equal(reply.headers['transfer-encoding'], 'chunked');
    }
    assert.equal(
      p.proxy.listener('web')!.stats.connectionsTotal,
      1,
      'one client connection served all three',
    );
  });

  it('forwards chunked responses as they came, trailers included, on a kept connection', async () => {
    const up = await upstream('up', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
      res.write('first ');
      setTimeout(() => {
        res.addTrailers({ 'x-sum': '42' });
        res.end('second');
      }, 20);
    });
    const p = await proxyTo(up.port);
    const socket = await openConnection(p.port('web'));
    cleanups.push(() => void socket.destroy());
    for (let i = 0; i < 2; i++) {
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const text = await readUntil(socket, (t) => t.endsWith('0\r\nx-sum: 42\r\n\r\n'));
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.match(text, /transfer-encoding: chunked\r\n/i);
      assert.doesNotMatch(text, /content-length/i);
      assert.ok(text.includes('\r\n\r\n6\r\nfirst \r\n6\r\nsecond\r\n0\r\n'), JSON.stringify(text));
    }
  });

  it('cuts a response whose body stalls longer than upstream.bodyTimeout', async () => {
    const stalling = await startTcpServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes!'));
    });
    cleanups.push(() => stalling.close());
    const p = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    upstream: { bodyTimeout: 1s }
    routes: [ { match: {}, cluster: up } ]
clusters:
  - { name: up, endpoints: [127.0.0.1:${stalling.port}] }
`);
    cleanups.push(() => p.stop());
    const { response, closedBy } = await rawExchange(
      p.port('web'),
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      10_000,
    );
    assert.equal(closedBy, 'server', 'the proxy cut the response');
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.ok(response.endsWith('ten bytes!'), JSON.stringify(response));
    const endpoint = p.proxy.current!.clusters.get('up')!.endpoints[0]!;
    assert.equal(endpoint.state.failuresTotal, 1);
    assert.equal(endpoint.state.active, 0);
  });

  it('gives up on an upload the upstream stopped reading after upstream.bodyTimeout', async () => {
    // Reads the request head, then nothing more: the upload fills the socket buffers.
    const deaf = await startTcpServer((socket) => {
      socket.once('data', () => socket.pause());
    });
    cleanups.push(() => deaf.close());
    const p = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    upstream: { bodyTimeout: 1s }
    routes: [ { match: {}, cluster: up, timeout: 1h } ]
clusters:
  - { name: up, endpoints: [127.0.0.1:${deaf.port}] }
`);
    cleanups.push(() => p.stop());
    const total = 64 << 20;
    const socket = await openConnection(p.port('web'));
    cleanups.push(() => void socket.destroy());
    socket.on('error', () => {});
    socket.write(`PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
    const chunk = Buffer.alloc(64 << 10, 0x61);
    let written = 0;
    const answer = readUntil(socket, (t) => t.includes('\r\n\r\n'));
    // Write until the proxy stops taking bytes (backpressure all the way back to us).
    const pump = async () => {
      while (written < total && !socket.destroyed) {
        written += chunk.length;
        if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), answer]);
      }
    };
    void pump().catch(() => {});
    const head = await answer;
    assert.match(head, /^HTTP\/1\.1 50[24] /);
    assert.match(head, /x-portside-error: /);
    assert.ok(written < total, 'the proxy answered before the upload could finish');
    const endpoint = p.proxy.current!.clusters.get('up')!.endpoints[0]!;
    await eventually(() => endpoint.state.active === 0, { what: 'the attempt to end' });
    assert.equal(endpoint.state.failuresTotal, 1);
  });

  it('answers Expect: 100-continue, then forwards the body', async () => {
    const up = await upstream('up', (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => res.end(`got ${body}`));
    });
    const p = await proxyTo(up.port);
    const socket = await openConnection(p.port('web'));
    cleanups.push(() => void socket.destroy());
    socket.write('PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    const interim = await readUntil(socket, (t) => t.includes('\r\n\r\n'));
    assert.match(interim, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    socket.write('hello');
    const text = await readUntil(socket, (t) => t.endsWith('got hello'));
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.equal(up.requests[0]!.headers.expect, undefined, 'expect is answered by the proxy, not forwarded');
  });

  it('retries a GET once on a fresh socket when a reused keep-alive socket turns out closed', async () => {
    let connections = 0;
    const flaky = await startTcpServer((socket) => {
      const n = ++connections;
      let requests = 0;
      socket.on('data', () => {
        // The first connection answers once, then drops its next request like a server
        // whose keep-alive timeout just passed.
        if (n === 1 && ++requests === 2) socket.destroy();
        else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    cleanups.push(() => flaky.close());
    const p = await proxyTo(flaky.port, ', retries: { attempts: 0 }');
    const client = httpClient(p.port('web'), 1);
    cleanups.push(() => client.close());
    assert.equal((await client.request('/')).body, 'ok');
    const second = await client.request('/');
    assert.equal(second.status, 200, second.body);
    assert.equal(connections, 2);
    const endpoint = p.proxy.current!.clusters.get('up')!.endpoints[0]!;
    assert.equal(endpoint.state.failuresTotal, 0, 'a stale socket is not the endpoint failing');
    assert.equal(endpoint.state.active, 0);
  });
});
