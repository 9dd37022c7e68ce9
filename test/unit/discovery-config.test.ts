import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem, loadConfigText } from '../../src/config/load.js';

function problems(yaml: string): string[] {
  return loadConfigText(yaml, 'portside.yaml').problems.map(formatProblem);
}

test('the discovery examples of the issue are valid, with defaults filled in', () => {
  const { config, problems: found } = loadConfigText(`
clusters:
  - name: api
    endpoints: [127.0.0.1:9001]
  - name: web
    discovery:
      dns: { name: web.internal, type: A, port: 8080, refresh: 30s }
  - name: payments
    discovery:
      dns: { name: _http._tcp.payments.internal, type: SRV, servers: ["127.0.0.1:5353", "10.0.0.2", "::1"] }
  - name: orders
    discovery:
      kubernetes:
        service: orders
        namespace: shop
        port: http
`);
  assert.deepEqual(found, []);
  assert.deepEqual(config!.clusters[1]!.discovery, {
    dns: {
      name: 'web.internal',
      type: 'A',
      port: 8080,
      refresh: '30s',
      minRefresh: '5s',
      maxRefresh: '5m',
      timeout: '5s',
    },
  });
  assert.deepEqual(config!.clusters[2]!.discovery?.dns?.servers, [
    '127.0.0.1:5353',
    '10.0.0.2:53',
    '[::1]:53',
  ]);
  assert.deepEqual(config!.clusters[3]!.discovery, {
    kubernetes: { service: 'orders', namespace: 'shop', port: 'http' },
  });
});

test('a cluster needs endpoints or discovery, not both, not neither', () => {
  assert.deepEqual(
    problems(`
clusters:
  - name: both
    endpoints: [127.0.0.1:9001]
    discovery: { dns: { name: a.internal, port: 80 } }
  - name: neither
`),
    [
      'portside.yaml:5:16 clusters[0].discovery: cluster "both" has both "endpoints" and "discovery"; keep one',
      'portside.yaml:6:5 clusters[1]: cluster "neither" needs "endpoints" or "discovery" (dns, kubernetes or etcd)',
    ],
  );
});

test('bad discovery settings get errors that name the field', () => {
  const found = problems(`
clusters:
  - name: a
    discovery: {}
  - name: b
    discovery: { dns: { name: b.internal, port: 80 }, kubernetes: { service: b } }
  - name: c
    discovery: { dns: { name: c.internal } }
  - name: d
    discovery: { dns: { name: _x._tcp.d.internal, type: SRV, port: 80 } }
  - name: e
    discovery: { dns: { name: e.internal, type: MX, port: 80, minRefresh: 10m, maxRefresh: 1m } }
  - name: f
    discovery: { kubernetes: { service: Orders_1, port: 70000, colour: blue } }
  - name: g
    discovery: { dns: { name: "bad name!", port: 80 } }
  - name: h
    discovery: { dns: { name: h.internal, port: 80, servers: ["nope:x"] } }
`);
  const expected = [
    /clusters\[0\]\.discovery: name one source: "dns", "kubernetes" or "etcd"/,
    /clusters\[1\]\.discovery: use one source per cluster, not dns and kubernetes/,
    /clusters\[2\]\.discovery\.dns\.port: "port" is required for A records/,
    /clusters\[3\]\.discovery\.dns\.port: SRV records carry their own ports; remove "port"/,
    /clusters\[4\]\.discovery\.dns\.type: expected A, AAAA or SRV/,
    /clusters\[5\]\.discovery\.kubernetes\.service: Kubernetes names are lowercase/,
    /clusters\[5\]\.discovery\.kubernetes\.port: Service port numbers are 1-65535/,
    /clusters\[5\]\.discovery\.kubernetes\.colour: unknown field "colour"/,
    /clusters\[6\]\.discovery\.dns\.name: invalid DNS name/,
    /clusters\[7\]\.discovery\.dns\.servers\[0\]: invalid DNS server "nope:x"/,
  ];
  for (const pattern of expected)
    assert.ok(
      found.some((p) => pattern.test(p)),
      `${pattern} in:\n${found.join('\n')}`,
    );
});

test('minRefresh longer than maxRefresh is an error', () => {
  const found = problems(`
clusters:
  - name: e
    discovery: { dns: { name: e.internal, port: 80, minRefresh: 10m, maxRefresh: 1m } }
`);
  assert.deepEqual(found, [
    'portside.yaml:4:65 clusters[0].discovery.dns.minRefresh: minRefresh (10m) is longer than maxRefresh (1m)',
  ]);
});

test('discovery.kubernetes.watch: auto, service, namespace or cluster', () => {
  const { config, problems: found } = loadConfigText(`
clusters:
  - { name: a, discovery: { kubernetes: { service: a } } }
  - { name: b, discovery: { kubernetes: { service: b, watch: namespace } } }
  - { name: c, discovery: { kubernetes: { service: c, watch: cluster } } }
`);
  assert.deepEqual(found, []);
  assert.deepEqual(
    config!.clusters.map((c) => c.discovery?.kubernetes?.watch),
    [undefined, 'namespace', 'cluster'],
    'no default written: auto',
  );
  assert.match(
    problems(`
clusters:
  - { name: a, discovery: { kubernetes: { service: a, watch: everything } } }
`).join('\n'),
    /clusters\[0\]\.discovery\.kubernetes\.watch: expected auto, service, namespace or cluster/,
  );
});
