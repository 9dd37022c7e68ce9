/**
 * gRPC failures through Portside as a real @grpc/grpc-js client sees them: deadlines
 * (the client's `grpc-timeout` and the route timeout), cancellation reaching the server,
 * a server's own error status passed through, and Portside's own failures answered as
 * trailers-only gRPC responses that grpc-js decodes into the right status codes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMetrics } from '../../src/admin/metrics.js';
import { ProxyAdminSource } from '../../src/admin/proxy-source.js';
import {
  type EchoClient,
  echoClient,
  type GrpcServer,
  grpc,
  startGrpcServer,
  unary,
} from '../helpers/grpc.js';
import { echoCluster, grpcListener } from '../helpers/grpc-proxy.js';
import { h2Connect, h2Request } from '../helpers/h2.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

describe('gRPC errors', { timeout: 60_000 }, () => {
  let server: GrpcServer;
  let proxy: TestProxy;
  let client: EchoClient;
  const others: EchoClient[] = [];

  before(async () => {
    server = await startGrpcServer('s');
    proxy = await startProxy(`listeners:
${grpcListener('grpc', { keys: ['accessLog: true'], route: ['name: echo'] })}
${grpcListener('short', { route: ['timeout: 300ms'] })}
${grpcListener('unbounded', { route: ['timeout: 0s'] })}
${grpcListener('unrouted', { pathPrefix: '/somewhere-else/' })}
${grpcListener('nobody', { cluster: 'nobody', route: ['name: nobody'] })}
${grpcListener('refused', { cluster: 'dead' })}
clusters:
${echoCluster([server])}
  - { name: nobody, endpoints: [] }
  - { name: dead, endpoints: ["127.0.0.1:1"] }
`);
    client = echoClient(proxy.port('grpc'));
  });
  after(async () => {
    client?.close();
    for (const c of others) c.close();
    await proxy?.stop();
    await server?.close();
  });

  const clientOf = (listener: string) => {
    const c = echoClient(proxy.port(listener));
    others.push(c);
    return c;
  };

  it('reports DEADLINE_EXCEEDED for a call past its deadline, and the server sees it cancelled', async () => {
    const cancelled = server.cancelled;
    const started = server.started;
    // Long enough for the call to reach the server on a loaded machine (the first call also
    // opens the upstream connection): a call the deadline stops before it arrives has nothing to cancel.
    const { error } = await unary(client, 'late', { delayMs: 30_000, deadlineMs: 3000 });
    assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(server.started, started + 1, 'the call reached the server before its deadline');
    await eventually(() => server.cancelled > cancelled, {
      timeoutMs: 10_000,
      what: 'the server to see the call end',
    });
  });

  it('answers DEADLINE_EXCEEDED itself when the route timeout passes (the client has no deadline)', async () => {
    const cancelled = server.cancelled;
    const { error } = await unary(clientOf('short'), 'late', { delayMs: 30_000 });
    assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(
      error?.metadata.get('x-portside-error')[0],
      'upstream-timeout',
      "Portside's answer, not the server's",
    );
    await eventually(() => server.cancelled > cancelled, {
      timeoutMs: 10_000,
      what: 'the server to see the call end',
    });
  });

  it('has no route timeout with timeout: 0s (a long wait for the first message), but honours a deadline', async () => {
    const unbounded = clientOf('unbounded');
    const { reply, error } = await unary(unbounded, 'slow', { delayMs: 1500 });
    assert.equal(error, undefined);
    assert.equal(reply?.text, 'slow');
    const late = await unary(unbounded, 'late', { delayMs: 30_000, deadlineMs: 500 });
    assert.equal(late.error?.code, grpc.status.DEADLINE_EXCEEDED);
  });

  it('honours grpc-timeout as the deadline: a trailers-only DEADLINE_EXCEEDED', async () => {
    const session = await h2Connect(proxy.port('grpc'));
    // A gRPC request the client itself never times out: only Portside can end it.
    const frame = Buffer.from([0, 0, 0, 0, 7, 0x0a, 0x04, 0x6c, 0x61, 0x74, 0x65, 0x10, 0x00]);
    frame.writeUInt32BE(frame.length - 5, 1);
    const withDelay = Buffer.concat([frame.subarray(0, 11), Buffer.from([0x10, 0xb0, 0xea, 0x01])]);
    withDelay.writeUInt32BE(withDelay.length - 5, 1);
    const res = await h2Request(
      session,
      {
        ':method': 'POST',
        ':path': '/portside.test.Echo/Unary',
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': '200m',
      },
      withDelay,
    );
    session.close();
    assert.equal(res.status, 200);
    assert.equal(res.headers['grpc-status'], '4', 'trailers-only DEADLINE_EXCEEDED');
    assert.equal(res.headers['x-portside-error'], 'upstream-timeout');
  });

  it('passes cancellation through to the server', async () => {
    const started = server.started;
    const cancelled = server.cancelled;
    let call: grpc.ClientUnaryCall | undefined;
    const failed = new Promise<grpc.ServiceError | null>((resolve) => {
      call = client.Unary({ text: 'cancel me', delayMs: 30_000 }, new grpc.Metadata(), {}, resolve);
    });
    await eventually(() => server.started > started, {
      timeoutMs: 10_000,
      what: 'the call to reach the server',
    });
    call!.cancel();
    const error = await failed;
    assert.equal(error?.code, grpc.status.CANCELLED);
    await eventually(() => server.cancelled > cancelled, {
      timeoutMs: 10_000,
      what: 'the server to see the cancel',
    });
  });

  it("passes the server's own status and message through", async () => {
    const { error } = await unary(client, 'fail-internal');
    assert.equal(error?.code, grpc.status.INTERNAL);
    assert.equal(error?.details, 'internal from s');
    await eventually(
      () => proxy.lines.some((l) => l.msg === 'http request' && l.status === 200 && l.grpcStatus === 13),
      { what: 'an access log line with grpcStatus 13' },
    );
  });

  it('decodes no route as UNIMPLEMENTED', async () => {
    const { error } = await unary(clientOf('unrouted'), 'x');
    assert.equal(error?.code, grpc.status.UNIMPLEMENTED);
    assert.equal(error?.metadata.get('x-portside-error')[0], 'no-route');
  });

  it('decodes no endpoint and a refused connection as UNAVAILABLE', async () => {
    const none = await unary(clientOf('nobody'), 'x');
    assert.equal(none.error?.code, grpc.status.UNAVAILABLE);
    assert.equal(none.error?.metadata.get('x-portside-error')[0], 'no-healthy-endpoint');
    const refused = await unary(clientOf('refused'), 'x');
    assert.equal(refused.error?.code, grpc.status.UNAVAILABLE);
    assert.equal(refused.error?.metadata.get('x-portside-error')[0], 'upstream-connect-failed');
  });

  it('counts calls by grpc-status in /metrics (portside_route_grpc_requests_total)', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await unary(client, 'ok')).error, undefined);
    const metrics = createMetrics(new ProxyAdminSource(proxy.proxy, { lastResult: undefined }), {
      processMetrics: false,
    });
    const families = parsePrometheusText(await metrics.registry.metrics());
    metrics.close();
    const count = (listener: string, route: string, status: number) =>
      sampleValue(families, 'portside_route_grpc_requests_total', {
        listener,
        route,
        grpc_status: String(status),
      }) ?? 0;
    assert.ok(count('grpc', 'echo', 0) >= 3, 'OK calls');
    assert.equal(count('grpc', 'echo', 13), 1, 'the INTERNAL the server answered');
    assert.ok(count('grpc', 'echo', 1) >= 1, 'the cancelled call');
    assert.equal(count('nobody', 'nobody', 14), 1, "Portside's own UNAVAILABLE");
    const family = families.get('portside_route_grpc_requests_total');
    assert.deepEqual(Object.keys(family?.samples[0]?.labels ?? {}).sort(), [
      'cluster',
      'grpc_status',
      'listener',
      'route',
    ]);
  });
});
