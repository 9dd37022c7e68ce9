import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfigText } from '../../src/config/load.js';
import { DnsSource } from '../../src/discovery/dns.js';
import { createDiscoverySource } from '../../src/discovery/index.js';
import { kubernetesClientRequested } from '../../src/discovery/kubernetes/client.js';
import { KubernetesSource } from '../../src/discovery/kubernetes/source.js';
import { KubernetesWatches } from '../../src/discovery/kubernetes/watches.js';
import { StaticSource } from '../../src/discovery/static.js';

const logger = pino({ level: 'silent' });

test('the factory builds the source a cluster asks for; the Kubernetes client loads only when one starts', () => {
  const { config } = loadConfigText(`
clusters:
  - { name: s, endpoints: [127.0.0.1:1] }
  - { name: d, discovery: { dns: { name: d.internal, port: 80 } } }
  - { name: k, discovery: { kubernetes: { service: orders, port: 80 } } }
`);
  const [s, d, k] = config!.clusters.map((c) =>
    createDiscoverySource(c, { logger, kubernetes: new KubernetesWatches(logger) }),
  );
  assert.ok(s instanceof StaticSource);
  assert.ok(d instanceof DnsSource);
  assert.equal(d.description, 'dns A d.internal');
  assert.ok(k instanceof KubernetesSource);
  assert.equal(k.description, `kubernetes ${process.env.POD_NAMESPACE ?? 'default'}/orders:80`);
  assert.equal(
    kubernetesClientRequested(),
    false,
    'building sources must not import @kubernetes/client-node',
  );
  s!.start(() => {});
  d!.start(() => {});
  d!.stop();
  assert.equal(kubernetesClientRequested(), false, 'static and DNS sources never import it');
});
