import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { loadConfigText } from '../../src/config/load.js';
import type { HttpListenerConfig } from '../../src/config/schema.js';
import { Cluster } from '../../src/core/cluster.js';
import { EndpointStateRegistry } from '../../src/core/endpoint.js';
import { HttpProxyHandler } from '../../src/l7/http-proxy.js';
import { httpClient, startHttpUpstream } from '../helpers/http.js';
import { captureLogger, startProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

/** The handler on its own: a plain net.Server feeds it sockets, as a Listener does. */
async function standalone(upstreamPort: number) {
  const { config } = loadConfigText(
    `listeners:\n  - { name: web, address: 0, protocol: http, routes: [ { match: {}, cluster: up } ] }\nclusters:\n  - { name: up, endpoints: [127.0.0.1:${upstreamPort}] }\n`,
  );
  const cluster = new Cluster('up', new RoundRobinPicker(), new EndpointStateRegistry());
  cluster.setEndpoints([{ host: '127.0.0.1', port: upstreamPort, weight: 1, locality: {} }]);
  const handler = new HttpProxyHandler(
    config!.listeners[0] as HttpListenerConfig,
    (name) => (name === 'up' ? cluster : undefined),
    captureLogger().logger,
  );
  const server: Server = createServer((socket) => handler.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { handler, server, cluster };
}

describe('L7 connections: drain, keep-alive pools', { timeout: 30_000 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('drain closes idle keep-alive connections, lets in-flight requests finish with connection: close', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const upstream = await startHttpUpstream('up', (req, res) => {
      if (req.url === '/hold') void held.then(() => res.end('finally'));
      else res.end('quick');
    });
    cleanups.push(() => upstream.close());
    const { handler, server, cluster } = await standalone(upstream.port);
    const port = (server.address() as { port: number }).port;
    cleanups.push(() => {
      handler.close();
      server.close();
    });

    // An idle keep-alive connection...
    const idle = connect(port, '127.0.0.1');
    idle.write('GET /quick HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(idle, 'data');
    // ...and one waiting for its response.
    const inflight = new Promise<IncomingMessage>((resolve) =>
      httpRequest({ port, host: '127.0.0.1', path: '/hold', agent: false }, resolve).end(),
    );
    await eventually(() => upstream.requests.length === 2, {
      what: 'the held request to reach the upstream',
    });
    assert.equal(handler.openConnections, 2);

    const drained = handler.drain();
    await once(idle, 'close');
    await eventually(() => handler.openConnections === 1, {
      what: 'the proxy side of the idle connection to close',
    });
    release();
    const res = await inflight;
    assert.equal(res.headers.connection, 'close');
    let body = '';
    for await (const chunk of res) body += chunk;
    assert.equal(body, 'finally');
    await drained;
    assert.equal(handler.openConnections, 0);
    assert.equal(cluster.endpoints[0]!.state.active, 0);
    assert.equal(cluster.endpoints[0]!.state.requestsTotal, 2);
  });

  it('reuses upstream keep-alive connections and bounds them per endpoint', async () => {
    let open = 0;
    let peak = 0;
    const upstream = await startHttpUpstream('up', (_req, res) => setTimeout(() => res.end('ok'), 5));
    cleanups.push(() => upstream.close());
    upstream.server.on('connection', (socket) => {
      peak = Math.max(peak, ++open);
      socket.once('close', () => open--);
    });
    const proxy = await startProxy(`listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    upstream: { maxConnectionsPerEndpoint: 3, maxConnectionsPerClient: 3 }
    routes: [ { match: {}, cluster: up } ]
clusters:
  - { name: up, endpoints: [127.0.0.1:${upstream.port}] }
`);
    cleanups.push(() => proxy.stop());
    const client = httpClient(proxy.port('web'), 20);
    cleanups.push(() => client.close());
    for (let i = 0; i < 20; i++) assert.equal((await client.request('/')).body, 'ok');
    assert.equal(peak, 1, 'sequential requests share one upstream connection');
    const endpoint = proxy.proxy.current!.clusters.get('up')!.endpoints[0]!;
    assert.equal(endpoint.state.connectionsTotal, 1);
    assert.equal(endpoint.state.requestsTotal, 20);
    const replies = await Promise.all(Array.from({ length: 60 }, () => client.request('/')));
    assert.ok(replies.every((r) => r.status === 200 && r.body === 'ok'));
    assert.equal(peak, 3, 'concurrent requests queue for at most 3 connections');
  });

  it('a reload switches routes for new requests and retires the old handler', async () => {
    const one = await startHttpUpstream('one');
    const two = await startHttpUpstream('two');
    cleanups.push(
      () => one.close(),
      () => two.close(),
    );
    const yaml = (cluster: string) => `listeners:
  - { name: web, address: 127.0.0.1:0, protocol: http, routes: [ { match: {}, cluster: ${cluster} } ] }
clusters:
  - { name: one, endpoints: [127.0.0.1:${one.port}] }
  - { name: two, endpoints: [127.0.0.1:${two.port}] }
`;
    const proxy = await startProxy(yaml('one'));
    cleanups.push(() => proxy.stop());
    const client = httpClient(proxy.port('web'), 1);
    cleanups.push(() => client.close());
    assert.equal((await client.json('/')).name, 'one');
    const { config } = loadConfigText(yaml('two'));
    await proxy.proxy.apply(config!);
    // The idle keep-alive connection of the old generation is closed; the client reconnects.
    await eventually(async () => (await client.json('/').catch(() => undefined))?.name === 'two', {
      what: 'requests to reach the new route',
    });
    const listener = proxy.proxy.listener('web')!;
    await eventually(() => listener.openConnections === 1, {
      what: 'the old handler to release its connection',
    });
  });
});
