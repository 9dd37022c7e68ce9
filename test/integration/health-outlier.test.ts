import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster } from '../../src/core/cluster.js';
import { Unavailable } from '../../src/core/endpoint.js';
import { connectVia, isDown, isUp, startHealthHarness, startResettingServer } from '../helpers/health.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';

const EJECTED = 'OutlierEjected';

/** Counts outcomes per endpoint as the cluster's observers see them. */
function countOutcomes(cluster: Cluster) {
  const failures = new Map<number, number>();
  const successes = new Map<number, number>();
  cluster.observers.push({
    success: (e) => successes.set(e.port, (successes.get(e.port) ?? 0) + 1),
    failure: (e) => failures.set(e.port, (failures.get(e.port) ?? 0) + 1),
  });
  return { failures, successes };
}

test('an upstream that resets is ejected after consecutiveFailures, returns, and is ejected twice as long next time', {
  timeout: 30_000,
}, async (t) => {
  const servers: TestServer[] = [
    await startNamedServer('a'),
    await startNamedServer('b'),
    await startResettingServer(),
  ];
  t.after(() => Promise.all(servers.map((s) => s.close())));
  const bad = servers[2]!.port;
  const h = startHealthHarness(
    servers.map((s) => s.port),
    {
      outlierDetection: {
        consecutiveFailures: 3,
        baseEjectionTime: '300ms',
        maxEjectionTime: '10s',
        maxEjectionPercent: 50,
      },
    },
  );
  t.after(() => h.stop());
  const outcomes = countOutcomes(h.cluster);

  // Failures of the resetting upstream when it last returned (a connection made as its
  // ejection ended may already count towards the next one).
  let failuresAtReturn = 0;
  h.events.on('health', (t) => {
    if (isUp(EJECTED)(t)) failuresAtReturn = outcomes.failures.get(bad) ?? 0;
  });

  for (const round of [1, 2]) {
    const ejectedEvent = h.next(bad, isDown(EJECTED), 10_000);
    let ejected = false;
    void ejectedEvent.then(() => (ejected = true));
    for (let i = 0; i < 100 && !ejected; i++) {
      await connectVia(h.cluster);
      await Promise.resolve();
    }
    const ejection = await ejectedEvent;
    const returnedEvent = h.next(bad, isUp(EJECTED), 10_000);
    returnedEvent.catch(() => {}); // awaited below, unless an assertion fails first
    assert.equal(
      (outcomes.failures.get(bad) ?? 0) - failuresAtReturn,
      3,
      'ejected on exactly the third failure in a row',
    );
    const lengthMs = 300 * round;
    assert.match(ejection.reason, new RegExp(`ejection ${round} for ${lengthMs}ms`));

    // While ejected it gets no new connections. (On a loaded machine the ejection may end
    // during this loop; only connections made while it lasts count.)
    let whileEjected = 0;
    for (let i = 0; i < 9; i++) {
      const stillEjected = (h.endpoint(bad).state.flags & Unavailable.OutlierEjected) !== 0;
      const reached = await connectVia(h.cluster);
      if (!stillEjected) break;
      whileEjected++;
      assert.notEqual(reached?.port, bad);
    }
    assert.ok(whileEjected >= 1);

    const returned = await returnedEvent;
    assert.ok(
      returned.at - ejection.at >= lengthMs,
      `back after ${returned.at - ejection.at}ms, not before ${lengthMs}ms`,
    );
    assert.equal(h.endpoint(bad).state.flags, 0);
  }
});

test('maxEjectionPercent: no more than that share of the cluster is ever ejected', {
  timeout: 30_000,
}, async (t) => {
  const servers: TestServer[] = [];
  for (let i = 0; i < 4; i++) servers.push(await startResettingServer());
  t.after(() => Promise.all(servers.map((s) => s.close())));
  const h = startHealthHarness(
    servers.map((s) => s.port),
    {
      outlierDetection: {
        consecutiveFailures: 2,
        baseEjectionTime: '20s',
        maxEjectionTime: '1m',
        maxEjectionPercent: 50,
      },
    },
  );
  t.after(() => h.stop());
  const outcomes = countOutcomes(h.cluster);

  for (let i = 0; i < 40; i++) await connectVia(h.cluster);
  const ejected = h.cluster.endpoints.filter((e) => e.state.flags & Unavailable.OutlierEjected);
  assert.equal(ejected.length, 2, 'half of four endpoints');
  assert.equal(h.transitions.length, 2);
  // The other two kept failing well past the threshold and stayed in.
  for (const e of h.cluster.endpoints) {
    if (!ejected.includes(e)) assert.ok((outcomes.failures.get(e.port) ?? 0) > 4);
  }
});
