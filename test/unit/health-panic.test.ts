import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_UNAVAILABLE_REASONS, Unavailable } from '../../src/core/endpoint.js';
import type { PanicTransition } from '../../src/core/events.js';
import { startHealthHarness } from '../helpers/health.js';

test('panic mode engages below panicThreshold and releases at it', (t) => {
  const h = startHealthHarness([1, 2, 3, 4], { panicThreshold: 50 });
  t.after(() => h.stop());
  const panics: PanicTransition[] = [];
  h.events.on('panic', (p) => panics.push(p));
  const [a, b, c] = h.cluster.endpoints;
  const down = (e: typeof a, on: boolean) => {
    e!.state.setFlag(Unavailable.DiscoveryNotReady, on);
    h.health.refresh();
  };

  down(a, true); // 3 of 4 = 75%
  assert.equal(h.health.panic.active, false);
  down(b, true); // 2 of 4 = 50%: at the threshold is not below it
  assert.equal(h.health.panic.active, false);
  assert.equal(h.cluster.excludeFlags, ALL_UNAVAILABLE_REASONS);
  const picks = new Set(Array.from({ length: 8 }, () => h.cluster.pick({})?.port));
  assert.deepEqual([...picks].sort(), [3, 4]);

  down(c, true); // 1 of 4 = 25%: panic, every endpoint takes traffic
  assert.equal(h.health.panic.active, true);
  assert.equal(h.cluster.excludeFlags, Unavailable.Draining);
  const panicPicks = new Set(Array.from({ length: 8 }, () => h.cluster.pick({})?.port));
  assert.deepEqual([...panicPicks].sort(), [1, 2, 3, 4]);
  assert.deepEqual(
    panics.map((p) => [p.panic, p.available, p.total]),
    [[true, 1, 4]],
  );
  assert.match(String(h.lines.at(-1)?.msg), /api: panic mode on \(1 of 4 endpoints available, below 50%\)/);

  down(c, false); // back to 50%: released
  assert.equal(h.health.panic.active, false);
  assert.equal(h.cluster.excludeFlags, ALL_UNAVAILABLE_REASONS);
  assert.deepEqual(
    panics.map((p) => [p.panic, p.available, p.total]),
    [
      [true, 1, 4],
      [false, 2, 4],
    ],
  );
});

test('in panic, draining endpoints are still used only when nothing else is', (t) => {
  const h = startHealthHarness([1, 2, 3], { panicThreshold: 100 });
  t.after(() => h.stop());
  const [a, b, c] = h.cluster.endpoints;
  a!.state.setFlag(Unavailable.DiscoveryNotReady, true);
  b!.state.setFlag(Unavailable.Draining, true);
  h.health.refresh();
  assert.equal(h.health.panic.active, true);
  const picks = new Set(Array.from({ length: 6 }, () => h.cluster.pick({})?.port));
  assert.deepEqual([...picks].sort(), [1, 3]);
  a!.state.setFlag(Unavailable.DiscoveryNotReady, false);
  c!.state.setFlag(Unavailable.DiscoveryNotReady, true);
  a!.state.setFlag(Unavailable.Draining, true);
  c!.state.setFlag(Unavailable.Draining, true);
  assert.ok(h.cluster.pick({}), 'all draining: one is still picked');
});

test('panicThreshold 0 never panics', (t) => {
  const off = startHealthHarness([1, 2], { panicThreshold: 0 });
  t.after(() => off.stop());
  for (const e of off.cluster.endpoints) e.state.setFlag(Unavailable.DiscoveryNotReady, true);
  off.health.refresh();
  assert.equal(off.health.panic.active, false);
  assert.equal(off.cluster.pick({}), undefined);
});
