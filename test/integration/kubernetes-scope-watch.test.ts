/**
 * Shared (namespace-wide and cluster-wide) watches and the lean client against the API
 * double: TLS with a CA to verify and a bearer token to send, relabelled and deleted slices,
 * 410 re-lists that apply only the difference, bookmarks, token rotation, pagination, and
 * the automatic choice between per-Service and namespace-wide watches.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { Cluster } from '../../src/core/cluster.js';
import { EndpointStateRegistry } from '../../src/core/endpoint.js';
import { kubernetesClientRequested } from '../../src/discovery/kubernetes/client.js';
import type { ServiceKey } from '../../src/discovery/kubernetes/service-watch.js';
import { KubernetesSource } from '../../src/discovery/kubernetes/source.js';
import { KubernetesWatches, type WatchTuning } from '../../src/discovery/kubernetes/watches.js';
import { endpointSlice, KubeApiDouble, type KubeconfigOptions, service } from '../helpers/kube-api-double.js';
import { captureLogger } from '../helpers/proxy.js';
import { makeTestCertificates } from '../helpers/test-certs.js';
import { eventually } from '../helpers/wait.js';

const FAST: Partial<WatchTuning> = {
  initialBackoffMs: 50,
  maxBackoffMs: 300,
  watchdogMs: 60_000,
  watchTimeoutMs: 60_000,
  maxRewatchDelayMs: 50,
};

interface HarnessOptions {
  tuning?: Partial<WatchTuning>;
  /** Set up the double before it starts (TLS, token). */
  configure?: (api: KubeApiDouble, dir: string) => Promise<KubeconfigOptions> | KubeconfigOptions;
}

