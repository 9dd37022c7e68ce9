import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectEndpoints } from '../../src/discovery/kubernetes/endpoints.js';
import {
  type EndpointSliceInfo,
  parseEndpointSlice,
  parseService,
} from '../../src/discovery/kubernetes/objects.js';

function slice(name: string, fields: Partial<EndpointSliceInfo>): EndpointSliceInfo {
  return {
    name,
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [],
    ...fields,
  };
}

test('a listed class instance (Date fields) and watched plain JSON read the same', () => {
  class V1ObjectMeta {
    name = 'orders-a';
    creationTimestamp = new Date('2026-01-01T00:00:00Z');
  }
  class V1Endpoint {
    addresses = ['10.0.0.1'];
    conditions = { ready: true };
    nodeName = 'node-1';
  }
  class V1EndpointSlice {
    metadata = new V1ObjectMeta();
    addressType = 'IPv4';
    endpoints = [new V1Endpoint()];
    ports = [{ name: 'http', port: 8080, protocol: 'TCP' }];
  }
  const json = JSON.parse(JSON.stringify(new V1EndpointSlice()));
  assert.equal(typeof json.metadata.creationTimestamp, 'string');
  assert.deepEqual(parseEndpointSlice(new V1EndpointSlice()), parseEndpointSlice(json));
  const parsed = parseEndpointSlice(json);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.endpoints[0], {
    addresses: ['10.0.0.1'],
    ready: true,
    serving: undefined,
    terminating: undefined,
    nodeName: 'node-1',
    zone: undefined,
  });
});

test('malformed slices and services are reported, never thrown', () => {
  for (const bad of [
    null,
    7,
    'x',
    {},
    { metadata: {} },
    { metadata: { name: 'a' }, endpoints: 3 },
    { metadata: { name: 'a' }, ports: {} },
  ]) {
    const parsed = parseEndpointSlice(bad);
    assert.equal(parsed.ok, false, JSON.stringify(bad));
  }
  const partly = parseEndpointSlice({
    metadata: { name: 'a' },
    endpoints: [{ addresses: ['10.0.0.1', 'nope'] }, { addresses: [] }, { conditions: {} }, 5],
    ports: [{ port: 0 }, { name: 'http', port: 80 }],
  });
  assert.ok(partly.ok);
  assert.deepEqual(
    partly.value.endpoints.map((e) => e.addresses),
    [['10.0.0.1']],
  );
  assert.deepEqual(partly.value.ports, [{ name: 'http', port: 80, protocol: 'TCP' }]);
  assert.equal(partly.warnings.length, 5);
  assert.equal(parseService({ metadata: { name: 's' } }).ok, false);
  assert.equal(
    parseService({ metadata: { name: 's' }, spec: { ports: [{ name: 'http', port: 80 }] } }).ok,
    true,
  );
});

test('conditions: ready, not ready, serving-terminating (drain) and non-serving terminating', () => {
  const { endpoints } = selectEndpoints(
    [
      slice('a', {
        endpoints: [
          { addresses: ['10.0.0.1'] },
          { addresses: ['10.0.0.2'], ready: false },
          { addresses: ['10.0.0.3'], ready: false, serving: true, terminating: true },
          { addresses: ['10.0.0.4'], ready: false, serving: false, terminating: true },
          { addresses: ['10.0.0.5'], ready: true, terminating: true },
        ],
      }),
    ],
    undefined,
    'http',
  );
  assert.deepEqual(
    endpoints.map((e) => [e.host, e.ready, e.terminating]),
    [
      ['10.0.0.1', undefined, undefined],
      ['10.0.0.2', false, undefined],
      ['10.0.0.3', undefined, true],
      ['10.0.0.4', false, undefined],
      ['10.0.0.5', undefined, true],
    ],
  );
});

test('dual-stack slices, FQDN slices skipped, UDP ports ignored, locality carried', () => {
  const { endpoints } = selectEndpoints(
    [
      slice('v4', { endpoints: [{ addresses: ['10.0.0.1'], nodeName: 'n1', zone: 'z1' }] }),
      slice('v6', { addressType: 'IPv6', endpoints: [{ addresses: ['fd00::1'], zone: 'z2' }] }),
      slice('fqdn', { addressType: 'FQDN', endpoints: [{ addresses: ['10.0.0.9'] }] }),
      slice('udp', {
        ports: [{ name: 'http', port: 53, protocol: 'UDP' }],
        endpoints: [{ addresses: ['10.0.0.8'] }],
      }),
    ],
    undefined,
    'http',
  );
  assert.deepEqual(
    endpoints.map((e) => [e.host, e.port, e.locality]),
    [
      ['10.0.0.1', 8080, { node: 'n1', zone: 'z1' }],
      ['fd00::1', 8080, { zone: 'z2' }],
    ],
  );
});

test('port selection: by name, by Service number, by target number without a Service, or the only port', () => {
  const two = slice('a', {
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'admin', port: 9000, protocol: 'TCP' },
    ],
    endpoints: [{ addresses: ['10.0.0.1'] }],
  });
  const svc = {
    name: 's',
    ports: [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'admin', port: 90, protocol: 'TCP' },
    ],
  };
  const port = (selector: string | number | undefined, service = svc as typeof svc | undefined) => {
    const r = selectEndpoints([two], service, selector);
    return r.endpoints[0]?.port ?? r.problem;
  };
  assert.equal(port('admin'), 9000);
  assert.equal(port(80), 8080);
  assert.equal(port(90), 9000);
  assert.equal(port(9000, undefined), 9000);
  assert.match(String(port(91)), /no Service port or target port 91/);
  assert.match(String(port('grpc')), /no port named "grpc"/);
  assert.match(String(port(undefined)), /several ports \(http, admin\)/);
  const single = slice('b', {
    ports: [{ name: '', port: 7000, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.0.0.2'] }],
  });
  assert.equal(selectEndpoints([single], undefined, undefined).endpoints[0]?.port, 7000);
  assert.equal(
    selectEndpoints([single], { name: 's', ports: [{ name: '', port: 80, protocol: 'TCP' }] }, 80)
      .endpoints[0]?.port,
    7000,
  );
});
