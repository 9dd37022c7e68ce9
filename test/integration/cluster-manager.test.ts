/**
 * Clusters outlive generations: the cluster manager keeps an unchanged cluster's source and
 * health checker across a reload, a changed one's new checker continues the counters, and
 * discovery readiness goes through the same reporter as health (event, log line, panic).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterConfig } from '../../src/config/schema.js';
import type { PanicTransition } from '../../src/core/events.js';
import { ProxyServer } from '../../src/core/proxy.js';
import { createDiscoverySource } from '../../src/discovery/index.js';
import type { DiscoverySource } from '../../src/discovery/source.js';
import { isDown, isUp, nextTransition } from '../helpers/health.js';
import { startHealthUpstream } from '../helpers/health-upstream.js';
import { ManualSource } from '../helpers/manual-source.js';
import { captureLogger, parseConfig } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

/** A proxy whose clusters named `manual-*` get a ManualSource; the others discover as configured. */
function startManagedProxy(t: { after(fn: () => unknown): void }) {
  const created: { cluster: string; source: DiscoverySource }[] = [];
  const { logger, lines } = captureLogger();
  const proxy = new ProxyServer(logger, {
    createSource: (cluster: ClusterConfig, deps) => {
      const source = cluster.name.startsWith('manual')
        ? new ManualSource()
        : createDiscoverySource(cluster, deps);
      created.push({ cluster: cluster.name, source });
      return source;
    },
  });
  t.after(() => proxy.shutdown());
  const manual = (cluster: string) =>
    created.filter((c) => c.cluster === cluster).at(-1)!.source as ManualSource;
  const sourcesOf = (cluster: string) => created.filter((c) => c.cluster === cluster).length;
  return { proxy, lines, manual, sourcesOf };
}

const httpCheck = (interval: string, extra = '') =>
  `healthCheck: { interval: ${interval}, timeout: 2s, unhealthyThreshold: 1, healthyThreshold: 3${extra}, http: { path: /healthz } }`;

test('a reload that changes only listeners keeps the checker: a down endpoint still needs healthyThreshold passes', {
  timeout: 60_000,
}, async (t) => {
  const b = await startHealthUpstream('b');
  t.after(() => b.kill());
  const yaml = (listeners: string, extra = '') =>
    `clusters:
  - name: up
    endpoints: ["127.0.0.1:${b.port}"]
    panicThreshold: 0
    ${httpCheck('300ms', extra)}
listeners:
${listeners}`;
  const one = '  - { name: l4, address: "127.0.0.1:0", cluster: up }\n';
  const two = `${one}  - { name: l4b, address: "127.0.0.1:0", cluster: up }\n`;
  const p = startManagedProxy(t);
  await p.proxy.apply(parseConfig(yaml(one)));
  const health = p.proxy.current!.clusterHealth('up')!;
  const cluster = p.proxy.current!.clusters.get('up')!;

  const down = nextTransition(p.proxy.events, isDown('ActiveCheckFailed'), 20_000);
  b.healthStatus = 500;
  await down;

  // The endpoint answers again, and at once a reload touches only the listeners.
  b.healthStatus = 200;
  const up = nextTransition(p.proxy.events, isUp('ActiveCheckFailed'), 30_000);
  await p.proxy.apply(parseConfig(yaml(two)));
  assert.equal(p.proxy.current!.clusterHealth('up'), health, 'the same checker');
  assert.equal(p.proxy.current!.clusters.get('up'), cluster, 'the same cluster');
  assert.equal(p.sourcesOf('up'), 1, 'no second discovery source');
  assert.equal((await up).reason, '3 health checks passed');

  // A reload that changes the health config: the new checker continues the counters.
  const downAgain = nextTransition(p.proxy.events, isDown('ActiveCheckFailed'), 20_000);
  b.healthStatus = 500;
  await downAgain;
  b.healthStatus = 200;
  const upAgain = nextTransition(p.proxy.events, isUp('ActiveCheckFailed'), 30_000);
  await p.proxy.apply(parseConfig(yaml(two, ', jitter: 5')));
  assert.notEqual(p.proxy.current!.clusterHealth('up'), health, 'a new checker');
  assert.equal(health.checker!.size, 0, 'the old checker stopped');
  assert.equal((await upAgain).reason, '3 health checks passed');
});

