/**
 * HTTP/2 through an http listener: h2c with prior knowledge on the same port as HTTP/1.1,
 * every request balanced on its own, translation both ways with HTTP/1.1 upstreams, and
 * Portside's own errors. Real peers: node:http2 (nghttp2) clients and servers, curl.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type H2Upstream, h2Connect, h2Request, startH2Upstream } from '../helpers/h2.js';
import { type HttpUpstream, httpClient, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

const run = promisify(execFile);

describe('L7 HTTP/2', { timeout: 60_000 }, () => {
  const h2: H2Upstream[] = [];
  let h1: HttpUpstream;
  const h1Bodies: string[] = [];
  let slow: H2Upstream;
  let proxy: TestProxy;
  let port: number;

  before(async () => {
    for (const n of ['a', 'b', 'c']) h2.push(await startH2Upstream(n));
    h1 = await startHttpUpstream('h1', (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        h1Bodies.push(Buffer.concat(parts).toString());
        res.end('h1 ok');
      });
    });
    // Answers only after the client gives up: what a cancelled call leaves behind.
    slow = await startH2Upstream('slow', () => {});
    proxy = await startProxy(`
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    http2: { maxConcurrentStreams: 50, maxResetsPerSecond: 100 }
    routes:
      - match: { pathPrefix: /h1 }
        cluster: h1
      - match: { pathPrefix: /slow }
        cluster: slow
      - match: { pathPrefix: /dead }
        cluster: dead
      - match: { pathPrefix: /not-h2 }
        cluster: not-h2
      - match: { pathPrefix: /edit }
        cluster: h2
        requestHeaders: { set: { x-added: "yes" } }
        responseHeaders: { set: { x-edited: "1" }, remove: [x-server] }
      - match: { pathPrefix: /, headers: { x-only: "h2" } }
        cluster: h2
      - match: { pathPrefix: /any }
        cluster: h2
clusters:
  - name: h2
    upstreamProtocol: http2
    endpoints: [${h2.map((u) => `127.0.0.1:${u.port}`).join(', ')}]
  - name: h1
    upstreamProtocol: http1
    endpoints: [127.0.0.1:${h1.port}]
  - name: slow
    endpoints: [127.0.0.1:${slow.port}]
  - name: dead
    upstreamProtocol: http2
    endpoints: [127.0.0.1:1]
  - name: not-h2
    upstreamProtocol: http2
    endpoints: [127.0.0.1:${h1.port}]
`);
    port = proxy.port('web');
  });
  after(async () => {
    await proxy?.stop();
    for (const u of [...h2, slow]) await u?.close();
    await h1?.close();
  });

  it('balances every request of one client connection over all endpoints', async () => {
    const session = await h2Connect(port);
    const before = h2.map((u) => u.requests.length);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => h2Request(session, { ':path': `/any/${i}`, 'x-only': 'h2' })),
    );
    session.close();
    for (const a of answers) assert.equal(a.status, 200);
    const counts = h2.map((u, i) => u.requests.length - before[i]!);
    assert.deepEqual(counts, [10, 10, 10], 'round robin per request, not per connection');
    const seen = h2[0]!.requests.at(-1)!;
    assert.equal(seen[':authority'], `127.0.0.1:${port}`, ':authority reaches the upstream');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.ok(seen['x-request-id'], 'a request id is added');
    assert.equal(answers[0]!.trailers?.['x-trailer'] !== undefined, true, 'trailers are forwarded');
  });

  it('serves HTTP/1.1 on the same port', async () => {
    const client = httpClient(port);
    const res = await client.request('/any/h1-client', { headers: { 'x-only': 'h2' } });
    await client.close();
    assert.equal(res.status, 200);
    assert.match(res.body, /^[abc] \/any\/h1-client/);
  });

  it('translates an HTTP/2 request with a body of unknown length for an HTTP/1.1 upstream', async () => {
    const session = await h2Connect(port);
    const res = await h2Request(session, { ':path': '/h1/upload', ':method': 'POST' }, 'x'.repeat(70_000));
    session.close();
    assert.equal(res.status, 200);
    const seen = h1.requests.at(-1)!;
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
    assert.equal(h1Bodies.at(-1)?.length, 70_000);
    assert.equal(seen.headers.host, `127.0.0.1:${port}`);
  });

  it('translates an HTTP/1.1 chunked upload for an HTTP/2 upstream (curl)', async () => {
    const { stdout } = await run('curl', [
      '-s',
      '-H',
      'x-only: h2',
      '-H',
      'transfer-encoding: chunked',
      '--data-binary',
      'chunked-body',
      `http://127.0.0.1:${port}/any/chunked`,
    ]);
    assert.match(stdout, /^[abc] \/any\/chunked chunked-body$/);
  });

  it('works for curl --http2-prior-knowledge, with route header edits', async () => {
    const { stdout } = await run('curl', [
      '-s',
      '-i',
      '--http2-prior-knowledge',
      `http://127.0.0.1:${port}/edit/x`,
    ]);
    assert.match(stdout, /^HTTP\/2 200/);
    assert.match(stdout, /x-edited: 1/);
    assert.doesNotMatch(stdout, /x-server/);
    assert.equal(
      h2.some((u) => u.requests.at(-1)?.['x-added'] === 'yes'),
      true,
    );
  });

  it("answers Portside's own errors: 404 for no route, 502 for a dead endpoint, gRPC statuses for gRPC", async () => {
    const session = await h2Connect(port);
    const none = await h2Request(session, { ':path': '/nowhere' });
    assert.equal(none.status, 404);
    assert.equal(none.headers['x-portside-error'], 'no-route');
    const dead = await h2Request(session, { ':path': '/dead' });
    assert.equal(dead.status, 502);
    const grpc = { 'content-type': 'application/grpc', te: 'trailers', ':method': 'POST' };
    const unimplemented = await h2Request(session, { ...grpc, ':path': '/pkg.Svc/Nowhere' }, '');
    assert.equal(unimplemented.status, 200);
    assert.equal(unimplemented.headers['grpc-status'], '12');
    const unavailable = await h2Request(session, { ...grpc, ':path': '/dead/pkg.Svc/Call' }, '');
    assert.equal(unavailable.headers['grpc-status'], '14');
    session.close();
  });

  it('says so when an endpoint does not speak HTTP/2 (an HTTP/1.1-only server behind upstreamProtocol: http2)', async () => {
    const session = await h2Connect(port);
    const res = await h2Request(session, { ':path': '/not-h2/x' });
    session.close();
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-portside-error'], 'upstream-protocol-error');
    const line = await eventually(() =>
      proxy.lines.find((l) => l.msg === 'http request' && l.path === '/not-h2/x'),
    );
    assert.equal(line.error, 'upstream-protocol-error');
  });

  it('refuses an HTTP/1.1 Upgrade: h2c by serving the request as HTTP/1.1', async () => {
    // curl --http2 on cleartext asks for the upgrade (Upgrade: h2c, HTTP2-Settings).
    const { stdout } = await run('curl', [
      '-s',
      '-i',
      '--http2',
      '-H',
      'x-only: h2',
      `http://127.0.0.1:${port}/any/upgrade`,
    ]);
    assert.match(stdout, /^HTTP\/1\.1 200/);
    assert.match(stdout, /\/any\/upgrade/);
    const seen = h2.map((u) => u.requests.at(-1)).find((r) => r?.[':path'] === '/any/upgrade');
    assert.equal(seen?.upgrade, undefined, 'the upgrade headers are not forwarded');
    assert.equal(seen?.['http2-settings'], undefined);
  });

  it('advertises its stream limit and resets reach the upstream', async () => {
    const session = await h2Connect(port);
    await eventually(() => session.remoteSettings.maxConcurrentStreams === 50);
    const req = session.request({ ':path': '/slow/cancel', ':method': 'POST' });
    req.on('error', () => {});
    req.write('started');
    await eventually(() => slow.requests.length === 1);
    req.close(constants.NGHTTP2_CANCEL);
    await eventually(() => slow.aborted === 1);
    session.close();
  });

  it('closes a connection that resets streams faster than maxResetsPerSecond (rapid reset)', async () => {
    const session = await h2Connect(port);
    let goawayCode: number | undefined;
    session.on('goaway', (code) => {
      goawayCode = code;
    });
    for (let i = 0; i < 400 && !session.destroyed && goawayCode === undefined; i++) {
      const req = session.request({ ':path': '/slow/reset', 'x-only': 'h2' });
      req.on('error', () => {});
      req.close(constants.NGHTTP2_CANCEL);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await eventually(() => goawayCode !== undefined || session.destroyed);
    assert.equal(goawayCode, constants.NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
  });
});
