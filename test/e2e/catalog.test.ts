/**
 * The Service catalog through the real CLI against the Kubernetes API double: Hosts in
 * cluster-DNS form route to the Service's endpoints for the port they name, explicit routes
 * win, a Service deleted stops routing and its cluster goes, one re-created routes again.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminRequest } from '../helpers/admin-request.js';
import { type RunningCli, runCli, startCli } from '../helpers/cli.js';
import { type HttpUpstream, startHttpUpstream, upstreamFor } from '../helpers/http.js';
import { endpointSlice, KubeApiDouble, service } from '../helpers/kube-api-double.js';
import { eventually } from '../helpers/wait.js';

describe('portside run with a Service catalog', { timeout: 90_000 }, () => {
  let dir: string;
  let api: KubeApiDouble;
  const upstreams: Record<string, HttpUpstream> = {};
  let cli: RunningCli;
  let port: number;
  let admin: string;

  const ordersSlice = () =>
    endpointSlice('shop', 'orders', 'orders-a1', {
      ports: [
        { name: 'http', port: upstreams.ordersHttp!.port },
        { name: 'admin', port: upstreams.ordersAdmin!.port },
      ],
      endpoints: [{ addresses: ['127.0.0.1'] }],
    });
  const usersSlice = (upstream: HttpUpstream) =>
    endpointSlice('shop', 'users', 'users-b1', {
      ports: [{ port: upstream.port }],
      endpoints: [{ addresses: ['127.0.0.1'] }],
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portside-e2e-catalog-'));
    for (const name of ['ordersHttp', 'ordersAdmin', 'users', 'usersAgain', 'pinned'])
      upstreams[name] = await startHttpUpstream(name);
    api = await new KubeApiDouble().start();
    api.apply(
      'services',
      service('shop', 'orders', [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'admin', port: 9000, targetPort: 'admin' },
      ]),
    );
    api.apply('endpointslices', ordersSlice());
    api.apply('services', service('shop', 'users', [{ port: 8080, targetPort: 8080 }]));
    api.apply('endpointslices', usersSlice(upstreams.users!));
    // Left out by the selector, and a namespace the catalog does not cover.
    api.apply('services', service('shop', 'hidden', [{ port: 80, targetPort: 80 }], { internal: 'true' }));
    api.apply('services', service('elsewhere', 'users', [{ port: 8080, targetPort: 8080 }]));
    const kubeconfig = await api.writeKubeconfig(dir, 'shop');
    const file = join(dir, 'portside.yaml');
    await writeFile(
      file,
      `
admin: { address: 127.0.0.1:0 }
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes:
      - { match: { host: orders.shop, pathPrefix: /pinned }, cluster: pinned }
clusters:
  - { name: pinned, endpoints: ["127.0.0.1:${upstreams.pinned!.port}"] }
catalog:
  kubernetes: { namespaces: [shop], selector: "!internal", kubeconfig: ${JSON.stringify(kubeconfig)} }
  listeners: [web]
  template: { balancing: { policy: least_request }, upstreamProtocol: http1 }
  route: { timeout: 5s, retries: { attempts: 2 } }
`,
    );
    const validated = await runCli(['validate', file]);
    assert.equal(validated.code, 0, validated.stderr);
    assert.match(
      validated.stdout,
      /catalog: every Service of namespace shop matching "!internal", by Host on web/,
    );
    cli = startCli(['run', '--config', file]);
    port = await cli.listenerPort('web');
    const line = await cli.waitForLog((l) => l.msg === 'admin: listening');
    admin = String(line.address);
  });

  after(async () => {
    cli?.kill();
    await api?.stop();
    for (const upstream of Object.values(upstreams)) await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('routes svc.ns, svc.ns.svc.cluster.local:port and a named port to that port', async () => {
    await eventually(async () => (await upstreamFor(port, 'users.shop')) === 'users', {
      timeoutMs: 15_000,
      what: 'users.shop to route',
    });
    assert.equal(await upstreamFor(port, 'orders.shop'), 'ordersHttp', 'no port: the first port');
    assert.equal(await upstreamFor(port, 'orders.shop:80'), 'ordersHttp');
    assert.equal(await upstreamFor(port, 'orders.shop.svc.cluster.local:9000'), 'ordersAdmin');
    assert.equal(await upstreamFor(port, 'ORDERS.shop.svc.cluster.local.'), 'ordersHttp');
    assert.equal(await upstreamFor(port, '_admin._tcp.orders.shop.svc'), 'ordersAdmin');
    assert.equal(await upstreamFor(port, 'users.shop.svc:8080'), 'users');
    assert.equal(await upstreamFor(port, 'orders.shop:81'), '404', 'not a port of the Service');
    assert.equal(await upstreamFor(port, 'hidden.shop'), '404', 'left out by the selector');
    assert.equal(await upstreamFor(port, 'users.elsewhere'), '404', 'a namespace the catalog does not cover');
    assert.equal(await upstreamFor(port, 'nothing.shop'), '404');

    // HTTP/2 (h2c): `:authority` is the Host.
    const session = connect(`http://127.0.0.1:${port}`);
    try {
      const upstream = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ':authority': 'orders.shop.svc.cluster.local:9000' });
        stream.on('response', (headers) => resolve(String(headers['x-upstream'])));
        stream.on('error', reject);
        stream.resume();
        stream.end();
      });
      assert.equal(upstream, 'ordersAdmin');
    } finally {
      session.close();
    }
  });

  it('lets explicit routes win, and shows the catalog in /config and /clusters', async () => {
    const pinned = await upstreamFor(port, 'orders.shop', '/pinned');
    assert.equal(pinned, 'pinned');

    const config = JSON.parse((await adminRequest(admin, '/config')).body);
    assert.deepEqual(config.config.catalog.kubernetes.namespaces, ['shop']);
    const clusters = JSON.parse((await adminRequest(admin, '/clusters')).body);
    const names = clusters.clusters.map((c: { name: string }) => c.name).sort();
    assert.deepEqual(names, ['orders.shop:80', 'orders.shop:9000', 'pinned', 'users.shop:8080']);
    const services = clusters.catalog.services.map(
      (s: { namespace: string; service: string }) => `${s.service}.${s.namespace}`,
    );
    assert.deepEqual(services.sort(), ['orders.shop', 'users.shop']);
    // The admin's explain follows the request into the catalog, as the proxy does.
    const url = encodeURIComponent('http://orders.shop.svc.cluster.local:9000/x');
    const explained = JSON.parse((await adminRequest(admin, `/explain?method=GET&url=${url}`)).body);
    const shown = JSON.stringify(explained);
    assert.match(shown, /"name":"catalog","matched":true/, shown);
    assert.match(shown, /"name":"orders\.shop:9000"/, shown);
    const listeners = JSON.parse((await adminRequest(admin, '/listeners')).body);
    const catalogRoute = listeners.listeners[0].routes.find((r: { name: string }) => r.name === 'catalog');
    assert.ok(catalogRoute.requestsTotal >= 7, JSON.stringify(catalogRoute));
  });

  it('stops routing a deleted Service, frees its cluster, and routes it again once re-created', async () => {
    assert.equal(await upstreamFor(port, 'users.shop'), 'users');
    api.delete('services', 'shop', 'users');
    api.delete('endpointslices', 'shop', 'users-b1');
    await eventually(async () => (await upstreamFor(port, 'users.shop')) === '404', {
      timeoutMs: 15_000,
      what: 'users.shop to stop routing',
    });
    const clusters = JSON.parse((await adminRequest(admin, '/clusters')).body);
    assert.ok(!clusters.clusters.some((c: { name: string }) => c.name.startsWith('users.')));

    api.apply('services', service('shop', 'users', [{ port: 8080, targetPort: 8080 }]));
    api.apply('endpointslices', usersSlice(upstreams.usersAgain!));
    await eventually(async () => (await upstreamFor(port, 'users.shop')) === 'usersAgain', {
      timeoutMs: 15_000,
      what: 'the re-created users.shop to route',
    });
  });
});
