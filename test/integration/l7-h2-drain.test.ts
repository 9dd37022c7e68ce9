/**
 * HTTP/2 connections across reloads and drains: a reload's new routes serve new streams of
 * an open client connection; a listener that drains sends GOAWAY and lets open streams
 * finish; an upstream's GOAWAY moves new streams to another connection without failing any.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type H2Upstream, h2Connect, h2Request, startH2Upstream } from '../helpers/h2.js';
import { parseConfig, startProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

function config(routeTo: string, ports: Record<string, number>, withListener = true): string {
  const listener = `
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes:
      - { match: { pathPrefix: /slow }, cluster: slow }
      - { match: { pathPrefix: / }, cluster: ${routeTo} }`;
  return `
drainTimeout: 10s
listeners:${withListener ? listener : ' []'}
clusters:
${Object.entries(ports)
  .map(([name, port]) => `  - { name: ${name}, upstreamProtocol: http2, endpoints: [127.0.0.1:${port}] }`)
  .join('\n')}
`;
}

describe('L7 HTTP/2 across reloads and drains', { timeout: 60_000 }, () => {
  let one: H2Upstream;
  let two: H2Upstream;
  let slow: H2Upstream;
  let ports: Record<string, number>;
  let proxy: TestProxy;
  const sessionsSeen: import('node:http2').ServerHttp2Session[] = [];

  before(async () => {
    one = await startH2Upstream('one');
    two = await startH2Upstream('two');
    // Answers 300 ms after the request ends: a stream still open when the drain starts.
    slow = await startH2Upstream('slow', (stream) => {
      setTimeout(() => {
        if (stream.destroyed) return;
        stream.respond({ ':status': 200 });
        stream.end('slow done');
      }, 300);
    });
    one.server.on('session', (s) => sessionsSeen.push(s));
    ports = { one: one.port, two: two.port, slow: slow.port };
    proxy = await startProxy(config('one', ports));
  });
  after(async () => {
    await proxy?.stop();
    for (const u of [one, two, slow]) await u?.close();
  });

  it("serves an open connection's new streams with a reload's new routes", async () => {
    const port = proxy.port('web');
    const session = await h2Connect(port);
    assert.match((await h2Request(session, { ':path': '/a' })).body, /^one /);
    await proxy.proxy.apply(parseConfig(config('two', ports)));
    assert.equal(proxy.port('web'), port, 'the listener kept its socket');
    assert.match((await h2Request(session, { ':path': '/b' })).body, /^two /);
    session.close();
  });

  it('moves new streams to another upstream connection after the upstream sends GOAWAY, failing none', async () => {
    await proxy.proxy.apply(parseConfig(config('one', ports)));
    const session = await h2Connect(proxy.port('web'));
    const before = sessionsSeen.length;
    const results: number[] = [];
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, i) => h2Request(session, { ':path': `/goaway/${round}/${i}` })),
      );
      for (const r of batch) results.push(r.status);
      // The upstream closes its connections gracefully (GOAWAY with the last stream it took).
      if (round % 3 === 1) for (const s of sessionsSeen) if (!s.closed) s.close();
    }
    session.close();
    assert.equal(results.length, 200);
    assert.deepEqual(new Set(results), new Set([200]), 'no request failed');
    assert.ok(sessionsSeen.length - before >= 2, 'Portside opened new upstream connections');
  });

  it('sends GOAWAY when its listener is removed and lets the open stream finish', async () => {
    await proxy.proxy.apply(parseConfig(config('one', ports)));
    const session = await h2Connect(proxy.port('web'));
    let goaway = false;
    session.on('goaway', () => {
      goaway = true;
    });
    const pending = h2Request(session, { ':path': '/slow/x' });
    await eventually(() => slow.requests.length > 0, { what: 'the slow request to arrive' });
    const applied = proxy.proxy.apply(parseConfig(config('one', ports, false)));
    await eventually(() => goaway, { what: 'GOAWAY from the draining listener' });
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slow done');
    await applied;
  });
});
