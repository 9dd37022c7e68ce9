/**
 * The gRPC active health check (`healthCheck: { grpc: { service } }`) against real
 * @grpc/grpc-js servers: grpc.health.v1.Health/Check answered NOT_SERVING (or an unknown
 * service) marks the endpoint down and calls stop going there; SERVING brings it back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoint } from '../../src/core/endpoint.js';
import { type GrpcServer, grpc, ECHO_SERVICE as SERVICE, unary } from '../helpers/grpc.js';
import { type GrpcSetup, startGrpcSetup } from '../helpers/grpc-proxy.js';
import { eventually } from '../helpers/wait.js';

describe('gRPC health check', { timeout: 60_000 }, () => {
  let setup: GrpcSetup;
  let servers: GrpcServer[];

  before(async () => {
    setup = await startGrpcSetup(['a', 'b'], {
      clusterKeys: [
        'panicThreshold: 0',
        `healthCheck: { interval: 100ms, timeout: 2s, unhealthyThreshold: 2, healthyThreshold: 2, grpc: { service: ${SERVICE} } }`,
      ],
    });
    servers = setup.servers;
  });
  after(() => setup?.close());

  const endpointOf = (server: GrpcServer): Endpoint =>
    setup.proxy.proxy.current!.clusters.get('echo')!.endpoints.find((e) => e.port === server.port)!;
  const healthLine = (server: GrpcServer, pattern: RegExp) =>
    setup.proxy.lines.some(
      (l) => l.event === 'health' && String(l.msg).includes(`:${server.port}`) && pattern.test(String(l.msg)),
    );
  /** Which servers answer `n` calls. */
  const answering = async (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const { reply, error } = await unary(setup.client, 'who');
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
    const { servers, client, close } = await startGrpcSetup(['a', 'b'], {
      route: ['retries: { attempts: 0 }'],
      clusterKeys: [
        'panicThreshold: 0',
        'outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 1m }',
      ],
    });
    t.after(close);
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
