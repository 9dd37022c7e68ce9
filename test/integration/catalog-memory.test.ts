/**
 * Memory follows the catalog: 1,000 Services created, routed (which builds their clusters)
 * and deleted leave no cluster, watch handle, endpoint state or heap behind.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type HttpUpstream, startHttpUpstream, upstreamFor } from '../helpers/http.js';
import { endpointSlice, KubeApiDouble, service } from '../helpers/kube-api-double.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('catalog memory', { timeout: 180_000 }, () => {
  let dir: string;
  let api: KubeApiDouble;
  let upstream: HttpUpstream;
  let proxy: TestProxy;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portside-catalog-memory-'));
    upstream = await startHttpUpstream('app', (_req, res) => {
      res.writeHead(200, { connection: 'close' });
      res.end();
    });
    api = await new KubeApiDouble().start();
    const kubeconfig = await api.writeKubeconfig(dir, 'churn');
    proxy = await startProxy(`
listeners: [{ name: web, address: 127.0.0.1:0, protocol: http, accessLog: false }]
catalog:
  kubernetes: { namespaces: [churn], kubeconfig: ${JSON.stringify(kubeconfig)} }
  listeners: [web]
  template: { outlierDetection: { consecutiveFailures: 5 } }
`);
  });

  after(async () => {
    await proxy?.stop();
    await api?.stop();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('does not grow over 1,000 Services created, used and deleted', async (t) => {
    const port = proxy.port('web');
    const batch = 50;
    /** Creates `batch` Services, routes one request to each, deletes them, and waits until none routes. */
    const cycle = async (first: number) => {
      const names = Array.from({ length: batch }, (_, i) => `svc-${first + i}`);
      for (const name of names) {
        api.apply('services', service('churn', name, [{ name: 'http', port: 80, targetPort: 'http' }]));
        api.apply(
          'endpointslices',
          endpointSlice('churn', name, `${name}-x`, {
            ports: [{ name: 'http', port: upstream.port }],
            endpoints: [{ addresses: ['127.0.0.1'] }, { addresses: ['127.0.0.2'] }],
          }),
        );
      }
      for (const name of names)
        await eventually(async () => (await upstreamFor(port, `${name}.churn`)) === '200', {
          timeoutMs: 20_000,
          intervalMs: 5,
          what: `${name}.churn to route`,
        });
      for (const name of names) {
        api.delete('services', 'churn', name);
        api.delete('endpointslices', 'churn', `${name}-x`);
      }
      for (const name of names)
        await eventually(async () => (await upstreamFor(port, `${name}.churn`)) === '404', {
          timeoutMs: 20_000,
          intervalMs: 5,
          what: `${name}.churn to stop routing`,
        });
      // What the test's own doubles keep (event history, requests seen) is not the proxy's.
      api.compact();
      upstream.requests.length = 0;
    };

    const catalog = () => proxy.proxy.current!.catalog!;
    for (let n = 0; n < 200; n += batch) await cycle(n);
    const warm = heapAfterGc();
    for (let n = 200; n < 1000; n += batch) await cycle(n);
    // The watch events of the last deletions are applied within a turn or two.
    await eventually(() => catalog().clusters().length === 0, {
      timeoutMs: 10_000,
      what: 'no catalog cluster',
    });
    const end = heapAfterGc();

    assert.equal(catalog().services().length, 0);
    assert.equal(proxy.proxy.clusters.states.size, 0, 'endpoint states of deleted Services are released');
    assert.equal(proxy.proxy.clusters.discovery.kubernetes.size, 0, 'no watch handle is left');
    const grownMb = (end - warm) / 1024 / 1024;
    t.diagnostic(
      `heap after 200 Services ${(warm / 1048576).toFixed(1)} MB, after 1,000 ${(end / 1048576).toFixed(1)} MB`,
    );
    // 800 leaked clusters of 2 endpoints would hold well over 4 MB.
    assert.ok(grownMb < 4, `heap grew ${grownMb.toFixed(2)} MB over 800 more Services`);
  });
});
