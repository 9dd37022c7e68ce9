import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, type TestContext, test } from 'node:test';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { loadConfigText } from '../../src/config/load.js';
import { Cluster } from '../../src/core/cluster.js';
import { EndpointStateRegistry } from '../../src/core/endpoint.js';
import { loadKubernetesClient } from '../../src/discovery/kubernetes/client.js';
import type { InformerTuning } from '../../src/discovery/kubernetes/informer.js';
import { KubernetesSource } from '../../src/discovery/kubernetes/source.js';
import { KubernetesWatches } from '../../src/discovery/kubernetes/watches.js';
import { endpointSlice, KubeApiDouble, service } from '../helpers/kube-api-double.js';
import { captureLogger, startProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

const FAST: Partial<InformerTuning> = {
  initialBackoffMs: 50,
  maxBackoffMs: 400,
  watchdogMs: 60_000,
  watchTimeoutMs: 60_000,
  maxRewatchDelayMs: 50,
};

// The client library takes seconds to import under tsx; load it once before the timed tests.
before(() => loadKubernetesClient(), { timeout: 60_000 });

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

async function harness(
  t: TestContext,
  { down = false, tuning = {} }: { down?: boolean; tuning?: Partial<InformerTuning> } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'portside-k8s-'));
  const api = down ? await KubeApiDouble.reserved() : await new KubeApiDouble().start();
  const kubeconfig = await api.writeKubeconfig(dir, 'shop');
  const { logger, lines } = captureLogger('debug');
  const watches = new KubernetesWatches(logger, { ...FAST, ...tuning });
  const states = new EndpointStateRegistry();
  const sources: KubernetesSource[] = [];
  t.after(async () => {
    for (const s of sources) s.stop();
    await api.stop();
    await rm(dir, { recursive: true, force: true });
    assert.deepEqual(unhandled, [], 'no unhandled rejections');
  });

  /** A cluster fed by a Kubernetes source, as the runtime wires them. */
  function cluster(serviceName: string, port?: string | number, namespace = 'shop') {
    const c = new Cluster(`${serviceName}-${port ?? ''}`, new RoundRobinPicker(), states);
    const source = new KubernetesSource(
      { namespace, service: serviceName, kubeconfig },
      port,
      watches,
      logger,
    );
    sources.push(source);
    source.start((endpoints) => c.setEndpoints(endpoints));
    const ids = () => c.endpoints.map((e) => e.id).join(' ');
    const picks = (n = 6) => new Set(Array.from({ length: n }, () => c.pick({})?.id ?? 'none'));
    /** Synced, and its watch is open at the API server (a list completes before the watch starts). */
    const ready = async () => {
      await eventually(() => source.synced, { what: `${serviceName} to sync` });
      await eventually(() => api.openWatches > 0, { what: 'an open watch' });
    };
    return { cluster: c, source, ids, picks, ready };
  }
  return { api, watches, lines, cluster };
}

const ordersSlice = (
  name: string,
  addresses: string[],
  extra: Partial<Parameters<typeof endpointSlice>[3]> = {},
) =>
  endpointSlice('shop', 'orders', name, { endpoints: addresses.map((a) => ({ addresses: [a] })), ...extra });

test('initial sync merges every slice of the Service, keeps locality, and shares one watch', {
  timeout: 15_000,
}, async (t) => {
  const { api, watches, cluster } = await harness(t);
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  api.apply(
    'endpointslices',
    endpointSlice('shop', 'orders', 'orders-b', {
      endpoints: [{ addresses: ['10.0.0.2'], nodeName: 'node-2', zone: 'eu-1a' }],
    }),
  );
  api.apply(
    'endpointslices',
    endpointSlice('shop', 'billing', 'billing-a', { endpoints: [{ addresses: ['10.9.9.9'] }] }),
  );
  api.apply(
    'endpointslices',
    endpointSlice('other', 'orders', 'orders-x', { endpoints: [{ addresses: ['10.8.8.8'] }] }),
  );

  const first = cluster('orders', 'http');
  const second = cluster('orders', 'http');
  await first.ready();
  await second.ready();
  assert.equal(first.ids(), '10.0.0.1:8080 10.0.0.2:8080');
  assert.equal(second.ids(), first.ids());
  assert.deepEqual(first.cluster.endpoints[1]!.locality, { node: 'node-2', zone: 'eu-1a' });
  assert.equal(watches.size, 1, 'one watch for both clusters');
  assert.equal(api.openWatches, 1);
  assert.deepEqual(first.picks(), new Set(['10.0.0.1:8080', '10.0.0.2:8080']));
  assert.equal(first.source.description, 'kubernetes shop/orders:http');

  // A source joining a synced watch (a reload's new generation) has its endpoints at once.
  const late = cluster('orders', 'http');
  assert.equal(late.source.synced, true, 'synced synchronously in start()');
  assert.equal(late.ids(), first.ids());
  assert.equal(first.source.stale, false);
});

