import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterConfig, Config } from '../../src/config/schema.js';
import { ClusterManager } from '../../src/core/cluster-manager.js';
import { ProxyEvents } from '../../src/core/events.js';
import { ManualSource } from '../helpers/manual-source.js';
import { captureLogger, parseConfig } from '../helpers/proxy.js';

function parse(clusters: string): Config {
  const yaml = `clusters:\n${clusters}\nlisteners: []\n`;
  return parseConfig(yaml, 'manager.yaml');
}

function manager() {
  const sources: { cluster: string; source: ManualSource }[] = [];
  const m = new ClusterManager({
    logger: captureLogger().logger,
    events: new ProxyEvents(),
    createSource: (c: ClusterConfig) => {
      const source = new ManualSource();
      sources.push({ cluster: c.name, source });
      return source;
    },
  });
  const latest = (cluster: string) => sources.filter((s) => s.cluster === cluster).at(-1)!.source;
  const count = (cluster: string) => sources.filter((s) => s.cluster === cluster).length;
  const ports = (
    cluster: string,
    update: { views: ReadonlyMap<string, { cluster: { endpoints: readonly { port: number }[] } }> },
  ) => update.views.get(cluster)!.cluster.endpoints.map((e) => e.port);
  return { m, latest, count, ports };
}

test('unchanged clusters keep every part; a balancing change keeps the source and the checker', () => {
  const { m, latest, count } = manager();
  const first = m.prepare(parse('  - { name: a, endpoints: [] }\n  - { name: b, endpoints: [] }'));
  latest('a').answer(1);
  first.commit();
  const a1 = first.views.get('a')!;

  const second = m.prepare(
    parse('  - { name: a, endpoints: [], balancing: { policy: random } }\n  - { name: b, endpoints: [] }'),
  );
  assert.deepEqual(second.discovering, [], 'nothing to warm up');
  second.commit();
  const a2 = second.views.get('a')!;
  assert.equal(a2.cluster, a1.cluster);
  assert.equal(a2.source, a1.source);
  assert.equal(a2.health, a1.health);
  assert.equal(count('a'), 1);
  assert.equal(second.views.get('b')!.cluster, first.views.get('b')!.cluster);
  m.stop();
});

test('a changed discovery warms up without writing, then takes over at its first snapshot after the swap', async () => {
  const { m, latest, count, ports } = manager();
  const first = m.prepare(parse('  - { name: a, endpoints: [] }'));
  const old = latest('a');
  old.answer(1);
  first.commit();

  const second = m.prepare(parse('  - { name: a, endpoints: ["127.0.0.1:9"] }'));
  assert.equal(count('a'), 2);
  const next = latest('a');
  assert.deepEqual(second.discovering, ['a']);
  // Before the swap the new source's snapshot is kept, not applied; the old one still applies.
  old.answer(1, 2);
  assert.deepEqual(ports('a', second), [1, 2]);
  assert.deepEqual(await second.whenWarm(0), ['a']);
  second.commit();
  // No snapshot from the new source yet: the old one goes on serving (never an empty cluster).
  assert.equal(old.stopped, false);
  old.answer(2);
  assert.deepEqual(ports('a', second), [2]);
  next.answer(7);
  assert.equal(old.stopped, true);
  assert.deepEqual(ports('a', second), [7]);
  old.answer(1); // late: ignored
  assert.deepEqual(ports('a', second), [7]);
  m.stop();
});

test('a changed discovery with a snapshot by the swap takes over at the swap', async () => {
  const { m, latest, ports } = manager();
  const first = m.prepare(parse('  - { name: a, endpoints: [] }'));
  const old = latest('a');
  old.answer(1);
  first.commit();
  const second = m.prepare(parse('  - { name: a, endpoints: ["127.0.0.1:9"] }'));
  const warm = second.whenWarm(10_000);
  latest('a').answer(5);
  assert.deepEqual(await warm, []);
  assert.deepEqual(ports('a', second), [1], 'not applied before the swap');
  second.commit();
  assert.deepEqual(ports('a', second), [5]);
  assert.equal(old.stopped, true);
  m.stop();
});

test('an abandoned update stops what it built; a removed cluster releases its endpoint states', () => {
  const { m, latest } = manager();
  const first = m.prepare(parse('  - { name: a, endpoints: [] }'));
  latest('a').answer(1, 2);
  first.commit();
  assert.equal(m.states.size, 2);

  const failed = m.prepare(
    parse('  - { name: a, endpoints: ["127.0.0.1:9"] }\n  - { name: b, endpoints: [] }'),
  );
  const newA = latest('a');
  const b = latest('b');
  b.answer(3);
  assert.equal(m.states.size, 3);
  failed.abandon();
  assert.equal(newA.stopped, true);
  assert.equal(b.stopped, true);
  assert.equal(m.size, 1);
  assert.equal(m.states.size, 2);

  const removal = m.prepare(parse('  - { name: c, endpoints: [] }'));
  const a = removal.views.get('a');
  assert.equal(a, undefined);
  removal.commit();
  assert.equal(m.size, 1);
  assert.equal(m.states.size, 0, 'the states of a are released');
  m.stop();
});

test('a reload that replaces the health config takes over panic mode without announcing it again', () => {
  const events = new ProxyEvents();
  const panics: boolean[] = [];
  events.on('panic', (p) => panics.push(p.panic));
  const sources: ManualSource[] = [];
  const m = new ClusterManager({
    logger: captureLogger().logger,
    events,
    createSource: () => {
      const source = new ManualSource();
      sources.push(source);
      return source;
    },
  });
  const first = m.prepare(parse('  - { name: a, endpoints: [], panicThreshold: 60 }'));
  first.commit();
  sources[0]!.deliver?.([
    { host: '127.0.0.1', port: 1, weight: 1, locality: {} },
    { host: '127.0.0.1', port: 2, weight: 1, locality: {}, ready: false },
  ]);
  assert.deepEqual(panics, [true]);

  const second = m.prepare(
    parse('  - { name: a, endpoints: [], panicThreshold: 60, outlierDetection: { consecutiveFailures: 3 } }'),
  );
  second.commit();
  assert.notEqual(second.views.get('a')!.health, first.views.get('a')!.health);
  assert.equal(second.views.get('a')!.health.panic.active, true);
  assert.deepEqual(panics, [true], 'still in panic, not announced twice');

  m.prepare(parse('  - { name: a, endpoints: [], panicThreshold: 40 }')).commit();
  assert.deepEqual(panics, [true, false], '1 of 2 is not below 40%');
  m.stop();
});

test('an abandoned update keeps the earlier reload source that is still waiting to take over', () => {
  const { m, latest, ports } = manager();
  const first = m.prepare(parse('  - { name: a, endpoints: [] }'));
  const old = latest('a');
  old.answer(1);
  first.commit();
  const second = m.prepare(parse('  - { name: a, endpoints: ["127.0.0.1:9"] }'));
  const waiting = latest('a');
  second.commit(); // no snapshot yet: the old source serves on
  const failed = m.prepare(parse('  - { name: a, endpoints: ["127.0.0.1:8"] }'));
  const third = latest('a');
  failed.abandon();
  assert.equal(third.stopped, true);
  assert.equal(waiting.stopped, false);
  waiting.answer(9);
  assert.equal(old.stopped, true);
  assert.deepEqual(ports('a', second), [9]);
  m.stop();
});
