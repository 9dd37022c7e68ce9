import assert from 'node:assert/strict';
import { test } from 'node:test';
import { echoClient, startGrpcServer, unary } from '/work/wt/grpc/test/helpers/grpc.js';
import { startProxy } from '/work/wt/grpc/test/helpers/proxy.js';

test('burst', { timeout: 60_000 }, async () => {
  const servers = [await startGrpcServer('a'), await startGrpcServer('b')];
  const proxy = await startProxy(`
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
`);
  const client = echoClient(process.env.DIRECT ? servers[0]!.port : proxy.port('grpc'));
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: 3000 }, (_, i) => unary(client, `c${i}`, { delayMs: 0 })),
  );
  console.log('ms', performance.now() - t0);
  const failed = results.filter((r) => r.error);
  console.log('failed', failed.length, failed[0]?.error?.message);
  console.log(servers.map((s) => s.unary));
  client.close();
  await proxy.stop();
  for (const s of servers) await s.close();
  assert.equal(failed.length, 0);
});