async function harness(t: TestContext, { tuning = {}, configure }: HarnessOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'portside-k8s-scope-'));
  const api = new KubeApiDouble();
  const options = (await configure?.(api, dir)) ?? {};
  await api.start();
  const kubeconfig = await api.writeKubeconfig(dir, 'shop', options);
  const { logger, lines } = captureLogger('debug');
  const watches = new KubernetesWatches(logger, { ...FAST, ...tuning });
  const states = new EndpointStateRegistry();
  const sources: KubernetesSource[] = [];
  t.after(async () => {
    for (const s of sources) s.stop();
    watches.stop();
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function cluster(
    serviceName: string,
    {
      port = 'http',
      namespace = 'shop',
      watch,
    }: Partial<Pick<ServiceKey, 'namespace' | 'watch'>> & {
      port?: string | number;
    } = {},
  ) {
    const c = new Cluster(`${namespace}-${serviceName}`, new RoundRobinPicker(), states);
    const key: ServiceKey = { namespace, service: serviceName, kubeconfig, ...(watch ? { watch } : {}) };
    const source = new KubernetesSource(key, port, watches, logger);
    sources.push(source);
    let snapshots = 0;
    source.start((endpoints) => {
      snapshots++;
      c.setEndpoints(endpoints);
    });
    return {
      cluster: c,
      source,
      ids: () => c.endpoints.map((e) => e.id).join(' '),
      snapshots: () => snapshots,
      stop: () => source.stop(),
    };
  }
  const watching = () => eventually(() => api.openWatches > 0, { what: 'an open watch' });
  return { api, dir, watches, lines, cluster, watching, kubeconfig };
}

const slice = (svc: string, name: string, addresses: string[], namespace = 'shop') =>
  endpointSlice(namespace, svc, name, { endpoints: addresses.map((a) => ({ addresses: [a] })) });

test('over TLS with a CA to verify and a token to send; a wrong CA or token is a clear error and endpoints stay', {
  timeout: 30_000,
}, async (t) => {
  const good = await makeTestCertificates();
  const other = await makeTestCertificates();
  t.after(async () => {
    await rm(good.dir, { recursive: true, force: true });
    await rm(other.dir, { recursive: true, force: true });
  });
  const { api, cluster, lines, watching } = await harness(t, {
    configure: (api) => {
      api.tls = { key: good.key, cert: good.cert };
      api.token = 'secret';
      return { caFile: good.caFile, token: 'secret' };
    },
  });
  assert.match(api.url, /^https:/);
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  const orders = cluster('orders', { watch: 'namespace' });
  await eventually(() => orders.ids() === '10.0.0.1:8080', { what: 'sync over TLS' });
  await watching();
  assert.equal(api.requests.unauthorized, 0, 'the token was sent');
  assert.equal(kubernetesClientRequested(), false, 'the lean client needs no client-node for a token');

  // The server now presents a certificate of a CA the client does not trust.
  await api.stop();
  api.tls = { key: other.key, cert: other.cert };
  await api.start();
  await eventually(
    () =>
      /^TLS: the certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted/.test(
        orders.source.lastError ?? '',
      ),
    {
      what: 'a TLS error',
    },
  );
  assert.equal(orders.source.stale, true);
  assert.equal(orders.ids(), '10.0.0.1:8080', 'last known endpoints kept');
  assert.ok(
    lines.some((l) => l.level === 50 && /^TLS: /.test(String(l.error))),
    'logged as an error',
  );

  // Trusted again, but the token is refused.
  await api.stop();
  api.tls = { key: good.key, cert: good.cert };
  api.token = 'another';
  await api.start();
  await eventually(() => /refused the credentials.*\(401\)/.test(orders.source.lastError ?? ''), {
    what: 'a 401',
  });
  assert.equal(orders.ids(), '10.0.0.1:8080', 'last known endpoints kept');
  assert.ok(lines.some((l) => l.level === 50 && /refused the credentials/.test(String(l.error))));

  api.token = 'secret';
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.2']));
  await eventually(() => orders.ids() === '10.0.0.2:8080' && !orders.source.stale, { what: 'recovery' });
});

test('a rotated token file is picked up', { timeout: 20_000 }, async (t) => {
  let tokenFile = '';
  const { api, cluster, watching } = await harness(t, {
    configure: async (api, dir) => {
      tokenFile = join(dir, 'token');
      await writeFile(tokenFile, 'first\n');
      api.token = 'first';
      return { tokenFile };
    },
  });
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  const orders = cluster('orders');
  await eventually(() => orders.ids() === '10.0.0.1:8080', { what: 'sync' });
  await watching();

  // The kubelet writes a new token; the server stops accepting the old one.
  await writeFile(tokenFile, 'second\n');
  api.token = 'second';
  api.destroyWatches();
  api.apply('endpointslices', slice('orders', 'orders-b', ['10.0.0.2']));
  await eventually(() => orders.ids() === '10.0.0.1:8080 10.0.0.2:8080', { what: 'the new token used' });
  assert.equal(orders.source.stale, false);
});

test('a relabelled slice moves its endpoints; a deleted slice removes them', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster, watches, watching } = await harness(t);
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  api.apply('endpointslices', slice('orders', 'orders-b', ['10.0.0.2']));
  api.apply('endpointslices', slice('billing', 'billing-a', ['10.0.1.1']));
  const orders = cluster('orders', { watch: 'namespace' });
  const billing = cluster('billing', { watch: 'namespace' });
  await eventually(() => orders.ids() !== '' && billing.ids() !== '', { what: 'sync' });
  await watching();
  assert.equal(watches.scopeWatches.length, 1, 'one watch for the namespace');
  assert.equal(api.openWatches, 1);

  // The same slice now carries billing's label.
  api.apply('endpointslices', slice('billing', 'orders-b', ['10.0.0.2']));
  await eventually(() => billing.ids() === '10.0.0.2:8080 10.0.1.1:8080', { what: 'moved to billing' });
  await eventually(() => orders.ids() === '10.0.0.1:8080', { what: 'gone from orders' });

  api.delete('endpointslices', 'shop', 'orders-a');
  await eventually(() => orders.ids() === '', { what: 'deleted slice removed' });
  assert.equal(billing.ids(), '10.0.0.2:8080 10.0.1.1:8080');
  const scope = watches.scopeWatches[0]!;
  assert.equal(scope.services.has('shop/orders'), false, 'a Service with nothing left is forgotten');
});

