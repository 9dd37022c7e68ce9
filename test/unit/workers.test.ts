import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ListenerStatus } from '../../src/admin/source.js';
import { LATENCY_BUCKETS, sumUpstream, UpstreamTally } from '../../src/admin/upstream-tally.js';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import { Cluster } from '../../src/core/cluster.js';
import { EndpointStateRegistry } from '../../src/core/endpoint.js';
import { sumListeners } from '../../src/workers/listener-sum.js';
import { reusePortMissing, workerCount } from '../../src/workers/support.js';

const base = 'listeners: []\nclusters: []\n';

describe('workers config', () => {
  it('defaults to 1 and takes a number or auto', () => {
    assert.equal(loadConfigText(base, 'a.yaml').config?.workers, 1);
    assert.equal(loadConfigText(`${base}workers: 4\n`, 'a.yaml').config?.workers, 4);
    assert.equal(loadConfigText(`${base}workers: auto\n`, 'a.yaml').config?.workers, 'auto');
    assert.equal(workerCount('auto', 6), 6);
    assert.equal(workerCount(3, 6), 3);
  });

  it('refuses 0, fractions and words other than auto', () => {
    const problem = (value: string) =>
      loadConfigText(`${base}workers: ${value}\n`, 'a.yaml').problems.map(formatProblem).join('\n');
    assert.match(problem('0'), /workers: must be at least 1$/);
    assert.match(problem('1.5'), /workers: expected a number of worker threads \(1 to 256\) or "auto"$/);
    assert.match(problem('many'), /workers: expected a number of worker threads \(1 to 256\) or "auto"$/);
  });

  it('takes the catalog with more than one worker', () => {
    const catalog = 'catalog: { kubernetes: { namespaces: [default] }, listeners: [web] }\n';
    const web = 'listeners: [{ name: web, address: "127.0.0.1:0", protocol: http }]\nclusters: []\n';
    const { problems, config } = loadConfigText(`${web}workers: 2\n${catalog}`, 'a.yaml');
    assert.deepEqual(problems.map(formatProblem), []);
    assert.equal(config?.workers, 2);
  });
});

describe('reusePort support', () => {
  it('is Node 22.12 and 23.1 onwards', () => {
    for (const ok of ['22.12.0', '22.23.5', '23.1.0', '24.0.0', '26.12.1'])
      assert.equal(reusePortMissing(ok), undefined, ok);
    for (const old of ['20.20.2', '22.11.0', '23.0.0']) {
      assert.equal(
        reusePortMissing(old),
        `workers > 1 needs Node.js 22.12 or later (listen option reusePort); this is Node.js ${old}: use workers: 1 or a newer Node`,
      );
    }
  });
});

describe('sumListeners', () => {
  const http = (active: number, requests: number, codes: [number, string, number][]): ListenerStatus => ({
    name: 'web',
    protocol: 'http',
    address: '127.0.0.1:0',
    boundAddress: '127.0.0.1:8080',
    bound: true,
    activeConnections: active,
    connectionsTotal: requests,
    bytesReceived: 10 * requests,
    responses: codes,
    routes: [{ name: 'api', cluster: 'api', requestsTotal: requests, errorsTotal: 1, responses: codes }],
    requestDurations: {
      bounds: [0.1, 1],
      counts: [requests, 0, 0],
      sumSeconds: requests / 100,
      count: requests,
    },
    tlsErrors: { 'client-refused': 1 },
  });

  it('sums counters, responses, routes and durations by key', () => {
    const [sum] = sumListeners([
      [http(1, 3, [[200, 'GET', 3]])],
      [
        http(2, 5, [
          [200, 'GET', 4],
          [503, 'GET', 1],
        ]),
      ],
    ]);
    assert.equal(sum?.activeConnections, 3);
    assert.equal(sum?.connectionsTotal, 8);
    assert.equal(sum?.bytesReceived, 80);
    assert.deepEqual(sum?.responses, [
      [200, 'GET', 7],
      [503, 'GET', 1],
    ]);
    assert.equal(sum?.routes?.[0]?.requestsTotal, 8);
    assert.equal(sum?.routes?.[0]?.errorsTotal, 2);
    assert.deepEqual(sum?.requestDurations?.counts, [8, 0, 0]);
    assert.equal(sum?.requestDurations?.count, 8);
    assert.deepEqual(sum?.tlsErrors, { 'client-refused': 2 });
  });

  it("keeps a dead worker's counters but not its connections, and not its listeners", () => {
    const retired = [{ ...http(0, 4, [[200, 'GET', 4]]) }, { ...http(0, 9, []), name: 'removed' }];
    const live = http(2, 1, [[200, 'GET', 1]]);
    const sums = sumListeners([[live]], [retired]);
    assert.deepEqual(
      sums.map((l) => l.name),
      ['web'],
    );
    assert.equal(sums[0]?.connectionsTotal, 5);
    assert.equal(sums[0]?.activeConnections, 2);
    assert.equal(live.connectionsTotal, 1, "a worker's report is left as it was");
  });
});

describe('UpstreamTally and sumUpstream', () => {
  const tallied = () => {
    const tally = new UpstreamTally();
    const cluster = new Cluster('api', { pick: () => undefined }, new EndpointStateRegistry());
    cluster.setEndpoints([{ host: 'a', port: 1, weight: 1, locality: {} }]);
    tally.observe(cluster);
    tally.observe(cluster); // once per cluster
    return { tally, cluster };
  };

  it('counts latency by bucket (le: at most the bound), failures by reason and ejections', () => {
    const { tally, cluster } = tallied();
    const endpoint = cluster.endpoints[0]!;
    for (const o of cluster.observers) {
      o.success(endpoint, 1, 'response'); // 0.001 s: the 0.001 bucket
      o.success(endpoint, 20_000, 'response'); // above every bound
      o.failure(endpoint, 'connect-refused');
    }
    tally.health({ cluster: 'api', endpoint: 'a:1', from: [], to: ['OutlierEjected'], reason: 'x', at: 0 });
    tally.health({ cluster: 'api', endpoint: 'a:1', from: ['OutlierEjected'], to: [], reason: 'x', at: 0 });
    const totals = tally.totals();
    const [row] = totals.latency;
    assert.equal(row?.slice(0, 3).join(), 'api,response,20.001');
    const counts = row!.slice(3) as number[];
    assert.equal(counts.length, LATENCY_BUCKETS.length + 1);
    assert.equal(counts[LATENCY_BUCKETS.indexOf(0.001)], 1);
    assert.equal(counts[LATENCY_BUCKETS.length], 1);
    assert.deepEqual(totals.failures, [['api', 'connect-refused', 1]]);
    assert.deepEqual(totals.ejections, [['api', 'a:1', 1]]);
  });

  it('adds threads up by key', () => {
    const a = {
      latency: [['api', 'response', 1, 1, 0] as [string, string, number, ...number[]]],
      failures: [['api', 'reset', 2] as [string, string, number]],
      ejections: [],
    };
    const b = {
      latency: [['api', 'response', 2, 0, 3] as [string, string, number, ...number[]]],
      failures: [['api', 'reset', 1] as [string, string, number]],
      ejections: [['api', 'a:1', 1] as [string, string, number]],
    };
    assert.deepEqual(sumUpstream([a, b]), {
      latency: [['api', 'response', 3, 1, 3]],
      failures: [['api', 'reset', 3]],
      ejections: [['api', 'a:1', 1]],
    });
  });
});