test('adds, changes and deletes reach the cluster from the watch', { timeout: 15_000 }, async (t) => {
  const { api, cluster } = await harness(t);
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  const orders = cluster('orders', 'http');
  await orders.ready();
  const before = api.requests.lists;

  const timed = async (change: () => void, expected: string) => {
    const started = Date.now();
    change();
    await eventually(() => orders.ids() === expected, { what: expected, intervalMs: 5 });
    return Date.now() - started;
  };
  const latencies = [
    await timed(
      () => api.apply('endpointslices', ordersSlice('orders-b', ['10.0.0.2'])),
      '10.0.0.1:8080 10.0.0.2:8080',
    ),
    await timed(
      () => api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.3'])),
      '10.0.0.2:8080 10.0.0.3:8080',
    ),
    await timed(() => api.delete('endpointslices', 'shop', 'orders-b'), '10.0.0.3:8080'),
  ];
  t.diagnostic(`event → pickable latencies (ms): ${latencies.join(', ')}`);
  assert.equal(api.requests.lists, before, 'changes came from the watch, not from re-listing');
  assert.deepEqual(orders.picks(), new Set(['10.0.0.3:8080']));
});

test('not-ready endpoints take no traffic; terminating ones only when nothing else is left', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster } = await harness(t);
  api.apply(
    'endpointslices',
    endpointSlice('shop', 'orders', 'orders-a', {
      endpoints: [
        { addresses: ['10.0.0.1'], ready: true },
        { addresses: ['10.0.0.2'], ready: false, serving: false },
        { addresses: ['10.0.0.3'], ready: false, serving: true, terminating: true },
        { addresses: ['10.0.0.4'] },
      ],
    }),
  );
  const orders = cluster('orders', 'http');
  await orders.ready();
  assert.equal(orders.ids(), '10.0.0.1:8080 10.0.0.2:8080 10.0.0.3:8080 10.0.0.4:8080');
  assert.deepEqual(
    orders.picks(),
    new Set(['10.0.0.1:8080', '10.0.0.4:8080']),
    'absent ready counts as ready',
  );

  api.apply(
    'endpointslices',
    endpointSlice('shop', 'orders', 'orders-a', {
      endpoints: [
        { addresses: ['10.0.0.2'], ready: false },
        { addresses: ['10.0.0.3'], ready: false, serving: true, terminating: true },
        { addresses: ['10.0.0.5'], ready: false, serving: false, terminating: true },
      ],
    }),
  );
  await eventually(() => orders.ids() === '10.0.0.2:8080 10.0.0.3:8080 10.0.0.5:8080', { what: 'update' });
  assert.deepEqual(
    orders.picks(),
    new Set(['10.0.0.3:8080']),
    'the serving terminating endpoint is the last resort',
  );
});

test('named and numbered Service ports map to the slice target ports', { timeout: 15_000 }, async (t) => {
  const { api, cluster } = await harness(t);
  api.apply(
    'services',
    service('shop', 'orders', [
      { name: 'http', port: 80, targetPort: 'web' },
      { name: 'metrics', port: 9100, targetPort: 9102 },
    ]),
  );
  api.apply(
    'endpointslices',
    endpointSlice('shop', 'orders', 'orders-a', {
      ports: [
        { name: 'http', port: 8080 },
        { name: 'metrics', port: 9102 },
      ],
      endpoints: [{ addresses: ['10.0.0.1'] }],
    }),
  );
  // During a rollout the new pods' slice may use another target port for the same name.
  api.apply(
    'endpointslices',
    endpointSlice('shop', 'orders', 'orders-b', {
      ports: [
        { name: 'http', port: 8081 },
        { name: 'metrics', port: 9102 },
      ],
      endpoints: [{ addresses: ['10.0.0.2'] }],
    }),
  );
  const byName = cluster('orders', 'metrics');
  const byNumber = cluster('orders', 80);
  const ambiguous = cluster('orders');
  await eventually(() => byName.source.synced && byNumber.source.synced && ambiguous.source.synced, {
    what: 'sync',
  });
  assert.equal(byName.ids(), '10.0.0.1:9102 10.0.0.2:9102');
  assert.equal(byNumber.ids(), '10.0.0.1:8080 10.0.0.2:8081');
  assert.equal(ambiguous.ids(), '', 'several ports and none chosen: no guess');
  assert.match(
    ambiguous.source.lastError ?? '',
    /several ports \(http, metrics\); set discovery\.kubernetes\.port/,
  );

  // The Service's port 80 now points at "metrics": the numbered cluster follows the Service.
  api.apply(
    'services',
    service('shop', 'orders', [
      { name: 'metrics', port: 80, targetPort: 9102 },
      { name: 'http', port: 81, targetPort: 'web' },
    ]),
  );
  await eventually(() => byNumber.ids() === '10.0.0.1:9102 10.0.0.2:9102', { what: 'Service port remap' });
});