test('a 410 re-list applies only the difference', { timeout: 15_000 }, async (t) => {
  const { api, cluster, watches, watching } = await harness(t);
  for (let i = 0; i < 5; i++)
    api.apply('endpointslices', slice('billing', `billing-${i}`, [`10.0.1.${i + 1}`]));
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  api.apply('endpointslices', slice('orders', 'orders-b', ['10.0.0.2']));
  const orders = cluster('orders', { watch: 'namespace' });
  const billing = cluster('billing', { watch: 'namespace' });
  await eventually(() => orders.ids() !== '' && billing.snapshots() > 0, { what: 'sync' });
  await watching();
  const billingSnapshots = billing.snapshots();
  const informer = watches.scopeWatches[0]!.informers.slices!;
  const listsBefore = informer.lists;

  api.endWatches();
  api.apply('endpointslices', slice('orders', 'orders-c', ['10.0.0.3']));
  api.delete('endpointslices', 'shop', 'orders-a');
  api.compact();
  await eventually(() => orders.ids() === '10.0.0.2:8080 10.0.0.3:8080', { what: 'state after the re-list' });
  assert.ok(api.requests.gone >= 1, 'the client was told 410 Gone');
  assert.equal(informer.lists, listsBefore + 1);
  assert.deepEqual(informer.lastList, { changed: 1, removed: 1, unchanged: 6 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(billing.snapshots(), billingSnapshots, 'an unchanged Service is not rebuilt');
});

test('bookmarks advance the version a watch resumes from', { timeout: 15_000 }, async (t) => {
  const { api, cluster, watches, watching } = await harness(t);
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  const orders = cluster('orders', { watch: 'namespace' });
  await eventually(() => orders.ids() !== '', { what: 'sync' });
  await watching();
  const informer = watches.scopeWatches[0]!.informers.slices!;
  const listed = informer.resourceVersion;

  // Changes elsewhere move the server's version on; this namespace's watch sees none of them.
  for (let i = 0; i < 3; i++) api.apply('endpointslices', slice('web', `web-${i}`, ['10.9.0.1'], 'other'));
  api.bookmark();
  await eventually(() => informer.resourceVersion !== listed, { what: 'the bookmark applied' });
  const bookmarked = informer.resourceVersion;
  assert.ok(Number(bookmarked) > Number(listed));

  // History before the bookmark is compacted: resuming from it is still fine, no 410.
  api.compact();
  api.endWatches();
  await eventually(() => api.requests.watchFrom.at(-1) === bookmarked && api.openWatches > 0, {
    what: 'resumed from the bookmark',
  });
  assert.equal(api.requests.gone, 0);
  api.apply('endpointslices', slice('orders', 'orders-b', ['10.0.0.2']));
  await eventually(() => orders.ids() === '10.0.0.1:8080 10.0.0.2:8080', { what: 'still watching' });
});

test('a Service deleted and re-created', { timeout: 15_000 }, async (t) => {
  const { api, cluster, watches, watching } = await harness(t);
  const create = (address: string) => {
    api.apply('services', service('shop', 'orders', [{ name: 'http', port: 80, targetPort: 'http' }]));
    api.apply('endpointslices', slice('orders', 'orders-x', [address]));
  };
  create('10.0.0.1');
  const orders = cluster('orders', { port: 80, watch: 'namespace' });
  await eventually(() => orders.ids() === '10.0.0.1:8080', { what: 'sync' });
  await watching();
  const scope = watches.scopeWatches[0]!;

  api.delete('endpointslices', 'shop', 'orders-x');
  api.delete('services', 'shop', 'orders');
  await eventually(() => orders.ids() === '' && !scope.services.has('shop/orders'), {
    what: 'endpoints and state gone',
  });
  create('10.0.0.2');
  await eventually(() => orders.ids() === '10.0.0.2:8080', { what: 'back with its new endpoint' });
});

test('auto: per-Service watches for a few Services, one namespace watch beyond, without an empty moment', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster, watches, watching } = await harness(t, { tuning: { namespaceWatchAbove: 2 } });
  for (const name of ['a', 'b', 'c', 'd'])
    api.apply('endpointslices', slice(name, `${name}-1`, ['10.0.0.1']));
  const a = cluster('a');
  const b = cluster('b');
  await eventually(() => a.ids() !== '' && b.ids() !== '', { what: 'sync' });
  await watching();
  assert.deepEqual(watches.scopeWatches.map((s) => s.description).sort(), ['shop/a', 'shop/b']);

  // A third Service in the namespace: all three move to one namespace-wide watch.
  const c = cluster('c');
  const emptied: string[] = [];
  a.cluster.setEndpoints = ((original) => (endpoints) => {
    if (endpoints.length === 0) emptied.push('a');
    return original.call(a.cluster, endpoints);
  })(a.cluster.setEndpoints);
  await eventually(() => c.ids() !== '' && watches.scopeWatches.length === 1, {
    what: 'one namespace watch',
  });
  assert.equal(watches.scopeWatches[0]!.description, 'shop');
  await eventually(() => api.openWatches === 1, { what: 'per-Service watches closed' });
  assert.deepEqual(emptied, [], 'never empty while moving');
  api.apply('endpointslices', slice('a', 'a-1', ['10.0.0.9']));
  await eventually(() => a.ids() === '10.0.0.9:8080', { what: 'a follows the namespace watch' });

  // Every Service of the namespace let go: the watch stops.
  for (const s of [a, b, c]) s.stop();
  assert.equal(watches.scopeWatches.length, 0);
  assert.equal(watches.size, 0);
});

