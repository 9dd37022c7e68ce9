import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { discoveringConfig, EtcdServer, etcdBinary } from '../helpers/etcd.js';
import { deadPort, startNamedServer, type TestServer } from '../helpers/servers.js';
import { whoAnswers } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'portside-register-e2e-'));
const skip =
  !existsSync(etcdBinary) && !process.env.CI ? 'etcd not installed (apt-get install etcd-server)' : false;

/** Who answers a few connections in a row (round robin visits every endpoint). */
async function answering(port: number): Promise<string> {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(await whoAnswers(port));
  return [...seen].sort().join(',');
}

describe('two Portsides: one registers a local application, the other discovers it', {
  skip,
  timeout: 120_000,
}, () => {
  let etcd: EtcdServer;
  const servers: TestServer[] = [];
  before(async () => {
    etcd = await EtcdServer.start();
  });
  after(async () => {
    for (const s of servers) await s.close();
    await etcd?.close();
  });
  /** `portside register` of SERVICE at 127.0.0.1:PORT in the test etcd, and `extra` flags. */
  const registerArgs = (service: string, port: number, ...extra: string[]) => [
    'register',
    ...['--etcd', etcd.url, '--service', service, '--address', '127.0.0.1', '--port', String(port)],
    ...extra,
  ];

  it('routes to registered instances through kill -9, a failing check, an etcd restart and SIGTERM', async () => {
    let a = await startNamedServer('A');
    const b = await startNamedServer('B');
    servers.push(b);
    const aPort = a.port;

    const registering = join(dir, 'registering.yaml');
    writeFileSync(
      registering,
      `registry:
  etcd: { endpoints: ["${etcd.url}"], prefix: /services/ }
register:
  - service: orders
    address: 127.0.0.1
    port: ${aPort}
    ttl: 2s
    healthCheck: { interval: 200ms, timeout: 500ms, unhealthyThreshold: 1, healthyThreshold: 1, tcp: {} }
`,
    );
    const discovering = join(dir, 'discovering.yaml');
    writeFileSync(discovering, discoveringConfig(etcd.url));
    const aKey = `/services/orders/127.0.0.1:${aPort}`;
    const bKey = `/services/orders/127.0.0.1:${b.port}`;

    const proxy = startCli(['run', '-c', discovering]);
    let agent = startCli(['run', '-c', registering]);
    // B is announced by the one-shot command, as a script would.
    const script = startCli(registerArgs('orders', b.port, '--ttl', '2s'));
    try {
      const port = await proxy.listenerPort('orders');
      await eventually(async () => (await answering(port)) === 'A,B', {
        timeoutMs: 20_000,
        what: 'traffic to both registered instances',
      });

      // The local check fails: A is withdrawn at once, not when its lease runs out.
      await a.close();
      await eventually(async () => (await etcd.get(aKey)) === undefined, {
        timeoutMs: 10_000,
        what: 'A withdrawn',
      });
      await agent.waitForLog((l) => l.msg === 'withdrawn');
      await eventually(async () => (await answering(port)) === 'B', {
        timeoutMs: 10_000,
        what: 'traffic to B only',
      });

      // The application comes back: registered again.
      a = await startNamedServer('A', aPort);
      await eventually(async () => (await answering(port)) === 'A,B', {
        timeoutMs: 10_000,
        what: 'traffic to A again',
      });

      // etcd comes back empty (a lost lease): both registrars write their entries again.
      await etcd.wipe();
      await etcd.up();
      await eventually(async () => (await etcd.get(aKey)) && (await etcd.get(bKey)), {
        timeoutMs: 20_000,
        what: 'both entries re-registered',
      });
      await eventually(async () => (await answering(port)) === 'A,B', {
        timeoutMs: 20_000,
        what: 'traffic to both after the etcd restart',
      });

      // kill -9: nothing withdraws A, its lease expires (ttl 2 s) and traffic stops going there.
      agent.child.kill('SIGKILL');
      await agent.exited;
      const killedAt = Date.now();
      assert.ok(await etcd.get(aKey), 'still there right after the kill');
      await eventually(async () => (await etcd.get(aKey)) === undefined, {
        timeoutMs: 15_000,
        intervalMs: 100,
        what: "A's lease to expire",
      });
      const expiredAfter = Date.now() - killedAt;
      // The ttl is 2 s; a loaded machine may add seconds of polling, never a renewal.
      assert.ok(expiredAfter < 10_000, `A expired ${expiredAfter} ms after the kill`);
      await eventually(async () => (await answering(port)) === 'B', {
        timeoutMs: 10_000,
        what: 'traffic to B only after the kill',
      });

      // SIGTERM to the script: B is withdrawn before it exits.
      script.child.kill('SIGTERM');
      assert.equal(await script.exited, 0);
      assert.equal(await etcd.get(bKey), undefined);

      // A Portside that drains withdraws its entries too.
      agent = startCli(['run', '-c', registering]);
      await eventually(() => etcd.get(aKey), { timeoutMs: 10_000, what: 'A registered by the new agent' });
      agent.child.kill('SIGTERM');
      assert.equal(await agent.exited, 0);
      assert.equal(await etcd.get(aKey), undefined);
    } finally {
      proxy.kill();
      agent.kill();
      script.kill();
      await a.close();
    }
  });

  it('register --once writes an entry that expires with its ttl', async () => {
    const key = '/services/batch/127.0.0.1:7001';
    const result = await runCli(registerArgs('batch', 7001, '--once', '--ttl', '2s', '--weight', '5'));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse((await etcd.get(key)) ?? '{}').weight, 5);
    await eventually(async () => (await etcd.get(key)) === undefined, { timeoutMs: 15_000, what: 'expiry' });
  });

  it('register --once with a check writes nothing when the check fails', async () => {
    const down = await deadPort();
    const result = await runCli(registerArgs('batch', down, '--once', '--check-tcp'));
    assert.equal(result.code, 1);
    assert.match(result.stdout, /local check fails; not registering/);
    assert.equal(await etcd.get(`/services/batch/127.0.0.1:${down}`), undefined);
  });

  it('register refuses bad flags with the field and the reason', async () => {
    const result = await runCli([
      'register',
      '--service',
      'x',
      '--address',
      '127.0.0.1:80',
      '--port',
      '80',
      '--ttl',
      '1500ms',
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /address: expected a host name or IP address without a port/);
    assert.match(result.stderr, /ttl: etcd leases are whole seconds/);
    const meta = await runCli([
      'register',
      '--service',
      'x',
      '--address',
      '127.0.0.1',
      '--port',
      '80',
      '--meta',
      'version',
    ]);
    assert.equal(meta.code, 2);
    assert.match(meta.stderr, /--meta takes KEY=VALUE; got "version"/);
  });
});