test('410 Gone: the informer re-lists and nothing that changed meanwhile is lost', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster } = await harness(t);
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  api.apply('endpointslices', ordersSlice('orders-b', ['10.0.0.2']));
  const orders = cluster('orders', 'http');
  await orders.ready();

  // The watch ends; while it is down, changes happen and the server compacts its history.
  api.endWatches();
  api.apply('endpointslices', ordersSlice('orders-c', ['10.0.0.3']));
  api.delete('endpointslices', 'shop', 'orders-a');
  api.apply('endpointslices', ordersSlice('orders-b', ['10.0.0.4']));
  api.compact();

  await eventually(() => orders.ids() === '10.0.0.3:8080 10.0.0.4:8080', { what: 'state after relist' });
  assert.ok(api.requests.gone >= 1, 'the client was told 410 Gone');
  api.apply('endpointslices', ordersSlice('orders-d', ['10.0.0.5']));
  await eventually(() => orders.ids() === '10.0.0.3:8080 10.0.0.4:8080 10.0.0.5:8080', {
    what: 'watching again',
  });
});

test('a watch socket destroyed mid-stream: the informer restarts and catches up', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster, lines } = await harness(t);
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  const orders = cluster('orders', 'http');
  await orders.ready();

  api.destroyWatches();
  api.apply('endpointslices', ordersSlice('orders-b', ['10.0.0.2']));
  await eventually(() => orders.ids() === '10.0.0.1:8080 10.0.0.2:8080', { what: 'recovery' });
  assert.ok(lines.some((l) => l.msg === 'watch failed; keeping the last known objects and retrying'));
  await eventually(() => !orders.source.stale, { what: 'no longer stale' });
  assert.equal(orders.source.lastError, undefined);
});

test('HTTP 500 on list: endpoints stay, reported stale, until a list succeeds', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster } = await harness(t, { tuning: { initialBackoffMs: 150 } });
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  const orders = cluster('orders', 'http');
  await orders.ready();

  api.failLists(3);
  api.destroyWatches();
  await eventually(() => orders.source.stale && /500/.test(orders.source.lastError ?? ''), {
    what: 'stale, and the failed list as the reason',
  });
  assert.equal(orders.ids(), '10.0.0.1:8080', 'last known endpoints kept');
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.9']));
  await eventually(() => orders.ids() === '10.0.0.9:8080', { what: 'recovery after the 500s' });
  await eventually(() => !orders.source.stale, { what: 'no longer stale' });
});

test('API server down at start: no endpoints, not synced; when it comes up endpoints appear', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster } = await harness(t, { down: true });
  const orders = cluster('orders', 'http');
  await eventually(() => orders.source.lastError, { what: 'a connection error' });
  assert.equal(orders.source.synced, false);
  assert.equal(orders.ids(), '');
  assert.equal(orders.cluster.pick({}), undefined);

  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  await api.start();
  await eventually(() => orders.source.synced, { what: 'sync once the API server is up' });
  assert.deepEqual(orders.picks(), new Set(['10.0.0.1:8080']));
});

test('a watch that goes silent is restarted by the watchdog', { timeout: 15_000 }, async (t) => {
  const { api, cluster, lines } = await harness(t, { tuning: { watchdogMs: 500 } });
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  const orders = cluster('orders', 'http');
  await orders.ready();

  api.goSilent(true); // the open watch stays connected but will never deliver again
  api.goSilent(false); // new watches work
  api.apply('endpointslices', ordersSlice('orders-b', ['10.0.0.2']));
  await eventually(() => orders.ids() === '10.0.0.1:8080 10.0.0.2:8080', {
    what: 'the watchdog to restart',
  });
  assert.ok(lines.some((l) => typeof l.error === 'string' && l.error.includes('watchdog')));
});

