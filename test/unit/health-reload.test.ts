import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { Cluster } from '../../src/core/cluster.js';
import { EndpointStateRegistry, Unavailable } from '../../src/core/endpoint.js';
import { ProxyEvents } from '../../src/core/events.js';
import { ClusterHealth, type ClusterHealthConfig } from '../../src/health/cluster-health.js';
import { HealthRegistry } from '../../src/health/registry.js';
import { isDown, isUp, nextTransition } from '../helpers/health.js';
import { captureLogger } from '../helpers/proxy.js';

const outlierDetection = {
  consecutiveFailures: 2,
  baseEjectionTime: '200ms',
  maxEjectionTime: '10s',
  maxEjectionPercent: 100,
};

/** What the runtime keeps across generations, and a way to build one generation of one cluster. */
function world() {
  const states = new EndpointStateRegistry();
  const registry = new HealthRegistry();
  const events = new ProxyEvents();
  const { logger, lines } = captureLogger();
  const generation = (config: Partial<ClusterHealthConfig>, firstReady = true) => {
    const cluster = new Cluster('api', new RoundRobinPicker(), states);
    cluster.setEndpoints([
      { host: '127.0.0.1', port: 1, weight: 1, locality: {}, ready: firstReady },
      { host: '127.0.0.1', port: 2, weight: 1, locality: {} },
    ]);
    const health = new ClusterHealth(
      cluster,
      { healthCheck: undefined, outlierDetection: undefined, panicThreshold: 0, ...config },
      { registry, events, log: logger, refreshIntervalMs: 20 },
    );
    health.start();
    return { cluster, health, endpoint: cluster.endpoints[0]! };
  };
  return { states, registry, events, lines, generation };
}

test('an ejection and the count of past ejections survive a reload', { timeout: 10_000 }, async (t) => {
  const w = world();
  const old = w.generation({ outlierDetection });
  t.after(() => old.health.stop());
  old.cluster.reportFailure(old.endpoint, 'reset');
  old.cluster.reportFailure(old.endpoint, 'reset');
  assert.ok(old.endpoint.state.flags & Unavailable.OutlierEjected);

  // Reload: a new generation beside the old one, then the old one retires.
  const next = w.generation({ outlierDetection });
  t.after(() => next.health.stop());
  old.health.stop();
  assert.ok(next.endpoint.state.flags & Unavailable.OutlierEjected, 'still ejected after the swap');
  await nextTransition(w.events, isUp('OutlierEjected'));

  // Ejected again: the new generation knows it is the second time.
  const again = nextTransition(w.events, isDown('OutlierEjected'));
  next.cluster.reportFailure(next.endpoint, 'reset');
  next.cluster.reportSuccess(next.endpoint, 1);
  next.cluster.reportFailure(next.endpoint, 'reset');
  assert.equal(next.endpoint.state.flags, 0, 'a success in between resets the count');
  next.cluster.reportFailure(next.endpoint, 'reset');
  assert.match((await again).reason, /ejection 2 for 400ms/);
  // The retired generation's detector no longer observes anything.
  assert.equal(old.cluster.observers.length, 0);
});

test('a reload that turns health off returns endpoints it had taken out', { timeout: 10_000 }, async (t) => {
  const w = world();
  const old = w.generation({ outlierDetection });
  old.cluster.reportFailure(old.endpoint, 'reset');
  old.cluster.reportFailure(old.endpoint, 'reset');
  old.endpoint.state.setFlag(Unavailable.ActiveCheckFailed, true);
  old.health.stop();

  const next = w.generation({}, false);
  t.after(() => next.health.stop());
  assert.equal(next.endpoint.state.flags, Unavailable.DiscoveryNotReady, "only discovery's reason stays");
  assert.equal(w.registry.memoryFor(next.endpoint).outlier.ejectedUntil, undefined);
});

test('health memory lives as long as the endpoint state: a re-created state starts afresh', () => {
  const w = world();
  const g = w.generation({});
  g.health.stop();
  const memory = w.registry.memoryFor(g.endpoint);
  memory.outlier.timesEjected = 3;
  const again = w.generation({});
  again.health.stop();
  assert.equal(w.registry.memoryFor(again.endpoint), memory, 'the same endpoint in a new generation');
  // The endpoint left for good (every cluster that listed it let it go) and later came back.
  g.cluster.release();
  again.cluster.setEndpoints([{ host: '127.0.0.1', port: 2, weight: 1, locality: {} }]);
  const back = w.generation({});
  back.health.stop();
  assert.notEqual(back.endpoint.state, g.endpoint.state);
  assert.equal(w.registry.memoryFor(back.endpoint).outlier.timesEjected, 0);
});

test('a health event listener that throws is logged, and health goes on', () => {
  const w = world();
  w.events.on('health', () => {
    throw new Error('broken subscriber');
  });
  const g = w.generation({ outlierDetection });
  g.cluster.reportFailure(g.endpoint, 'reset');
  g.cluster.reportFailure(g.endpoint, 'reset');
  g.health.stop();
  assert.ok(g.endpoint.state.flags & Unavailable.OutlierEjected);
  assert.ok(w.lines.some((l) => l.msg === 'a health event listener threw'));
});
