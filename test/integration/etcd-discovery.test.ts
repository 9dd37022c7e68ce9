import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EtcdSource, parseRegistration, prefixRangeEnd } from '../../src/discovery/etcd.js';
import type { DiscoveredEndpoint } from '../../src/discovery/source.js';
import { EtcdServer, etcdBinary } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

describe('etcd registration values', () => {
  it('reads host:port and JSON registrations', () => {
    assert.deepEqual(parseRegistration('10.0.0.1:8080'), {
      host: '10.0.0.1',
      port: 8080,
      weight: 1,
      locality: { node: undefined, zone: undefined },
      ready: undefined,
    });
    assert.deepEqual(parseRegistration('{"address":"10.0.0.2","weight":3,"zone":"a","ready":false}', 9000), {
      host: '10.0.0.2',
      port: 9000,
      weight: 3,
      locality: { node: undefined, zone: 'a' },
      ready: false,
    });
  });
  it('rejects malformed registrations with a reason', () => {
    assert.equal(parseRegistration('{nope'), 'value is not valid JSON');
    assert.equal(parseRegistration('{"weight":2}'), 'missing "address"');
    assert.match(String(parseRegistration('10.0.0.1')), /missing port/);
    assert.match(String(parseRegistration('{"address":"10.0.0.1:1","weight":0}')), /invalid weight/);
  });
  it('computes the range end of a prefix', () => {
    assert.equal(Buffer.from(prefixRangeEnd('/svc/a/'), 'base64').toString(), '/svc/a0');
  });
});

const haveEtcd = existsSync(etcdBinary);
describe('etcd discovery against a real etcd', {
  skip: !haveEtcd && !process.env.CI ? 'etcd not installed (apt-get install etcd-server)' : false,
  timeout: 60_000,
}, () => {
  let etcd: EtcdServer;
  const sources: EtcdSource[] = [];
  before(async () => {
    etcd = await EtcdServer.start();
  });
  after(async () => {
    for (const s of sources) s.stop();
    await etcd?.close();
  });

  function watch(prefix: string) {
    const { logger, lines } = captureLogger('warn');
    const source = new EtcdSource({ endpoints: [etcd.url], prefix, maxBackoffMs: 300 }, logger);
    sources.push(source);
    const state = { latest: [] as DiscoveredEndpoint[], snapshots: 0, lines, source };
    source.start((endpoints) => {
      state.latest = endpoints;
      state.snapshots++;
    });
    return state;
  }
  const addresses = (eps: DiscoveredEndpoint[]) => eps.map((e) => `${e.host}:${e.port}`).sort();

  it('syncs existing registrations, then follows puts and deletes', async () => {
    await etcd.put('/svc/orders/1', '127.0.0.1:9001');
    await etcd.put('/svc/ordersX/1', '127.0.0.1:9999'); // a sibling prefix, not ours
    const w = watch('/svc/orders/');
    await eventually(() => w.source.synced, { what: 'initial sync' });
    assert.deepEqual(addresses(w.latest), ['127.0.0.1:9001']);

    await etcd.put('/svc/orders/2', '{"address":"127.0.0.1:9002","weight":2,"zone":"z1"}');
    await eventually(() => w.latest.length === 2, { what: 'the new registration' });
    assert.equal(w.latest.find((e) => e.port === 9002)?.weight, 2);
    assert.equal(w.latest.find((e) => e.port === 9002)?.locality.zone, 'z1');

    await etcd.remove('/svc/orders/1');
    await eventually(() => w.latest.length === 1, { what: 'the deletion' });
    assert.deepEqual(addresses(w.latest), ['127.0.0.1:9002']);
  });

  it('drops an instance whose lease expires', async () => {
    const lease = await etcd.grantLease(2);
    await etcd.put('/svc/leased/1', '127.0.0.1:9101', lease);
    await etcd.put('/svc/leased/2', '127.0.0.1:9102');
    const w = watch('/svc/leased/');
    await eventually(() => w.latest.length === 2, { what: 'both registrations' });
    // Nobody renews the lease: etcd deletes the key when the TTL runs out.
    await eventually(() => w.latest.length === 1, { timeoutMs: 15_000, what: 'the lease to expire' });
    assert.deepEqual(addresses(w.latest), ['127.0.0.1:9102']);
  });

  it('skips malformed values without dropping good ones', async () => {
    await etcd.put('/svc/mixed/good', '127.0.0.1:9201');
    await etcd.put('/svc/mixed/bad', '{not json');
    const w = watch('/svc/mixed/');
    await eventually(() => w.source.synced, { what: 'initial sync' });
    assert.deepEqual(addresses(w.latest), ['127.0.0.1:9201']);
    assert.ok(
      w.lines.some((l) => l.msg === 'skipping malformed etcd registration' && l.key === '/svc/mixed/bad'),
    );
  });

  it('keeps serving the last snapshot while etcd is down, and catches up when it returns', async () => {
    await etcd.put('/svc/stable/1', '127.0.0.1:9301');
    const w = watch('/svc/stable/');
    await eventually(() => w.latest.length === 1, { what: 'initial sync' });
    await etcd.down();
    await eventually(() => w.source.lastError, { what: 'the failure to be noticed' });
    assert.deepEqual(addresses(w.latest), ['127.0.0.1:9301'], 'last known endpoints are kept');
    await etcd.up();
    await etcd.put('/svc/stable/2', '127.0.0.1:9302');
    await eventually(() => w.latest.length === 2, { timeoutMs: 15_000, what: 'recovery after etcd returns' });
    assert.equal(w.source.lastError, undefined);
  });
});