test('many Services named at once start one namespace watch, never their own', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster, watching } = await harness(t, { tuning: { pageSize: 3 } });
  for (let i = 0; i < 10; i++) api.apply('endpointslices', slice(`s${i}`, `s${i}-1`, [`10.0.0.${i + 1}`]));
  const all = Array.from({ length: 10 }, (_, i) => cluster(`s${i}`));
  await eventually(() => all.every((s) => s.ids() !== ''), { what: 'all synced' });
  await watching();
  assert.equal(api.requests.watches, 1);
  const lists = api.requests.paths.filter((p) => p.includes('endpointslices') && !p.includes('watch=true'));
  assert.equal(lists.length, 4, 'ten slices in pages of three');
  assert.ok(lists.every((p) => p.includes('limit=3')));
  assert.ok(lists.slice(1).every((p) => /continue=\d+/.test(p)));
});

test('a cluster-wide watch serves Services of every namespace; stop() closes it at once', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster, watches, watching } = await harness(t);
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1'], 'shop'));
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.9.1'], 'other'));
  const shop = cluster('orders', { watch: 'cluster' });
  const other = cluster('orders', { namespace: 'other', watch: 'cluster' });
  await eventually(() => shop.ids() !== '' && other.ids() !== '', { what: 'sync' });
  await watching();
  assert.equal(shop.ids(), '10.0.0.1:8080');
  assert.equal(other.ids(), '10.0.9.1:8080');
  assert.equal(watches.scopeWatches.length, 1);
  assert.ok(api.requests.paths.some((p) => p.startsWith('/apis/discovery.k8s.io/v1/endpointslices?')));

  watches.stop();
  await eventually(() => api.openWatches === 0, { what: 'the watch closed' });
  // Clusters retired after the watches stopped, and a late one, are harmless.
  shop.stop();
  const late = cluster('billing', { watch: 'cluster' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(late.source.synced, false);
  assert.equal(api.openWatches, 0);
});

