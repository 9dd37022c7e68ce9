/**
 * Codec-level defects of issue 14 (item 9): 100-continue sent to HTTP/1.0 clients and before
 * routing, an upstream head followed by a close giving the client an empty reply, and bytes
 * an upstream sends after a bodiless response reaching the next request.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startTcpServer } from '../helpers/servers.js';
import { openConnection, readUntil } from '../helpers/tcp.js';

/** Everything the proxy sends until it ends the connection. */
function readToEnd(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}

describe('L7 codec defects (issue 14)', { timeout: 60_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  async function proxyTo(port: number): Promise<TestProxy> {
    const p = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes: [ { match: { pathPrefix: /public }, cluster: up } ]
clusters:
  - { name: up, endpoints: [127.0.0.1:${port}] }
`);
    cleanups.push(() => p.stop());
    return p;
  }
  async function connection(p: TestProxy): Promise<Socket> {
    const socket = await openConnection(p.port('web'));
    cleanups.push(() => void socket.destroy());
    return socket;
  }

  it('sends no 100 Continue to an HTTP/1.0 client', async () => {
    const up = await startHttpUpstream('up', (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => res.end(`got ${body}`));
    });
    cleanups.push(() => up.close());
    const p = await proxyTo(up.port);
    const socket = await connection(p);
    const reply = readToEnd(socket);
    socket.write('PUT /public/x HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello');
    const text = await reply;
    assert.doesNotMatch(text, /100 Continue/);
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /got hello$/);
  });

  it('answers a request it refuses without a 100 Continue, then closes (the body was never asked for)', async () => {
    const up = await startHttpUpstream('up');
    cleanups.push(() => up.close());
    const p = await proxyTo(up.port);
    const socket = await connection(p);
    const reply = readToEnd(socket);
    socket.write('PUT /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    const text = await reply;
    assert.match(text, /^HTTP\/1\.1 404 /);
    assert.doesNotMatch(text, /100 Continue/);
    assert.match(text, /connection: close/);
    assert.equal(up.requests.length, 0);
  });

  it('sends 100 Continue to a routed HTTP/1.1 request once the exchange wants the body', async () => {
    const up = await startHttpUpstream('up', (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => res.end(`got ${body}`));
    });
    cleanups.push(() => up.close());
    const p = await proxyTo(up.port);
    const socket = await connection(p);
    socket.write('PUT /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    assert.match(await readUntil(socket, (t) => t.includes('\r\n\r\n')), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    socket.write('hello');
    assert.match(await readUntil(socket, (t) => t.endsWith('got hello')), /^HTTP\/1\.1 200 /);
  });

  for (const [what, answer, code] of [
    [
      'a head with content-length and no body',
      'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n',
      'upstream-reset',
    ],
    ['a chunked head and no body', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n', 'upstream-reset'],
    ['part of a head', 'HTTP/1.1 200 OK\r\ncontent-le', 'upstream-reset'],
  ] as const) {
    it(`gives the client a 502 when the upstream sends ${what}, then closes`, async () => {
      const up = await startTcpServer((socket) => {
        socket.once('data', () => socket.end(answer));
      });
      cleanups.push(() => up.close());
      const p = await proxyTo(up.port);
      const socket = await connection(p);
      const reply = readUntil(socket, (t) => t.includes('\n(') || t.endsWith(')\n'));
      // POST: not retried, so the one answer is what the client sees.
      socket.write('POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
      const text = await reply;
      assert.match(text, /^HTTP\/1\.1 502 /, JSON.stringify(text));
      assert.match(text, new RegExp(`x-portside-error: ${code}`));
    });
  }

  for (const [what, request, status] of [
    ['a HEAD', 'HEAD', '200 OK'],
    ['a 304', 'GET', '304 Not Modified'],
  ] as const) {
    it(`never reuses a connection after ${what} answer whose head announced a body`, async () => {
      // The first connection answers its first request with a head that announces 40 bytes,
      // sends nothing more until its next request arrives, then sends a forged response
      // (the "body") before the real one. Every other request gets "genuine".
      let connections = 0;
      const up = await startTcpServer((socket) => {
        const first = ++connections === 1;
        let requests = 0;
        socket.on('data', () => {
          requests++;
          if (first && requests === 1) socket.write(`HTTP/1.1 ${status}\r\ncontent-length: 40\r\n\r\n`);
          else if (first && requests === 2)
            socket.write(
              'HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsmuggled' +
                'HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\ngenuine',
            );
          else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\ngenuine');
        });
      });
      cleanups.push(() => up.close());
      const p = await proxyTo(up.port);
      const socket = await connection(p);
      socket.write(`${request} /public/a HTTP/1.1\r\nHost: x\r\n\r\n`);
      const first = await readUntil(socket, (t) => t.includes('\r\n\r\n'));
      assert.match(first, new RegExp(`^HTTP/1\\.1 ${status}`));
      socket.write('GET /public/b HTTP/1.1\r\nHost: x\r\n\r\n');
      const second = await readUntil(socket, (t) => /(genuine|smuggled)$/.test(t));
      assert.match(second, /genuine$/, JSON.stringify(second));
    });
  }
});
