import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterConfig } from '../../src/config/schema.js';
import { ProxyServer } from '../../src/core/proxy.js';
import { ManualSource } from '../helpers/manual-source.js';
import { captureLogger, parseConfig } from '../helpers/proxy.js';
import { startNamedServer } from '../helpers/servers.js';
import { whoAnswers } from '../helpers/tcp.js';

test('a reload keeps serving the old generation until new clusters have endpoints', {
  timeout: 20_000,
}, async (t) => {
  const [a, b] = [await startNamedServer('A'), await startNamedServer('B')];
  // Every cluster gets a manual source: one per generation, as DNS or Kubernetes would.
  const sources: { cluster: string; source: ManualSource }[] = [];
  const proxy = new ProxyServer(captureLogger().logger, {
    createSource: (cluster: ClusterConfig) => {
      const source = new ManualSource();
      sources.push({ cluster: cluster.name, source });
      return source;
    },
  });
  t.after(async () => {
    await proxy.shutdown();
    await a.close();
    await b.close();
  });
  const latest = (cluster: string) => sources.filter((s) => s.cluster === cluster).at(-1)!.source;
  const config = (cluster: string, extraClusters = '') =>
    parseConfig(`
clusters: [{ name: slow-a, endpoints: [] }${extraClusters}]
listeners: [{ name: web, address: "127.0.0.1:0", cluster: ${cluster} }]
`);

  await proxy.apply(config('slow-a'));
  latest('slow-a').answer(a.port);
  const port = proxy.listener('web')!.port;
  assert.equal(await whoAnswers(port), 'A');

  // Unchanged cluster: it keeps running as it is (no new source), so the reload completes at
  // once and traffic still flows.
  await proxy.apply(config('slow-a', ', { name: other, endpoints: [] }'));
  assert.equal(proxy.version, 2);
  assert.equal(sources.filter((s) => s.cluster === 'slow-a').length, 1, 'no second source for slow-a');
  assert.equal(await whoAnswers(port), 'A');

  // A new cluster: the swap waits for its first answer; the old generation serves meanwhile.
  const applied = proxy.apply(config('slow-b', ', { name: slow-b, endpoints: [] }'));
  let done = false;
  void applied.then(() => {
    done = true;
  });
  assert.equal(await whoAnswers(port), 'A', 'still the old generation');
  assert.equal(done, false);
  assert.equal(proxy.version, 2);
  latest('slow-b').answer(b.port);
  await applied;
  assert.equal(proxy.version, 3);
  assert.equal(await whoAnswers(port), 'B');
});