test('a kubeconfig with an exec auth plugin gets its token through @kubernetes/client-node', {
  timeout: 60_000,
}, async (t) => {
  const { api, dir } = await harness(t);
  api.token = 'from-plugin';
  const plugin = join(dir, 'credential.sh');
  const credential = {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    kind: 'ExecCredential',
    status: { token: 'from-plugin' },
  };
  await writeFile(plugin, `#!/bin/sh\necho '${JSON.stringify(credential)}'\n`, { mode: 0o755 });
  const kubeconfig = join(dir, 'exec-kubeconfig.yaml');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: double, cluster: { server: "${api.url}" } }]`,
      `users: [{ name: tester, user: { exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: "${plugin}", interactiveMode: Never } } }]`,
      'contexts: [{ name: double, context: { cluster: double, user: tester } }]',
      'current-context: double',
      '',
    ].join('\n'),
  );
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  const { logger } = captureLogger('debug');
  const watches = new KubernetesWatches(logger, FAST);
  t.after(() => watches.stop());
  const source = new KubernetesSource(
    { namespace: 'shop', service: 'orders', kubeconfig },
    'http',
    watches,
    logger,
  );
  let ids = '';
  source.start((endpoints) => {
    ids = endpoints.map((e) => `${e.host}:${e.port}`).join(' ');
  });
  t.after(() => source.stop());
  await eventually(() => ids === '10.0.0.1:8080', { what: 'sync with the plugin token', timeoutMs: 50_000 });
  assert.equal(api.requests.unauthorized, 0);
  assert.equal(kubernetesClientRequested(), true, 'client-node loaded for the plugin');
});

test('Services that come and go leave nothing behind in a namespace watch', {
  timeout: 60_000,
}, async (t) => {
  const { api, cluster, watches } = await harness(t);
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  api.apply('services', service('shop', 'orders', [{ name: 'http', port: 80, targetPort: 'http' }]));
  // A numbered port: the Services are watched too.
  const orders = cluster('orders', { port: 80, watch: 'namespace' });
  await eventually(() => orders.ids() !== '', { what: 'sync' });
  await eventually(() => api.openWatches === 2, { what: 'slice and Service watches' });
  const scope = watches.scopeWatches[0]!;
  const seen = api.requests.watches;

  // 1,000 Services nobody names, each created with a slice and deleted again.
  for (let i = 0; i < 1000; i++) {
    api.apply('endpointslices', slice(`temp-${i}`, `temp-${i}-x`, [`10.1.${i % 250}.1`]));
    api.apply('services', service('shop', `temp-${i}`, [{ name: 'http', port: 80, targetPort: 8080 }]));
    api.delete('endpointslices', 'shop', `temp-${i}-x`);
    api.delete('services', 'shop', `temp-${i}`);
  }
  api.apply('endpointslices', slice('orders', 'orders-b', ['10.0.0.2']));
  await eventually(() => orders.ids() === '10.0.0.1:8080 10.0.0.2:8080', { what: 'the last event applied' });
  assert.equal(api.requests.watches, seen, 'all of it through the one watch');
  assert.deepEqual([...scope.services.keys()], ['shop/orders'], 'no entry of a gone Service is kept');
  const versions = (name: 'slices' | 'services') =>
    (scope.informers[name] as unknown as { versions: Map<string, string> }).versions.size;
  assert.deepEqual(
    { slices: versions('slices'), services: versions('services') },
    { slices: 2, services: 1 },
  );
});

test('a watch quiet past its timeout is resumed from the last version, not re-listed', {
  timeout: 15_000,
}, async (t) => {
  const { api, cluster, watches, watching } = await harness(t, { tuning: { watchTimeoutMs: 300 } });
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  const orders = cluster('orders', { watch: 'namespace' });
  await eventually(() => orders.ids() !== '', { what: 'sync' });
  await watching();
  const informer = watches.scopeWatches[0]!.informers.slices!;
  const { lists, watches: watchCount } = { lists: informer.lists, watches: api.requests.watches };

  api.goSilent(true); // the open watch stays connected and delivers nothing
  api.goSilent(false);
  api.apply('endpointslices', slice('orders', 'orders-b', ['10.0.0.2']));
  await eventually(() => orders.ids() === '10.0.0.1:8080 10.0.0.2:8080', { what: 'caught up' });
  assert.ok(api.requests.watches > watchCount, 'a new watch');
  assert.equal(informer.lists, lists, 'no re-list');
  assert.equal(orders.source.stale, false);
});

test('a client certificate from the kubeconfig authenticates', { timeout: 30_000 }, async (t) => {
  const certs = await makeTestCertificates();
  t.after(() => rm(certs.dir, { recursive: true, force: true }));
  const { api, cluster } = await harness(t, {
    configure: (api) => {
      api.tls = { key: certs.key, cert: certs.cert, clientCa: certs.ca };
      return {
        caFile: certs.caFile,
        token: '',
        clientCertFile: certs.clientCertFile,
        clientKeyFile: certs.clientKeyFile,
      };
    },
  });
  api.apply('endpointslices', slice('orders', 'orders-a', ['10.0.0.1']));
  const orders = cluster('orders');
  await eventually(() => orders.ids() === '10.0.0.1:8080', { what: 'sync with a client certificate' });
});
