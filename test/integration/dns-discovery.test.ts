import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { DnsAnswers, DnsSource, type DnsSourceOptions } from '../../src/discovery/dns.js';
import type { DiscoveredEndpoint } from '../../src/discovery/source.js';
import { Dnsmasq, dnsmasqSkipReason } from '../helpers/dnsmasq.js';
import { eventually } from '../helpers/wait.js';

const skip = dnsmasqSkipReason();
const logger = pino({ level: 'silent' });

function watch(
  options: Omit<DnsSourceOptions, 'logger' | 'minRefreshMs' | 'maxRefreshMs' | 'timeoutMs'> &
    Partial<DnsSourceOptions>,
) {
  const source = new DnsSource({ minRefreshMs: 100, maxRefreshMs: 2000, timeoutMs: 300, logger, ...options });
  const snapshots: DiscoveredEndpoint[][] = [];
  source.start((endpoints) => snapshots.push(endpoints));
  const latest = () =>
    snapshots.at(-1)?.map((e) => `${e.host}:${e.port}${e.terminating ? ' backup' : ''} w${e.weight}`);
  return { source, snapshots, latest };
}

describe('DNS discovery against a real dnsmasq', { skip, timeout: 30_000 }, () => {
  let dns: Dnsmasq;
  before(async () => {
    dns = await Dnsmasq.start({
      hosts: {
        'web.internal': ['10.0.0.1', '10.0.0.2'],
        'v6.internal': ['fd00::1'],
        'a.pay.internal': ['10.1.0.1'],
        'b.pay.internal': ['10.1.0.2'],
        'c.pay.internal': ['10.1.0.3'],
      },
      srv: [
        { name: '_http._tcp.pay.internal', target: 'a.pay.internal', port: 8001, priority: 10, weight: 5 },
        { name: '_http._tcp.pay.internal', target: 'b.pay.internal', port: 8002, priority: 10, weight: 0 },
        { name: '_http._tcp.pay.internal', target: 'c.pay.internal', port: 8003, priority: 20, weight: 1 },
      ],
    });
  });
  after(() => dns?.stop());

  test('A records: first answer, then a changed record is picked up after its TTL', async (t) => {
    // Held by the cluster manager in the proxy.
    const answers = new DnsAnswers();
    const query = { name: 'web.internal', type: 'A', port: 8080, servers: [dns.address], answers } as const;
    const { source, latest } = watch(query);
    t.after(() => source.stop());
    await eventually(() => source.synced, { what: 'first answer' });
    assert.deepEqual(latest(), ['10.0.0.1:8080 w1', '10.0.0.2:8080 w1']);
    assert.equal(source.description, 'dns A web.internal');

    // A new source for the same query (a reload changed the cluster) serves the last good answer at once.
    const next = watch(query);
    t.after(() => next.source.stop());
    assert.equal(next.source.synced, true, 'synced synchronously in start()');
    assert.deepEqual(next.latest(), ['10.0.0.1:8080 w1', '10.0.0.2:8080 w1']);

    await dns.setHosts({ ...hostsWith({ 'web.internal': ['10.0.0.2', '10.0.0.3'] }) });
    await eventually(() => latest()?.join() === '10.0.0.2:8080 w1,10.0.0.3:8080 w1', {
      timeoutMs: 5000,
      what: 'the changed A record',
    });
  });

  test('AAAA records', async (t) => {
    const { source, latest } = watch({
      name: 'v6.internal',
      type: 'AAAA',
      port: 443,
      servers: [dns.address],
    });
    t.after(() => source.stop());
    await eventually(() => source.synced, { what: 'first answer' });
    assert.deepEqual(latest(), ['fd00::1:443 w1']);
  });

  test('SRV: ports and weights from the records, lower priorities only as fallback', async (t) => {
    const { source, latest } = watch({
      name: '_http._tcp.pay.internal',
      type: 'SRV',
      servers: [dns.address],
    });
    t.after(() => source.stop());
    await eventually(() => source.synced, { what: 'first answer' });
    assert.deepEqual(latest(), ['10.1.0.1:8001 w5', '10.1.0.2:8002 w1', '10.1.0.3:8003 backup w1']);

    await dns.setSrv([
      { name: '_http._tcp.pay.internal', target: 'c.pay.internal', port: 9003, priority: 1, weight: 7 },
    ]);
    await eventually(() => latest()?.join() === '10.1.0.3:9003 w7', {
      timeoutMs: 5000,
      what: 'the changed SRV set',
    });
  });

  test('a failing server: the last good answer stays, reported stale, until DNS answers again', async (t) => {
    const { source, snapshots, latest } = watch({
      name: 'web.internal',
      type: 'A',
      port: 80,
      servers: [dns.address],
    });
    t.after(() => source.stop());
    await eventually(() => source.synced, { what: 'first answer' });
    const good = latest();
    const count = snapshots.length;
    dns.pause();
    try {
      await eventually(() => source.stale, { timeoutMs: 5000, what: 'the source to report stale' });
      assert.match(source.lastError ?? '', /ETIMEOUT|ECONNREFUSED/);
      assert.equal(snapshots.length, count, 'no snapshot while failing: the last good endpoints stay');
      assert.deepEqual(latest(), good);
    } finally {
      dns.resume();
    }
    await eventually(() => !source.stale, { timeoutMs: 5000, what: 'recovery' });
    assert.equal(source.lastError, undefined);
  });

  test('an unknown name: not synced, no endpoints, an error that names the problem', async (t) => {
    const { source, snapshots } = watch({
      name: 'missing.internal',
      type: 'A',
      port: 80,
      servers: [dns.address],
    });
    t.after(() => source.stop());
    await eventually(() => source.lastError, { what: 'an error' });
    assert.match(source.lastError!, /ENOTFOUND missing\.internal/);
    assert.equal(source.synced, false);
    assert.equal(source.stale, false);
    assert.equal(snapshots.length, 0);
  });
});

function hostsWith(changes: Record<string, string[]>): Record<string, string[]> {
  return {
    'web.internal': ['10.0.0.1', '10.0.0.2'],
    'v6.internal': ['fd00::1'],
    'a.pay.internal': ['10.1.0.1'],
    'b.pay.internal': ['10.1.0.2'],
    'c.pay.internal': ['10.1.0.3'],
    ...changes,
  };
}
