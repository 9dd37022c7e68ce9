import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dashboardClusters, quantile } from '../../src/admin/dashboard/data.js';
import { createMetrics } from '../../src/admin/metrics.js';
import { Unavailable } from '../../src/core/endpoint.js';
import { FakeAdminSource } from '../helpers/fake-admin-source.js';

test('quantile interpolates within the bucket the rank falls in, as histogram_quantile does', () => {
  const buckets: [number, number][] = [
    [0.001, 0],
    [0.002, 50],
    [0.004, 100],
    [Number.POSITIVE_INFINITY, 100],
  ];
  assert.equal(quantile(0.5, buckets), 0.002);
  assert.equal(quantile(0.25, buckets), 0.0015);
  assert.equal(quantile(0.75, buckets), 0.003);
  // Past the last finite bound: that bound (the histogram knows no more).
  assert.equal(quantile(0.99, [...buckets.slice(0, 3), [Number.POSITIVE_INFINITY, 200]]), 0.004);
  assert.ok(Number.isNaN(quantile(0.5, [[Number.POSITIVE_INFINITY, 0]])), 'no samples: no quantile');
});

test('dashboard clusters say which checks watch them, their latency, failures and ejection time left', async (t) => {
  const source = new FakeAdminSource(`listeners: []
clusters:
  - { name: api, endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"], outlierDetection: {} }
  - { name: cache, endpoints: ["127.0.0.1:9003"] }
  - { name: pods, discovery: { kubernetes: { service: web, port: 80 } } }
`);
  const api = source.addCluster('api', [{ port: 9001 }, { port: 9002 }]);
  const cache = source.addCluster('cache', [{ port: 9003 }]);
  const metrics = createMetrics(source, { processMetrics: false });
  t.after(() => metrics.close());
  for (const ms of [1, 3, 3, 3]) api.reportSuccess(api.endpoints[0]!, ms);
  cache.reportFailure(cache.endpoints[0]!, 'connect-refused');
  cache.reportFailure(cache.endpoints[0]!, 'connect-timeout');
  const ejected = source.endpoint('api', '127.0.0.1:9002');
  source.health.memoryFor(ejected).outlier.ejectedUntil = Date.now() + 60_000;
  source.setHealth('api', '127.0.0.1:9002', Unavailable.OutlierEjected, true);

  source.addCluster('pods', []);
  const [apiView, cacheView, podsView] = await dashboardClusters(source, metrics.registry);
  assert.deepEqual(apiView?.checks, ['outlier']);
  assert.deepEqual(cacheView?.checks, [], 'nothing checks cache');
  assert.deepEqual(podsView?.checks, ['kubernetes readiness'], 'pods are probed by the kubelet');
  assert.equal(apiView?.latency?.count, 4);
  assert.equal(apiView?.latency?.meanMs, 2.5);
  const p50 = apiView?.latency?.p50Ms ?? 0;
  assert.ok(p50 > 2.5 && p50 <= 5, `p50 ${p50}`);
  assert.equal(cacheView?.latency, null);
  assert.deepEqual(cacheView?.failures, { 'connect-refused': 1, 'connect-timeout': 1 });
  const left = apiView?.endpoints.find((e) => e.address === '127.0.0.1:9002')?.ejectionLeftMs;
  assert.ok(left !== undefined && left > 50_000 && left <= 60_000, `ejection left ${left}`);
  assert.equal(apiView?.endpoints.find((e) => e.address === '127.0.0.1:9001')?.ejectionLeftMs, undefined);
});
