/**
 * gRPC per-request balancing with real @grpc/grpc-js peers: one client channel (one HTTP/2
 * connection) through Portside spreads its unary calls over every server, and a server
 * added by a reload gets its share while the client keeps its connection — what a
 * connection-level balancer (kube-proxy, Portside's L4 mode) cannot do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EchoClient, startGrpcServer, unary } from '../helpers/grpc.js';
import { type GrpcConfigOptions, type GrpcSetup, grpcConfig, startGrpcSetup } from '../helpers/grpc-proxy.js';
import { parseConfig } from '../helpers/proxy.js';

const OPTIONS: GrpcConfigOptions = { clusterKeys: ['balancing: { policy: round_robin }'] };

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
  let setup: GrpcSetup;

  before(async () => {
    setup = await startGrpcSetup(['a', 'b', 'c'], OPTIONS);
  });
  after(() => setup?.close());

  it('spreads 3,000 unary calls of one channel within ±5 % of 1,000 per server', async () => {
    await calls(setup.client, 3000);
    const counts = setup.servers.map((s) => s.unary);
    for (const count of counts) assert.ok(Math.abs(count - 1000) <= 50, `per server: ${counts.join(', ')}`);
    assert.equal(setup.proxy.proxy.listener('grpc')!.stats.connectionsTotal, 1, 'one client connection');
  });

  it('gives a server added by a reload its share without the client reconnecting', async () => {
    const { servers, proxy } = setup;
    servers.push(await startGrpcServer('d'));
    await proxy.proxy.apply(parseConfig(grpcConfig(servers, OPTIONS)));
    const before = servers.map((s) => s.unary);
    await calls(setup.client, 1200);
    const counts = servers.map((s, i) => s.unary - before[i]!);
    for (const count of counts) assert.ok(Math.abs(count - 300) <= 15, `per server: ${counts.join(', ')}`);
    assert.equal(proxy.proxy.listener('grpc')!.stats.connectionsTotal, 1, 'still the same client connection');
  });
});
