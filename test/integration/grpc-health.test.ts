/**
 * The gRPC active health check (`healthCheck: { grpc: { service } }`) against real
 * @grpc/grpc-js servers: grpc.health.v1.Health/Check answered NOT_SERVING (or an unknown
 * service) marks the endpoint down and calls stop going there; SERVING brings it back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoint } from '../../src/core/endpoint.js';
import {
  type EchoClient,
  echoClient,
  type GrpcServer,
  grpc,
  startGrpcServer,
  unary,
} from '../helpers/grpc.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

const SERVICE = 'portside.test.Echo';

describe('gRPC health check', { timeout: 60_000 }, () => {
  const servers: GrpcServer[] = [];
  let proxy: TestProxy;
  let client: EchoClient;

  before(async () => {
    for (const name of ['a', 'b']) {
      const server = await startGrpcServer(name);
      server.health.set(SERVICE, 'SERVING');
      servers.push(server);
    }
    proxy = await startProxy(`
listeners:
  - name: grpc
    address: 127.0.0.1:0
    protocol: http
    routes:
      - match: { pathPrefix: / }
        cluster: echo
clusters:
  - name: echo
    endpoints: [${servers.map((s) => `127.0.0.1:${s.port}`).join(', ')}]
    panicThreshold: 0
    healthCheck:
      interval: 100ms
      timeout: 2s
      unhealthyThreshold: 2
      healthyThreshold: 2
      grpc: { service: ${SERVICE} }
`);
    client = echoClient(proxy.port('grpc'));
  });
  after(async () => {
    client?.close();
    await proxy?.stop();
    for (const s of servers) await s.close();
  });

  const endpointOf = (server: GrpcServer): Endpoint =>
    proxy.proxy.current!.clusters.get('echo')!.endpoints.find((e) => e.port === server.port)!;
  const healthLine = (server: GrpcServer, pattern: RegExp) =>
    proxy.lines.some(
      (l) => l.event === 'health' && String(l.msg).includes(`:${server.port}`) && pattern.test(String(l.msg)),
    );
  /** Which servers answer `n` calls. */
  const answering = async (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const { reply, error } = await unary(client, 'who');
      assert.equal(error, undefined);
      seen.add(reply!.server);
    }
    return seen;
  };

  it('asks each server about the service, and both serve', async () => {
    await eventually(() => servers.every((s) => s.healthChecks >= 2), { timeoutMs: 10_000, what: 'checks' });
    for (const s of servers) assert.equal(endpointOf(s).state.flags, 0);
    assert.deepEqual([...(await answering(6))].sort(), ['a', 'b']);
  });

  it('marks a NOT_SERVING server down, and up again once it serves', async () => {
    const b = servers[1]!;
    b.health.set(SERVICE, 'NOT_SERVING');
    await eventually(() => endpointOf(b).state.flags !== 0, { timeoutMs: 15_000, what: 'b marked down' });
    assert.ok(healthLine(b, /health checks failed: grpc-not-serving/), 'the reason names NOT_SERVING');
    assert.deepEqual([...(await answering(6))], ['a'], 'no call goes to a down server');

    b.health.set(SERVICE, 'SERVING');
    await eventually(() => endpointOf(b).state.flags === 0, { timeoutMs: 15_000, what: 'b marked up' });
    assert.deepEqual([...(await answering(6))].sort(), ['a', 'b']);
  });

  it('marks a server that does not know the service down (NOT_FOUND)', async () => {
    const a = servers[0]!;
    a.health.delete(SERVICE);
    await eventually(() => endpointOf(a).state.flags !== 0, { timeoutMs: 15_000, what: 'a marked down' });
    assert.ok(healthLine(a, /grpc-status-5/), 'the reason names the gRPC status');
    a.health.set(SERVICE, 'SERVING');
    await eventually(() => endpointOf(a).state.flags === 0, { timeoutMs: 15_000, what: 'a marked up' });
  });
});

describe('gRPC outlier detection', { timeout: 60_000 }, () => {
  it('ejects a server whose calls fail with UNAVAILABLE', async (t) => {
    const servers: GrpcServer[] = [];
    for (const name of ['a', 'b']) servers.push(await startGrpcServer(name));
    const proxy = await startProxy(`
listeners:
  - name: grpc
    address: 127.0.0.1:0
    protocol: http
    routes:
      - match: { pathPrefix: / }
        cluster: echo
        retries: { attempts: 0 }
clusters:
  - name: echo
    endpoints: [${servers.map((s) => `127.0.0.1:${s.port}`).join(', ')}]
    panicThreshold: 0
    outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 1m }
`);
    const client = echoClient(proxy.port('grpc'));
    t.after(async () => {
      client.close();
      await proxy.stop();
      for (const s of servers) await s.close();
    });
    const [a, b] = servers as [GrpcServer, GrpcServer];
    a.failWith = grpc.status.UNAVAILABLE;
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const { reply, error } = await unary(client, 'x');
      outcomes.push(error ? `error ${error.code}` : reply!.server);
    }
    // Three UNAVAILABLE answers in a row (the status only in the trailers-only head) eject a.
    assert.deepEqual(outcomes.slice(0, 6), ['error 14', 'b', 'error 14', 'b', 'error 14', 'b']);
    assert.deepEqual(new Set(outcomes.slice(6)), new Set(['b']), outcomes.join(', '));
    assert.ok(b.unary >= 9);
  });
});
