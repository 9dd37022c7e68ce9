/**
 * gRPC per-request balancing with real @grpc/grpc-js peers: one client channel (one HTTP/2
 * connection) through Portside spreads its unary calls over every server, and a server
 * added by a reload gets its share while the client keeps its connection — what a
 * connection-level balancer (kube-proxy, Portside's L4 mode) cannot do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EchoClient, echoClient, type GrpcServer, startGrpcServer, unary } from '../helpers/grpc.js';
import { parseConfig, startProxy, type TestProxy } from '../helpers/proxy.js';

function config(servers: GrpcServer[]): string {
  return `
listeners:
  - name: grpc
    address: 127.0.0.1:0
    protocol: http
    routes:
      - match: { pathPrefix: / }
        cluster: echo
clusters:
  - name: echo
    balancing: { policy: round_robin }
    endpoints: [${servers.map((s) => `127.0.0.1:${s.port}`).join(', ')}]
`;
}

/** `total` unary calls, `concurrency` at a time; every one must succeed. */
async function calls(client: EchoClient, total: number, concurrency = 50): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const { reply, error } = await unary(client, `call ${i}`);
      assert.equal(error, undefined, `call ${i} failed: ${error?.message}`);
      assert.equal(reply?.text, `call ${i}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

describe('gRPC balancing', { timeout: 60_000 }, () => {
  const servers: GrpcServer[] = [];
  let proxy: TestProxy;
  let client: EchoClient;

  before(async () => {
    for (const name of ['a', 'b', 'c']) servers.push(await startGrpcServer(name));
    proxy = await startProxy(config(servers));
    client = echoClient(proxy.port('grpc'));
  });
  after(async () => {
    client?.close();
    await proxy?.stop();
    for (const s of servers) await s.close();
  });

  it('spreads 3,000 unary calls of one channel within ±5 % of 1,000 per server', async () => {
    await calls(client, 3000);
    const counts = servers.map((s) => s.unary);
    for (const count of counts) assert.ok(Math.abs(count - 1000) <= 50, `per server: ${counts.join(', ')}`);
    assert.equal(proxy.proxy.listener('grpc')!.stats.connectionsTotal, 1, 'one client connection');
  });

  it('gives a server added by a reload its share without the client reconnecting', async () => {
    servers.push(await startGrpcServer('d'));
    await proxy.proxy.apply(parseConfig(config(servers)));
    const before = servers.map((s) => s.unary);
    await calls(client, 2000);
    const counts = servers.map((s, i) => s.unary - before[i]!);
    for (const count of counts) assert.ok(Math.abs(count - 500) <= 25, `per server: ${counts.join(', ')}`);
    assert.equal(proxy.proxy.listener('grpc')!.stats.connectionsTotal, 1, 'still the same client connection');
  });
});
