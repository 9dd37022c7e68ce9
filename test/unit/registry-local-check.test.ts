import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProbeResult } from '../../src/health/probes.js';
import { LocalCheck } from '../../src/registry/local-check.js';
import { eventually } from '../helpers/wait.js';

/** A check whose probe answers from a script, one result per probe, then keeps the last. */
function scripted(results: boolean[], thresholds: { unhealthyThreshold: number; healthyThreshold: number }) {
  const changes: boolean[] = [];
  /** How many probes had run at each change. */
  const changedAfter: number[] = [];
  let probes = 0;
  const check = new LocalCheck(
    { id: 'app', host: '127.0.0.1', port: 1 },
    { interval: '1ms', timeout: '1s', jitter: 0, ...thresholds },
    (healthy) => {
      changes.push(healthy);
      changedAfter.push(probes);
    },
    async (): Promise<ProbeResult> => {
      const ok = results[Math.min(probes++, results.length - 1)]!;
      return ok ? { ok } : { ok, reason: 'scripted' };
    },
  );
  return { check, changes, changedAfter, probes: () => probes };
}

test('the first result decides; then each threshold counts results in a row', async () => {
  const run = scripted([true, false, true, false, false, true, true, true], {
    unhealthyThreshold: 2,
    healthyThreshold: 3,
  });
  run.check.start();
  try {
    await eventually(() => run.probes() >= 10, { what: 'ten probes' });
  } finally {
    run.check.stop();
  }
  // true at once; one failure is not enough; two in a row are; three passes bring it back.
  assert.deepEqual(run.changes, [true, false, true]);
  assert.deepEqual(run.changedAfter, [1, 5, 8]);
});

test('a threshold of one changes state on the first differing result', async () => {
  const run = scripted([true, false], { unhealthyThreshold: 1, healthyThreshold: 1 });
  run.check.start();
  try {
    await eventually(() => run.changes.length === 2, { what: 'two changes' });
  } finally {
    run.check.stop();
  }
  assert.deepEqual(run.changes, [true, false]);
  assert.deepEqual(run.changedAfter, [1, 2], 'each change came from the probe that saw it');
});
