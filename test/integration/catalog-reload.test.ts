/**
 * The catalog across reloads: kept with its clusters when its config is unchanged, rebuilt
 * on the same watches when it changes, gone (watches released) when the config drops it.
 * Also: a config cluster discovering the same Service port serves its catalog Host.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type HttpUpstream, startHttpUpstream, upstreamFor } from '../helpers/http.js';
import { endpointSlice, KubeApiDouble, service } from '../helpers/kube-api-double.js';
import { parseConfig, startProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

describe('catalog across reloads', { timeout: 60_000 }, () => {
  let dir: string;
  let api: KubeApiDouble;
  let upstream: HttpUpstream;
  let proxy: TestProxy;
  let kubeconfig: string;

  /** `catalog`: lines under the catalog's kubernetes and listeners, or undefined for none. */
  const config = ({
    catalog,
    routes = '[]',
    clusters = '[]',
    drain = '1s',
  }: {
    catalog?: string;
    routes?: string;
    clusters?: string;
    drain?: string;
  }) => `
drainTimeout: ${drain}
listeners: [{ name: web, address: 127.0.0.1:0, protocol: http, accessLog: false, routes: ${routes} }]
clusters: ${clusters}
${catalog === undefined ? '' : `catalog:\n  kubernetes: { namespaces: [shop], kubeconfig: ${JSON.stringify(kubeconfig)} }\n  listeners: [web]\n${catalog}`}
`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portside-catalog-reload-'));
    upstream = await startHttpUpstream('orders');
    api = await new KubeApiDouble().start();
    api.apply('services', service('shop', 'orders', [{ name: 'http', port: 80, targetPort: 'http' }]));
    api.apply(
      'endpointslices',
      endpointSlice('shop', 'orders', 'orders-1', {
        ports: [{ name: 'http', port: upstream.port }],
        endpoints: [{ addresses: ['127.0.0.1'] }],
      }),
    );
    kubeconfig = await api.writeKubeconfig(dir, 'shop');
    proxy = await startProxy(config({ catalog: '' }));
  });

  after(async () => {
    await proxy?.stop();
    await api?.stop();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps, rebuilds and drops the catalog as the config says', async () => {
    const port = proxy.port('web');
    await eventually(async () => (await upstreamFor(port, 'orders.shop')) === 'orders', {
      what: 'orders.shop',
    });
    const first = proxy.proxy.current!.catalog!;
    const cluster = first.clusters()[0];
    assert.equal(cluster?.name, 'orders.shop:80');

    // Unchanged catalog: the same catalog and cluster serve the next generation.
    await proxy.proxy.apply(parseConfig(config({ catalog: '', drain: '2s' })));
    assert.equal(proxy.proxy.current!.catalog, first);
    assert.equal(await upstreamFor(port, 'orders.shop'), 'orders');
    assert.equal(first.clusters()[0], cluster);

    // A new template: a new catalog on the same watch (no new list), its own clusters.
    const lists = api.requests.lists;
    await proxy.proxy.apply(
      parseConfig(config({ catalog: '  template: { balancing: { policy: random } }' })),
    );
    const second = proxy.proxy.current!.catalog!;
    assert.notEqual(second, first);
    assert.equal(await upstreamFor(port, 'orders.shop'), 'orders');
    assert.notEqual(second.clusters()[0], cluster);
    assert.equal(first.clusters().length, 0, 'the old catalog retired its clusters');
    assert.equal(api.requests.lists, lists, 'the watches were shared, not listed again');

    // A config cluster for the same Service port takes the Host over.
    const pinned = `[{ name: pinned, discovery: { kubernetes: { service: orders, namespace: shop, port: 80, kubeconfig: ${JSON.stringify(kubeconfig)} } } }]`;
    await proxy.proxy.apply(parseConfig(config({ catalog: '', clusters: pinned })));
    assert.equal(await upstreamFor(port, 'orders.shop'), 'orders');
    assert.deepEqual(proxy.proxy.current!.catalog!.clusters(), [], 'served by the config cluster');

    // No catalog: its Hosts are not routed, its watches are released.
    const dead = '[{ name: dead, endpoints: ["127.0.0.1:1"] }]';
    await proxy.proxy.apply(parseConfig(config({ routes: '[{ cluster: dead }]', clusters: dead })));
    assert.equal(proxy.proxy.current!.catalog, undefined);
    assert.equal(await upstreamFor(port, 'orders.shop'), '502', 'the catch-all route, to a closed port');
    assert.equal(proxy.proxy.clusters.discovery.kubernetes.scopeWatches.length, 0);
  });

  it('with namespaces: all, one cluster-wide watch serves the catalog and config clusters alike', async () => {
    const pinned = `[{ name: pinned, discovery: { kubernetes: { service: orders, namespace: shop, kubeconfig: ${JSON.stringify(kubeconfig)} } } }]`;
    const yaml = config({
      catalog: '',
      clusters: pinned,
      routes: '[{ match: { host: pinned.example }, cluster: pinned }]',
    });
    await proxy.proxy.apply(parseConfig(yaml.replace('namespaces: [shop]', 'namespaces: all')));
    assert.equal(proxy.proxy.current!.catalog!.description, 'kubernetes catalog (all namespaces)');
    const listener = proxy.port('web');
    await eventually(async () => (await upstreamFor(listener, 'pinned.example')) === 'orders', {
      what: 'pinned',
    });
    assert.equal(await upstreamFor(listener, 'orders.shop'), 'orders');
    const scopes = proxy.proxy.clusters.discovery.kubernetes.scopeWatches.map((w) => w.description);
    assert.deepEqual(scopes, ['(all namespaces)']);
  });

  it('with build: serviceAdded, builds every Service port before any request', async () => {
    await proxy.proxy.apply(parseConfig(config({ catalog: '  build: serviceAdded' })));
    const catalog = proxy.proxy.current!.catalog!;
    await eventually(() => catalog.clusters().length === 1, { what: 'the cluster of orders' });
    assert.equal(catalog.clusters()[0]?.name, 'orders.shop:80');
    assert.equal(catalog.clusters()[0]?.endpoints.length, 1);
  });

  it('retires a cluster idle for idleTimeout, and builds it again at the next request', async () => {
    await proxy.proxy.apply(parseConfig(config({ catalog: '  idleTimeout: 100ms' })));
    const port = proxy.port('web');
    const catalog = proxy.proxy.current!.catalog!;
    await eventually(async () => (await upstreamFor(port, 'orders.shop')) === 'orders', {
      what: 'orders.shop',
    });
    const first = catalog.clusters()[0];
    assert.ok(first);
    await eventually(() => catalog.clusters().length === 0, {
      timeoutMs: 10_000,
      what: 'the idle cluster to go',
    });
    assert.deepEqual(catalog.services()[0]?.clusters, []);
    assert.equal(await upstreamFor(port, 'orders.shop'), 'orders');
    assert.notEqual(catalog.clusters()[0], first);
  });
});
