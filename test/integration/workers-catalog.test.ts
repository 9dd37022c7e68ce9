/**
 * The Service catalog with `workers: 2`: the main thread holds the one set of watches and
 * builds each Service port's cluster; both workers route catalog Hosts from the Service
 * tables and endpoint lists it posts. Needs Node 22.12+ (skipped on older Node).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { reusePortMissing } from '../../src/workers/support.js';
import { startHttpUpstream, upstreamFor } from '../helpers/http.js';
import { endpointSlice, KubeApiDouble, service } from '../helpers/kube-api-double.js';
import { startReloadingProxy } from '../helpers/reloading-proxy.js';
import { eventually } from '../helpers/wait.js';

const skip = reusePortMissing();
const opts = { timeout: 60_000, ...(skip ? { skip } : {}) };

/** Which workers logged a catalog request's access line (each request on its own connection). */
function catalogWorkers(lines: Record<string, unknown>[]): Set<unknown> {
  return new Set(
    lines
      .filter((l) => l.msg === 'http request' && String(l.cluster).endsWith('.shop:80'))
      .map((l) => l.worker),
  );
}

test('catalog Hosts route through both workers on the main thread’s one watch', opts, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portside-workers-catalog-'));
  const a = await startHttpUpstream('a');
  const b = await startHttpUpstream('b');
  const late = await startHttpUpstream('late');
  const api = await new KubeApiDouble().start();
  t.after(async () => {
    await api.stop();
    for (const upstream of [a, b, late]) await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });
  const slice = (name: string, port: number) =>
    endpointSlice('shop', name, `${name}-1`, {
      ports: [{ name: 'http', port }],
      endpoints: [{ addresses: ['127.0.0.1'] }],
    });
  api.apply('services', service('shop', 'orders', [{ name: 'http', port: 80, targetPort: 'http' }]));
  api.apply('endpointslices', slice('orders', a.port));
  const kubeconfig = await api.writeKubeconfig(dir, 'shop');
  const p = await startReloadingProxy(
    t,
    `workers: 2
admin: { address: "127.0.0.1:0" }
listeners: [{ name: web, address: "127.0.0.1:0", protocol: http }]
clusters: []
catalog:
  kubernetes: { namespaces: [shop], kubeconfig: ${JSON.stringify(kubeconfig)} }
  listeners: [web]
  template: { outlierDetection: { consecutiveFailures: 5 } }
`,
  );
  const port = Number(p.portside.workers!.pool.boundAddresses().web!.split(':').pop());

  await eventually(async () => (await upstreamFor(port, 'orders.shop')) === 'a', {
    timeoutMs: 15_000,
    what: 'orders.shop to route',
  });
  for (let i = 0; i < 20; i++) assert.equal(await upstreamFor(port, 'orders.shop'), 'a');
  await eventually(() => catalogWorkers(p.lines).size === 2, { what: 'catalog requests on both workers' });
  assert.equal(await upstreamFor(port, 'nothing.shop'), '404', 'a Host of no Service');
  assert.equal(await upstreamFor(port, 'orders.shop:81'), '404', 'a port the Service does not have');

  // The main thread built the cluster (the workers asked for it) and shows it.
  const clusters = (await (await fetch(p.adminUrl('/clusters'))).json()) as {
    clusters: { name: string }[];
  };
  assert.deepEqual(
    clusters.clusters.map((c) => c.name),
    ['orders.shop:80'],
  );

  // An endpoint change reaches both workers.
  api.apply('endpointslices', slice('orders', b.port));
  await eventually(async () => (await upstreamFor(port, 'orders.shop')) === 'b', {
    what: 'the new endpoint',
  });
  const before = p.lines.length;
  for (let i = 0; i < 20; i++) assert.equal(await upstreamFor(port, 'orders.shop'), 'b');
  await eventually(() => catalogWorkers(p.lines.slice(before)).size === 2, {
    what: 'both workers on the new endpoint',
  });

  // A Service created after the start reaches the workers' tables; its first request waits
  // for the list of the cluster the main thread builds for it (no 503 meanwhile).
  api.apply('endpointslices', slice('late', late.port));
  api.apply('services', service('shop', 'late', [{ name: 'http', port: 80, targetPort: 'http' }]));
  const first = await eventually(
    async () => {
      const answer = await upstreamFor(port, 'late.shop');
      return answer === '404' ? undefined : answer;
    },
    { what: 'late.shop in the workers’ tables' },
  );
  assert.equal(first, 'late');
  const lateBefore = p.lines.length;
  for (let i = 0; i < 20; i++) assert.equal(await upstreamFor(port, 'late.shop'), 'late');
  await eventually(() => catalogWorkers(p.lines.slice(lateBefore)).size === 2, {
    what: 'late.shop on both workers',
  });

  // One list+watch of slices and one of Services, as a single process makes: not one per worker.
  assert.equal(api.openWatches, 2);
  assert.equal(api.requests.lists, 2);
});
