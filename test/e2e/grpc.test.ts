/**
 * gRPC through the real CLI: one @grpc/grpc-js channel balanced per call over three
 * grpc-js servers, the calls counted by grpc-status on /metrics, and the gRPC health check
 * taking a NOT_SERVING server out of the rotation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCli } from '../helpers/cli.js';
import {
  echoClient,
  type GrpcServer,
  grpc,
  ECHO_SERVICE as SERVICE,
  startGrpcServer,
  unary,
} from '../helpers/grpc.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { eventually } from '../helpers/wait.js';

test('gRPC per-call balancing, grpc-status metrics and gRPC health checks', {
  timeout: 60_000,
}, async (t) => {
  const servers: GrpcServer[] = [];
  for (const name of ['a', 'b', 'c']) servers.push(await startGrpcServer(name));
  const dir = mkdtempSync(join(tmpdir(), 'portside-grpc-'));
  t.after(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'portside.yaml');
  writeFileSync(
    file,
    `admin: { address: "127.0.0.1:0" }
listeners:
  - name: grpc
    address: "127.0.0.1:0"
    protocol: http
    routes:
      - { name: echo, match: { pathPrefix: /${SERVICE}/ }, cluster: echo, retries: { on: [unavailable] } }
clusters:
  - name: echo
    endpoints: [${servers.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}]
    panicThreshold: 0
    healthCheck: { interval: 200ms, timeout: 2s, grpc: { service: ${SERVICE} } }
`,
  );
  const cli = startCli(['run', '-c', file]);
  t.after(() => cli.kill());
  const admin = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  const client = echoClient(await cli.listenerPort('grpc'));
  t.after(() => client.close());
  const metrics = async () => parsePrometheusText(await (await fetch(`http://${admin}/metrics`)).text());
  const calls = async (n: number) => {
    const before = servers.map((s) => s.unary);
    for (let i = 0; i < n; i++) assert.equal((await unary(client, `c${i}`)).error, undefined);
    return servers.map((s, i) => s.unary - before[i]!);
  };

  const spread = await calls(300);
  for (const count of spread) assert.ok(Math.abs(count - 100) <= 5, `per server: ${spread.join(', ')}`);
  const wrong = await unary(client, 'fail-internal');
  assert.equal(wrong.error?.code, grpc.status.INTERNAL);
  const m = await metrics();
  const byStatus = (status: number) =>
    sampleValue(m, 'portside_route_grpc_requests_total', {
      listener: 'grpc',
      route: 'echo',
      grpc_status: String(status),
    });
  assert.equal(byStatus(0), 300);
  assert.equal(byStatus(13), 1);

  const c = servers[2]!;
  c.health.set(SERVICE, 'NOT_SERVING');
  const endpoint = `127.0.0.1:${c.port}`;
  await eventually(
    async () =>
      sampleValue(await metrics(), 'portside_endpoint_available', { cluster: 'echo', endpoint }) === 0,
    { timeoutMs: 20_000, what: 'the NOT_SERVING server marked unavailable' },
  );
  const after = await calls(60);
  assert.equal(after[2], 0, `a NOT_SERVING server gets no calls: ${after.join(', ')}`);
});