test('during a reload warm-up only one checker probes an unchanged cluster', {
  timeout: 60_000,
}, async (t) => {
  const checked = await startHealthUpstream('checked');
  const clock = await startHealthUpstream('clock');
  t.after(() => Promise.all([checked.kill(), clock.kill()]));
  const yaml = (extra: string) => `clusters:
  - name: checked
    endpoints: ["127.0.0.1:${checked.port}"]
    healthCheck: { interval: 1h, timeout: 2s, jitter: 0, http: { path: /healthz } }
  - name: clock
    endpoints: ["127.0.0.1:${clock.port}"]
    healthCheck: { interval: 50ms, timeout: 2s, http: { path: /healthz } }
${extra}
listeners:
  - { name: l4, address: "127.0.0.1:0", cluster: checked }
`;
  const p = startManagedProxy(t);
  await p.proxy.apply(parseConfig(yaml('')));
  // With jitter 0 the first check runs at once; the next one only in an hour.
  await eventually(() => checked.healthChecks === 1, { what: 'the first check' });

  // A new cluster whose discovery has not answered holds the swap (warm-up).
  const applied = p.proxy.apply(parseConfig(yaml('  - { name: manual-slow, endpoints: [] }')));
  let done = false;
  void applied.then(() => {
    done = true;
  });
  // Another checker's progress is the clock: after it ran three checks, a second checker
  // of `checked` would have run its first.
  const from = clock.healthChecks;
  await eventually(() => clock.healthChecks >= from + 3, { what: 'the clock checker', timeoutMs: 20_000 });
  assert.equal(done, false, 'still warming up');
  assert.equal(checked.healthChecks, 1, 'no second checker during the warm-up');

  p.manual('manual-slow').answerEndpoints([{ port: clock.port }]);
  await applied;
  const after = clock.healthChecks;
  await eventually(() => clock.healthChecks >= after + 3, { what: 'the clock checker', timeoutMs: 20_000 });
  assert.equal(checked.healthChecks, 1, 'nor after the swap');
  assert.equal(p.sourcesOf('checked'), 1);
});

test('discovery readiness goes through the health reporter: event, log line and panic re-check', {
  timeout: 20_000,
}, async (t) => {
  const p = startManagedProxy(t);
  await p.proxy.apply(
    parseConfig(`clusters:
  - { name: manual-k, endpoints: [], panicThreshold: 60 }
listeners:
  - { name: l4, address: "127.0.0.1:0", cluster: manual-k }
`),
  );
  const source = p.manual('manual-k');
  source.answerEndpoints([{ port: 1001 }, { port: 1002 }]);
  const panics: PanicTransition[] = [];
  p.proxy.events.on('panic', (e) => panics.push(e));

  const notReady = nextTransition(p.proxy.events, isDown('DiscoveryNotReady'));
  source.answerEndpoints([{ port: 1001 }, { port: 1002, ready: false }]);
  const transition = await notReady;
  assert.equal(transition.endpoint, '127.0.0.1:1002');
  assert.equal(transition.reason, 'discovery: not ready');
  assert.ok(
    p.lines.some(
      (l) =>
        l.event === 'health' &&
        l.msg === 'manual-k 127.0.0.1:1002: available → DiscoveryNotReady (discovery: not ready)',
    ),
    'one log line',
  );
  // 1 of 2 available is below 60%: panic mode re-evaluated with the snapshot, not on a timer.
  assert.deepEqual(
    panics.map((e) => e.panic),
    [true],
  );
  assert.equal(p.proxy.current!.clusterHealth('manual-k')!.panic.active, true);

  const ready = nextTransition(p.proxy.events, isUp('DiscoveryNotReady'));
  source.answerEndpoints([{ port: 1001 }, { port: 1002 }]);
  assert.equal((await ready).reason, 'discovery: ready');
  assert.deepEqual(
    panics.map((e) => e.panic),
    [true, false],
  );
});
