/**
 * The catalog's pure parts: which Service a Host names, label selectors, and the config's
 * checks (listeners it names, listeners without routes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import { parseLabelSelector } from '../../src/discovery/kubernetes/label-selector.js';
import { parseServiceHost } from '../../src/discovery/kubernetes/service-host.js';
import { explain } from '../../src/explain/explain.js';
import type { HttpExplanation } from '../../src/explain/explanation.js';
import { offlineWorld } from '../../src/explain/offline.js';

describe('catalog: the Service a Host names', () => {
  const parse = (host: string) => parseServiceHost(host, 'cluster.local');

  it('reads every cluster-DNS form, with a port number or an SRV-style port name', () => {
    assert.deepEqual(parse('orders.shop'), { service: 'orders', namespace: 'shop', port: undefined });
    assert.deepEqual(parse('orders.shop.svc'), { service: 'orders', namespace: 'shop', port: undefined });
    assert.deepEqual(parse('Orders.Shop.svc.cluster.local.:8080'), {
      service: 'orders',
      namespace: 'shop',
      port: 8080,
    });
    assert.deepEqual(parse('_grpc._tcp.orders.shop.svc.cluster.local'), {
      service: 'orders',
      namespace: 'shop',
      port: 'grpc',
    });
    assert.deepEqual(parseServiceHost('a.b.svc.corp.example', 'corp.example'), {
      service: 'a',
      namespace: 'b',
      port: undefined,
    });
  });

  it('names no Service for anything else', () => {
    for (const host of [
      'orders',
      'orders.shop.example.com',
      'orders.shop.svc.other.domain',
      '.shop',
      'orders.',
      '[::1]:80',
      '_http.orders.shop',
      '10.0.0.1',
    ])
      assert.equal(parse(host), undefined, host);
  });
});

describe('catalog: label selectors', () => {
  const matches = (selector: string, labels?: Record<string, string>) => {
    const parsed = parseLabelSelector(selector);
    assert.ok('selector' in parsed, JSON.stringify(parsed));
    return parsed.selector.matches(labels);
  };

  it('applies equality, set and existence terms, all of them', () => {
    const labels = { app: 'web', tier: 'front', 'example.com/team': 'a' };
    assert.equal(matches('app=web', labels), true);
    assert.equal(matches('app==web,tier!=back', labels), true);
    assert.equal(matches('app=web,tier=back', labels), false);
    assert.equal(matches('tier in (front, back)', labels), true);
    assert.equal(matches('tier notin (front)', labels), false);
    assert.equal(matches('example.com/team', labels), true);
    assert.equal(matches('!internal', labels), true);
    assert.equal(matches('!app', labels), false);
    // As in Kubernetes: != and notin match objects without the label.
    assert.equal(matches('env!=prod', undefined), true);
    assert.equal(matches('env notin (prod)', {}), true);
    assert.equal(matches('env in (prod)', {}), false);
  });

  it('refuses malformed selectors with the term at fault', () => {
    for (const bad of ['app=web,', 'app in ()', '=web', 'a b', 'app=we b'])
      assert.ok('error' in parseLabelSelector(bad), bad);
  });
});

describe('catalog: config', () => {
  const problems = (yaml: string) => loadConfigText(yaml, 'f.yaml').problems.map(formatProblem);

  it('accepts a listener without routes when the catalog routes on it, and fills in defaults', () => {
    const { config, problems: found } = loadConfigText(`
listeners: [{ name: web, address: 127.0.0.1:0, protocol: http }]
catalog:
  kubernetes: { namespaces: all, selector: "portside.io/expose=true" }
  listeners: [web]
`);
    assert.deepEqual(found, []);
    assert.equal(config?.catalog?.build, 'firstRequest');
    assert.equal(config?.catalog?.kubernetes.clusterDomain, 'cluster.local');
    assert.equal(config?.catalog?.template.balancing.policy, 'round_robin');
    assert.equal(config?.catalog?.route.timeout, '15s');
  });

  it('says which listener is wrong and what the selector lacks', () => {
    const found = problems(`
listeners:
  - { name: web, address: 127.0.0.1:0, protocol: http }
  - { name: db, address: 127.0.0.1:0, cluster: db }
clusters: [{ name: db, endpoints: [127.0.0.1:5432] }]
catalog:
  kubernetes: { namespaces: [shop], selector: "app in ()" }
  listeners: [db, wbe]
`);
    assert.equal(found.length, 4, found.join('\n'));
    assert.match(found[0]!, /listeners\[0\]: an http listener needs at least one route/);
    assert.match(found[1]!, /catalog.kubernetes.selector: label selector "app in \(\)"/);
    assert.match(found[2]!, /catalog.listeners\[0\]: "db" is not an http listener/);
    assert.match(found[3]!, /catalog.listeners\[1\]: unknown listener "wbe" \(did you mean "web"\?\)/);
  });
});

describe('catalog: explain offline', () => {
  it("says a Host no route matches may be the catalog's, known only to a running proxy", () => {
    const { config } = loadConfigText(`
listeners: [{ name: web, address: 127.0.0.1:8080, protocol: http }]
catalog: { kubernetes: { namespaces: [shop] }, listeners: [web] }
`);
    assert.ok(config);
    const [web] = explain(offlineWorld(config), {
      kind: 'http',
      method: 'GET',
      url: 'http://orders.shop:8080/',
      headers: {},
    }).results as HttpExplanation[];
    assert.match(
      web!.answer!,
      /404 no-route: none of the 0 routes matches; the catalog's Services are known only to a running proxy/,
    );
  });
});
