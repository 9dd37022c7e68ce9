import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redact } from '../../src/admin/redact.js';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import { registrationKey, registrationValue } from '../../src/registry/registration.js';

function problems(yaml: string): string[] {
  return loadConfigText(yaml, 'portside.yaml').problems.map(formatProblem);
}

test('register entries get their defaults, and registry.etcd its own', () => {
  const { config, problems: found } = loadConfigText(`
registry:
  etcd: { endpoints: ["http://10.0.0.1:2379", "https://10.0.0.2:2379"], username: portside, password: s3cret }
register:
  - { service: orders, address: 10.0.0.7, port: 8080 }
  - service: web
    address: web-1.internal
    port: 80
    id: web-1
    ttl: 3s
    healthCheck: { http: { path: /healthz } }
`);
  assert.deepEqual(found, []);
  assert.deepEqual(config!.register[0], {
    service: 'orders',
    address: '10.0.0.7',
    port: 8080,
    weight: 1,
    ttl: '10s',
  });
  assert.equal(config!.register[1]!.healthCheck?.interval, '2s');
  assert.deepEqual(config!.registry?.etcd.endpoints, ['http://10.0.0.1:2379', 'https://10.0.0.2:2379']);
  assert.equal(config!.registry?.etcd.prefix, '/services/');
  assert.equal(config!.registry?.etcd.timeout, '5s');
  assert.equal(registrationKey('/services/', config!.register[0]!), '/services/orders/10.0.0.7:8080');
  assert.equal(registrationKey('/services/', config!.register[1]!), '/services/web/web-1');
});

test('a config without register entries has no registry defaults to show', () => {
  const { config } = loadConfigText('listeners: []\n');
  assert.deepEqual(config!.register, []);
  assert.equal(config!.registry, undefined);
});

test('the value is what discovery.etcd reads, IPv6 in brackets', () => {
  const value = registrationValue(
    { service: 's', address: '::1', port: 80, weight: 2, ttl: '10s', zone: 'z', metadata: { a: 'b' } },
    { node: 'node-1', zone: 'self-zone' },
  );
  assert.deepEqual(JSON.parse(value), {
    address: '[::1]:80',
    weight: 2,
    node: 'node-1',
    zone: 'z',
    metadata: { a: 'b' },
  });
});

test('bad register entries are named with their position and reason', () => {
  const found = problems(`
registry:
  etcd: { endpoints: ["http://user:pw@10.0.0.1:2379"], prefix: /services }
register:
  - { service: "a/b", address: "10.0.0.7:80", port: 0, ttl: 2500ms }
  - { service: ok, address: 10.0.0.8, port: 80, healthCheck: { tcp: {}, http: {} } }
  - { service: ok, address: 10.0.0.9 }
`);
  const text = found.join('\n');
  assert.match(
    text,
    /registry\.etcd\.endpoints\[0\]: expected an etcd client URL .*use username and password/,
  );
  assert.match(text, /registry\.etcd\.prefix: the prefix ends with "\/"/);
  assert.match(text, /register\[0\]\.service: a service name is letters/);
  assert.match(text, /register\[0\]\.address: expected a host name or IP address without a port/);
  assert.match(text, /register\[0\]\.port/);
  assert.match(text, /register\[0\]\.ttl: etcd leases are whole seconds/);
  assert.match(text, /register\[1\]\.healthCheck\.http: choose one probe/);
  assert.match(text, /register\[2\]\.port/);
});

test('two entries with one key are refused', () => {
  const found = problems(`
register:
  - { service: web, address: 10.0.0.8, port: 80 }
  - { service: web, address: 10.0.0.8, port: 80, weight: 2 }
  - { service: web, address: 10.0.0.8, port: 80, id: web-2 }
`);
  assert.deepEqual(found, [
    'portside.yaml:4:5 register[1]: same service and id as register[0] (web/10.0.0.8:80): give one of them an "id"',
  ]);
});

test('the etcd password is hidden wherever the config is shown', () => {
  const { config } = loadConfigText(`
registry:
  etcd: { username: portside, password: s3cret }
register:
  - { service: orders, address: 10.0.0.7, port: 8080 }
`);
  const shown = JSON.stringify(redact(config));
  assert.ok(!shown.includes('s3cret'));
  assert.match(shown, /"username":"portside","password":"\[redacted\]"/);
});
