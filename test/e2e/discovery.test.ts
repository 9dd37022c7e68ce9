/**
 * The real CLI with clusters fed by discovery: traffic through an L4 listener follows changes
 * in a Kubernetes API double and in a real DNS server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningCli, startCli } from '../helpers/cli.js';
import { Dnsmasq, dnsmasqSkipReason } from '../helpers/dnsmasq.js';
import { endpointSlice, KubeApiDouble } from '../helpers/kube-api-double.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';
import { openConnection, readLine } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

/**
 * Which named server a new connection reaches, or "none": with no endpoint the proxy ends the
 * connection, which a half-open client socket would otherwise wait on forever.
 */
async function reached(port: number): Promise<string> {
  const socket = await openConnection(port).catch(() => undefined);
  if (!socket) return 'refused';
  socket.once('end', () => socket.destroy());
  const timer = setTimeout(() => socket.destroy(), 2000);
  try {
    return await readLine(socket);
  } catch {
    return 'none';
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/** Resolves once `count` new connections in a row reach `name`. */
async function allReach(port: number, name: string, count = 4): Promise<void> {
  await eventually(
    async () => {
      for (let i = 0; i < count; i++) if ((await reached(port)) !== name) return false;
      return true;
    },
    { timeoutMs: 15_000, intervalMs: 20, what: `every connection to reach ${name}` },
  );
}

describe('portside run with discovery', { timeout: 90_000 }, () => {
  let dir: string;
  let a: TestServer;
  let b: TestServer;
  const running: RunningCli[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portside-e2e-discovery-'));
    a = await startNamedServer('a');
    b = await startNamedServer('b');
  });
  after(async () => {
    for (const cli of running) cli.kill();
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(yaml: string): Promise<RunningCli> {
    const file = join(dir, `portside-${running.length}.yaml`);
    await writeFile(file, yaml);
    const cli = startCli(['run', '--config', file]);
    running.push(cli);
    return cli;
  }

  it('Kubernetes: traffic follows EndpointSlice changes, and survives the API server going away', async (t) => {
    const api = await new KubeApiDouble().start();
    try {
      const kubeconfig = await api.writeKubeconfig(dir, 'shop');
      const slice = (name: string, port: number, ready?: boolean) =>
        endpointSlice('shop', 'orders', name, {
          ports: [{ name: 'http', port }],
          endpoints: [{ addresses: ['127.0.0.1'], ...(ready === undefined ? {} : { ready }) }],
        });
      api.apply('endpointslices', slice('orders-a', a.port));

      const cli = await run(`
listeners:
  - { name: orders, address: 127.0.0.1:0, cluster: orders }
clusters:
  - name: orders
    discovery:
      kubernetes: { service: orders, namespace: shop, port: http, kubeconfig: ${JSON.stringify(kubeconfig)} }
`);
      const port = await cli.listenerPort('orders');
      await allReach(port, 'a');

      const started = Date.now();
      api.apply('endpointslices', slice('orders-b', b.port));
      api.delete('endpointslices', 'shop', 'orders-a');
      await allReach(port, 'b');
      const switchMs = Date.now() - started;

      // b stops being ready while a comes back: traffic moves to a.
      api.apply('endpointslices', slice('orders-b', b.port, false));
      api.apply('endpointslices', slice('orders-a', a.port));
      await allReach(port, 'a');

      // The API server disappears: the last known endpoints keep serving.
      await api.stop();
      await cli.waitForLog((l) => l.msg === 'watch failed; keeping the last known objects and retrying');
      await allReach(port, 'a');
      t.diagnostic(`kubernetes change → all new connections switched within ${switchMs} ms`);
    } finally {
      await api.stop();
    }
  });

  it('Kubernetes: SIGTERM with a watch per Service closes them all and exits', async () => {
    const api = await new KubeApiDouble().start();
    try {
      const kubeconfig = await api.writeKubeconfig(dir, 'shop');
      const services = 40;
      const clusters = Array.from({ length: services }, (_, i) => {
        api.apply(
          'endpointslices',
          endpointSlice('shop', `svc-${i}`, `svc-${i}-a`, { endpoints: [{ addresses: ['127.0.0.1'] }] }),
        );
        return `  - { name: svc-${i}, discovery: { kubernetes: { service: svc-${i}, namespace: shop, port: http, watch: service, kubeconfig: ${JSON.stringify(kubeconfig)} } } }`;
      });
      const cli = await run(`drainTimeout: 1s\nclusters:\n${clusters.join('\n')}\n`);
      await eventually(() => api.openWatches === services, {
        timeoutMs: 30_000,
        what: `${services} watches`,
      });
      cli.child.kill('SIGTERM');
      assert.equal(await cli.exited, 0);
      await eventually(() => api.openWatches === 0, { what: 'every watch closed' });
    } finally {
      await api.stop();
    }
  });

  it('DNS SRV: traffic follows the records of a real DNS server', { skip: dnsmasqSkipReason() }, async () => {
    const dns = await Dnsmasq.start({
      hosts: { 'up.internal': ['127.0.0.1'] },
      srv: [{ name: '_tcp._tcp.up.internal', target: 'up.internal', port: a.port }],
    });
    try {
      const cli = await run(`
listeners:
  - { name: up, address: 127.0.0.1:0, cluster: up }
clusters:
  - name: up
    discovery:
      dns: { name: _tcp._tcp.up.internal, type: SRV, minRefresh: 100ms, maxRefresh: 500ms, servers: ["${dns.address}"] }
`);
      const port = await cli.listenerPort('up');
      await allReach(port, 'a');
      await dns.setSrv([{ name: '_tcp._tcp.up.internal', target: 'up.internal', port: b.port }]);
      await allReach(port, 'b');
    } finally {
      await dns.stop();
    }
  });
});
