import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Probe } from '../../src/health/probes.js';
import { isDown, startHealthHarness } from '../helpers/health.js';
import { eventually } from '../helpers/wait.js';

const FAILED = 'ActiveCheckFailed';

test('a slow probe is never overlapped by the next check of the same endpoint', {
  timeout: 10_000,
}, async (t) => {
  let running = 0;
  let maxRunning = 0;
  let done = 0;
  // Each probe takes three intervals; a timer-driven checker would start three at once.
  const slowProbe: Probe = async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await delay(60);
    running--;
    done++;
    return { ok: true };
  };
  const h = startHealthHarness([1], {
    healthCheck: { interval: '20ms', timeout: '20ms', unhealthyThreshold: 1, healthyThreshold: 1, jitter: 0 },
  });
  t.after(() => h.stop());
  // Swap in the fake probe before the first check runs (it is scheduled, not started).
  (h.health.checker!.settings as { probe: Probe }).probe = slowProbe;
  await eventually(() => done >= 4, { what: 'four slow checks' });
  assert.equal(maxRunning, 1);
});

test('a probe that throws counts as a failed check and does not stop the loop', {
  timeout: 10_000,
}, async (t) => {
  let calls = 0;
  const h = startHealthHarness([1], {
    healthCheck: { interval: '10ms', timeout: '10ms', unhealthyThreshold: 2, healthyThreshold: 1, jitter: 0 },
  });
  t.after(() => h.stop());
  (h.health.checker!.settings as { probe: Probe }).probe = async () => {
    calls++;
    throw new Error('boom');
  };
  const down = await h.next(1, isDown(FAILED));
  assert.match(down.reason, /2 health checks failed: probe-error: boom/);
  await eventually(() => calls >= 4, { what: 'the loop to go on' });
});

test('jitter spreads each wait within interval ± jitter%', () => {
  const h = startHealthHarness([], {
    healthCheck: { interval: '1s', timeout: '1s', unhealthyThreshold: 1, healthyThreshold: 1, jitter: 10 },
  });
  h.stop();
  const checker = h.health.checker!;
  const waits = Array.from({ length: 200 }, () => checker.jittered(1000));
  assert.ok(waits.every((w) => w >= 900 && w <= 1100));
  assert.ok(new Set(waits.map(Math.round)).size > 10, 'waits differ');
});