test('malformed objects are logged and skipped; the rest keeps flowing', { timeout: 15_000 }, async (t) => {
  const { api, cluster, lines } = await harness(t);
  const raw = (name: string, fields: Record<string, unknown>) => ({
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': 'orders' } },
    addressType: 'IPv4',
    ...fields,
  });
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  api.apply(
    'endpointslices',
    raw('bad-endpoints', { endpoints: 'nope', ports: [{ name: 'http', port: 8080 }] }),
  );
  api.apply(
    'endpointslices',
    raw('bad-addresses', {
      endpoints: [{ addresses: ['not-an-ip', 42] }, { addresses: ['10.0.0.7'] }, null],
      ports: [
        { name: 'http', port: 'eighty' },
        { name: 'http', port: 8080 },
      ],
    }),
  );
  const orders = cluster('orders', 'http');
  await orders.ready();
  assert.equal(orders.ids(), '10.0.0.1:8080 10.0.0.7:8080');

  api.sendRaw('endpointslices', 'shop', 'this is not json');
  api.sendRaw('endpointslices', 'shop', JSON.stringify({ type: 'ADDED', object: { kind: 'EndpointSlice' } }));
  api.sendRaw('endpointslices', 'shop', JSON.stringify({ type: 'MODIFIED', object: null }));
  api.sendRaw(
    'endpointslices',
    'shop',
    JSON.stringify({ type: 'ADDED', object: raw('worse', { endpoints: 7 }) }),
  );
  api.apply('endpointslices', ordersSlice('orders-b', ['10.0.0.2']));
  await eventually(() => orders.ids() === '10.0.0.1:8080 10.0.0.2:8080 10.0.0.7:8080', {
    what: 'later events still applied',
  });
  const warnings = lines.filter((l) => String(l.msg).startsWith('malformed'));
  assert.ok(warnings.some((l) => l.problem === 'no metadata.name'));
  assert.ok(warnings.some((l) => l.object === 'worse' && l.problem === 'endpoints is not a list'));
  assert.ok(warnings.some((l) => l.object === 'bad-addresses'));
});

test('a missing kubeconfig is reported and retried, never thrown', { timeout: 15_000 }, async (t) => {
  const { logger, lines } = captureLogger('debug');
  const watches = new KubernetesWatches(logger, FAST);
  const source = new KubernetesSource(
    { namespace: 'shop', service: 'orders', kubeconfig: '/nonexistent/kubeconfig' },
    'http',
    watches,
    logger,
  );
  source.start(() => assert.fail('no snapshot without an API server'));
  t.after(() => source.stop());
  await eventually(
    () => lines.filter((l) => l.msg === 'Kubernetes discovery cannot start; retrying').length >= 2,
    {
      what: 'two attempts',
    },
  );
  assert.match(source.lastError ?? '', /^kubeconfig: .*nonexistent/);
  assert.equal(source.synced, false);
});

test('a list that never answers times out and is retried', { timeout: 15_000 }, async (t) => {
  const { api, cluster, lines } = await harness(t, { tuning: { listTimeoutMs: 300 } });
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  api.hangLists(1);
  const orders = cluster('orders', 'http');
  await orders.ready();
  assert.equal(orders.ids(), '10.0.0.1:8080');
  assert.ok(lines.some((l) => l.error === 'list timed out after 300 ms'));
});

test('watches ask for bookmarks, and a bookmark counts as life for the watchdog', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster, lines } = await harness(t, { tuning: { watchdogMs: 400 } });
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  const orders = cluster('orders', 'http');
  await orders.ready();
  assert.equal(api.requests.bookmarkWatches, 1);
  const watchesBefore = api.requests.watches;
  const ticker = setInterval(() => api.bookmark(), 100);
  t.after(() => clearInterval(ticker));
  await new Promise((resolve) => setTimeout(resolve, 1200)); // three watchdog periods of bookmarks only
  assert.equal(api.requests.watches, watchesBefore, 'the quiet watch was not restarted');
  assert.ok(!lines.some((l) => typeof l.error === 'string' && l.error.includes('watchdog')));
});

test('a config reload keeps the shared watch and the new generation has endpoints at once', {
  timeout: 15_000,
}, async (t) => {
  const { api } = await harness(t);
  const dir = await mkdtemp(join(tmpdir(), 'portside-k8s-reload-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = await api.writeKubeconfig(dir, 'shop');
  api.apply('endpointslices', ordersSlice('orders-a', ['10.0.0.1']));
  const yaml = (drain: string) => `
drainTimeout: ${drain}
listeners: [{ name: orders, address: 127.0.0.1:0, cluster: orders }]
clusters:
  - name: orders
    discovery: { kubernetes: { service: orders, namespace: shop, port: http, kubeconfig: ${JSON.stringify(kubeconfig)} } }
`;
  const proxy = await startProxy(yaml('30s'));
  t.after(() => proxy.stop());
  await eventually(() => proxy.proxy.current?.clusters.get('orders')?.endpoints.length === 1, {
    what: 'first sync',
  });
  await eventually(() => api.openWatches > 0, { what: 'an open watch' });
  const { lists, watches } = api.requests;

  const { config } = loadConfigText(yaml('20s'));
  const next = await proxy.proxy.apply(config!);
  assert.deepEqual(
    next.clusters.get('orders')!.endpoints.map((e) => e.id),
    ['10.0.0.1:8080'],
    'endpoints present the moment the new generation serves',
  );
  assert.deepEqual(
    { lists: api.requests.lists, watches: api.requests.watches },
    { lists, watches },
    'same watch',
  );
});
