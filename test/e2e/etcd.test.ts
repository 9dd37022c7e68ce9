import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { discoveringConfig, EtcdServer, etcdBinary } from '../helpers/etcd.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';
import { whoAnswers } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'portside-etcd-e2e-'));
const skip =
  !existsSync(etcdBinary) && !process.env.CI ? 'etcd not installed (apt-get install etcd-server)' : false;

describe('portside run with etcd discovery', { skip, timeout: 90_000 }, () => {
  let etcd: EtcdServer;
  const servers: TestServer[] = [];
  before(async () => {
    etcd = await EtcdServer.start();
  });
  after(async () => {
    for (const s of servers) await s.close();
    await etcd?.close();
  });

  it('routes to registered instances and drops one when its lease expires', async () => {
    const a = await startNamedServer('A');
    const b = await startNamedServer('B');
    servers.push(a, b);
    await etcd.put('/services/orders/a', `127.0.0.1:${a.port}`);
    const file = join(dir, 'etcd.yaml');
    writeFileSync(file, discoveringConfig(etcd.url));
    const cli = startCli(['run', '-c', file]);
    try {
      const port = await cli.listenerPort('orders');
      await eventually(async () => (await whoAnswers(port)) === 'A', {
        timeoutMs: 15_000,
        what: 'traffic to A',
      });

      // B registers under a short lease and never renews it.
      const lease = await etcd.grantLease(2);
      await etcd.put('/services/orders/b', JSON.stringify({ address: `127.0.0.1:${b.port}` }), lease);
      await eventually(async () => (await whoAnswers(port)) === 'B', {
        timeoutMs: 15_000,
        what: 'traffic to B',
      });

      await eventually(
        async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 6; i++) seen.add(await whoAnswers(port));
          return seen.size === 1 && seen.has('A');
        },
        { timeoutMs: 20_000, intervalMs: 200, what: "B's lease to expire and its traffic to stop" },
      );
    } finally {
      cli.kill();
    }
  });

  it('validate names a bad etcd section with its position', async () => {
    const file = join(dir, 'bad-etcd.yaml');
    writeFileSync(
      file,
      `clusters:
  - name: orders
    discovery:
      etcd: { endpoints: ["127.0.0.1:2379"], prefix: "" }
`,
    );
    const result = await runCli(['validate', file]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /bad-etcd\.yaml:4:\d+ clusters\[0\]\.discovery\.etcd\.endpoints\[0\]: expected an etcd client URL/,
    );
    assert.match(
      result.stderr,
      /bad-etcd\.yaml:4:\d+ clusters\[0\]\.discovery\.etcd\.prefix: the prefix may not be empty/,
    );
  });
});
