import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type HttpUpstream, rawExchange, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startTcpServer } from '../helpers/servers.js';

/**
 * What the proxy lets through from a client to an upstream and back, for the smaller
 * defects of issue 14: absolute-form targets, forged x-forwarded-* fields, empty Host and
 * malformed trailer lines.
 */
describe('L7 HTTP/1.1 strictness end to end', { timeout: 30_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  async function upstream(): Promise<HttpUpstream> {
    const u = await startHttpUpstream('up');
    cleanups.push(() => u.close());
    return u;
  }
  async function proxyTo(port: number): Promise<TestProxy> {
    const p = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes: [ { match: {}, cluster: up } ]
clusters:
  - { name: up, endpoints: [127.0.0.1:${port}] }
`);
    cleanups.push(() => p.stop());
    return p;
  }
  /** A raw upstream that records every byte and answers each read that ends a head or body with 200. */
  async function rawUpstream(answer: string): Promise<{ port: number; received: () => string }> {
    let received = '';
    const server = await startTcpServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (received.endsWith('\r\n\r\n')) socket.write(answer);
      });
    });
    cleanups.push(() => server.close());
    return { port: server.port, received: () => received };
  }

  it('keeps the query of an absolute-form target without a path', async () => {
    const up = await upstream();
    const p = await proxyTo(up.port);
    const { response } = await rawExchange(
      p.port('web'),
      'GET http://a.example?id=7 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n',
    );
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.equal(up.requests[0]?.url, '/?id=7');
  });

  it("sets x-forwarded-host and x-forwarded-proto itself, replacing a client's", async () => {
    const up = await upstream();
    const p = await proxyTo(up.port);
    const { response } = await rawExchange(
      p.port('web'),
      'GET / HTTP/1.1\r\nHost: shop.example:8080\r\nX-Forwarded-Host: evil.example\r\n' +
        'X-Forwarded-Proto: https\r\nx-forwarded-host: evil2.example\r\nConnection: close\r\n\r\n',
    );
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.equal(up.requests[0]?.headers['x-forwarded-host'], 'shop.example:8080');
    assert.equal(up.requests[0]?.headers['x-forwarded-proto'], 'http');
  });

  it('answers 400 to an HTTP/1.1 request with an empty or invalid Host', async () => {
    const up = await upstream();
    const p = await proxyTo(up.port);
    for (const host of ['', 'a b', 'a/b@c']) {
      const { response } = await rawExchange(p.port('web'), `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.match(response, /^HTTP\/1\.1 400 /, JSON.stringify(host));
    }
    assert.equal(up.requests.length, 0);
  });

  it('refuses a request whose trailer is not a field line (400, nothing forwarded)', async () => {
    const up = await rawUpstream('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    const p = await proxyTo(up.port);
    const { response } = await rawExchange(
      p.port('web'),
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nno colon\r\n\r\n',
    );
    assert.match(response, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(up.received(), /no colon/);
  });

  it('does not forward a response whose trailer is not a field line', async () => {
    const up = await rawUpstream(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nno colon\r\n\r\n',
    );
    const p = await proxyTo(up.port);
    // `connection: close`, so the connection ends whether the client gets a 502 or a cut.
    const { response, closedBy } = await rawExchange(
      p.port('web'),
      'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    );
    assert.equal(closedBy, 'server');
    assert.doesNotMatch(response, /no colon/);
    // Either a 502 (nothing sent yet) or a head whose body never ends.
    assert.ok(/^HTTP\/1\.1 502 /.test(response) || !response.endsWith('0\r\n\r\n'), JSON.stringify(response));
  });
});
