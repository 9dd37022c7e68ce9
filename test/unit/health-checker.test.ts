import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { Cluster } from '../../src/core/cluster.js';
import { EndpointStateRegistry } from '../../src/core/endpoint.js';
import { ProxyEvents } from '../../src/core/events.js';
import { ActiveChecker, type ActiveCheckSettings } from '../../src/health/active-checker.js';
import { type Probe, socketFailure } from '../../src/health/probes.js';
import { HealthRegistry } from '../../src/health/registry.js';
import { HealthReporter } from '../../src/health/reporter.js';
import { isDown, nextTransition } from '../helpers/health.js';
import { captureLogger } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

/** An active checker on one fake endpoint with a fake probe: no sockets. */
function checkerWith(probe: Probe, settings: Partial<ActiveCheckSettings>) {
  const cluster = new Cluster('api', new RoundRobinPicker(), new EndpointStateRegistry());
  cluster.setEndpoints([{ host: '127.0.0.1', port: 1, weight: 1, locality: {} }]);
  const events = new ProxyEvents();
  const reporter = new HealthReporter('api', events, captureLogger().logger);
  const checker = new ActiveChecker(
    cluster,
    {
      intervalMs: 20,
      timeoutMs: 20,
      unhealthyThreshold: 1,
      healthyThreshold: 1,
      jitterPercent: 0,
      probe,
      ...settings,
    },
    reporter,
    new HealthRegistry(),
  );
  checker.sync();
  return { checker, events, cluster };
}

test('a slow probe is never overlapped by the next check of the same endpoint', {
  timeout: 10_000,
}, async (t) => {
  let running = 0;
  let maxRunning = 0;
  let done = 0;
  // Each probe takes three intervals; a timer-driven checker would start three at once.
  const { checker } = checkerWith(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await delay(60);
    running--;
    done++;
    return { ok: true };
  }, {});
  t.after(() => checker.stop());
  await eventually(() => done >= 4, { what: 'four slow checks' });
  assert.equal(maxRunning, 1);
});

test('a probe that throws counts as a failed check and does not stop the loop', {
  timeout: 10_000,
}, async (t) => {
  let calls = 0;
  const { checker, events } = checkerWith(
    async () => {
      calls++;
      throw new Error('boom');
    },
    { intervalMs: 10, unhealthyThreshold: 2 },
  );
  t.after(() => checker.stop());
  const down = await nextTransition(events, isDown('ActiveCheckFailed'));
  assert.match(down.reason, /2 health checks failed: probe-error: boom/);
  await eventually(() => calls >= 4, { what: 'the loop to go on' });
});

test('stop() aborts the probe in flight and no check runs after it', { timeout: 10_000 }, async () => {
  let calls = 0;
  let aborted = false;
  const { checker } = checkerWith(
    (_endpoint, _timeout, signal) =>
      new Promise((resolve) => {
        calls++;
        signal.addEventListener('abort', () => {
          aborted = true;
          resolve({ ok: false, reason: 'aborted' });
        });
      }),
    {},
  );
  await eventually(() => calls === 1, { what: 'a check in flight' });
  checker.stop();
  assert.equal(aborted, true);
  assert.equal(checker.size, 0);
  await delay(100); // five intervals: a leaked loop would have probed again
  assert.equal(calls, 1);
});

test('jitter spreads each wait within interval ± jitter%', () => {
  const { checker } = checkerWith(async () => ({ ok: true }), { jitterPercent: 10 });
  checker.stop();
  const waits = Array.from({ length: 200 }, () => checker.jittered(1000));
  assert.ok(waits.every((w) => w >= 900 && w <= 1100));
  assert.ok(new Set(waits.map(Math.round)).size > 10, 'waits differ');
});

test('a probe the proxy cannot open for lack of file descriptors is no verdict on the endpoint', {
  timeout: 10_000,
}, async (t) => {
  let probes = 0;
  const { checker, cluster } = checkerWith(async () => {
    probes++;
    return { ok: false, reason: socketFailure(Object.assign(new Error('EMFILE'), { code: 'EMFILE' })) };
  }, {});
  t.after(() => checker.stop());
  await eventually(() => probes >= 5, { what: 'five probes' });
  assert.equal(cluster.endpoints[0]!.state.flags, 0, 'still available');
});
