import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { Unavailable } from '../../src/core/endpoint.js';
import type { HealthTransition } from '../../src/core/events.js';
import { isDown, isUp, nextTransition, startResettingServer } from '../helpers/health.js';
import { startProxy } from '../helpers/proxy.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';
import { whoAnswers } from '../helpers/tcp.js';

function config(ports: number[], health: string): string {
  return `listeners:
  - name: l4
    address: 127.0.0.1:0
    cluster: up
    connectTimeout: 500ms
clusters:
  - name: up
    endpoints: [${ports.map((p) => `127.0.0.1:${p}`).join(', ')}]
${health}
drainTimeout: 1s
`;
}

const of = (port: number) => (t: HealthTransition) => t.endpoint === `127.0.0.1:${port}`;
const both =
  (a: (t: HealthTransition) => boolean, b: (t: HealthTransition) => boolean) => (t: HealthTransition) =>
    a(t) && b(t);

/** Who answers `n` new connections through the proxy (undefined for a connection that failed). */
async function answers(port: number, n: number): Promise<(string | undefined)[]> {
  const seen: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) seen.push(await whoAnswers(port).catch(() => undefined));
  return seen;
}

test('L4: a killed upstream gets no new connections once marked down, and traffic again after a restart', {
  timeout: 30_000,
}, async (t) => {
  const servers: TestServer[] = [
    await startNamedServer('A'),
    await startNamedServer('B'),
    await startNamedServer('C'),
  ];
  t.after(() => Promise.all(servers.map((s) => s.close())));
  const check =
    '    healthCheck: { interval: 100ms, timeout: 1s, unhealthyThreshold: 2, healthyThreshold: 2, tcp: {} }';
  const p = await startProxy(
    config(
      servers.map((s) => s.port),
      check,
    ),
  );
  t.after(() => p.stop());
  const port = p.port('l4');
  const b = servers[1]!;
  assert.deepEqual(new Set(await answers(port, 6)), new Set(['A', 'B', 'C']));

  const down = nextTransition(p.proxy.events, both(of(b.port), isDown('ActiveCheckFailed')), 12_000);
  await b.close();
  await down;
  const endpoint = p.proxy.current!.clusters.get('up')!.endpoints[1]!;
  const failuresBefore = endpoint.state.failuresTotal;
  const seen = await answers(port, 20);
  assert.ok(
    seen.every((who) => who === 'A' || who === 'C'),
    `every connection reached a live upstream: ${seen}`,
  );
  assert.equal(endpoint.state.failuresTotal, failuresBefore, 'the proxy did not even try the dead upstream');

  const up = nextTransition(p.proxy.events, both(of(b.port), isUp('ActiveCheckFailed')), 12_000);
  servers[1] = await startNamedServer('B', b.port);
  await up;
  assert.ok((await answers(port, 6)).includes('B'), 'B receives traffic again');
});

test('L4: resets reach outlier detection; the ejection outlives a reload, keeps traffic away, and ends on time', {
  timeout: 30_000,
}, async (t) => {
  const servers: TestServer[] = [
    await startNamedServer('A'),
    await startNamedServer('B'),
    await startResettingServer(),
  ];
  t.after(() => Promise.all(servers.map((s) => s.close())));
  const bad = servers[2]!;
  const outlier =
    '    outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 2s, maxEjectionTime: 10s, maxEjectionPercent: 50 }';
  const yaml = config(
    servers.map((s) => s.port),
    outlier,
  );
  const p = await startProxy(yaml);
  t.after(() => p.stop());
  const port = p.port('l4');

  // Round robin sends every second or third connection to the resetting upstream (the proxy
  // fails over to the next endpoint when the reset beats the connect). Exactly-three is
  // asserted without a proxy in health-outlier.test.ts.
  const ejected = nextTransition(p.proxy.events, both(of(bad.port), isDown('OutlierEjected')), 10_000);
  let ejectedYet = false;
  void ejected.then(() => (ejectedYet = true));
  for (let i = 0; i < 60 && !ejectedYet; i++) await answers(port, 1);
  const ejection = await ejected;
  assert.ok(bad.accepted >= 3);
  assert.match(
    ejection.reason,
    /^3 consecutive failures, last (reset|connect-econnreset); ejection 1 for 2s$/i,
  );

  const returned = nextTransition(p.proxy.events, both(of(bad.port), isUp('OutlierEjected')), 10_000);

  // A reload that changes the outlier settings (a new detector takes over) keeps the ejection...
  const previous = p.proxy.current!;
  const next = await p.proxy.apply(loadConfigText(yaml.replace('Percent: 50', 'Percent: 60')).config!);
  assert.notEqual(next, previous);
  const observers = next.clusters.get('up')!.observers;
  assert.ok(
    !observers.includes(previous.clusterHealth('up')!.outliers!),
    'the replaced detector stopped observing',
  );
  assert.ok(observers.includes(next.clusterHealth('up')!.outliers!));
  const state = next.clusters.get('up')!.endpoints[2]!.state;
  assert.ok(state.flags & Unavailable.OutlierEjected, 'still ejected in the new generation');

  // ...so no new connection reaches the upstream while it lasts (on a loaded machine it may
  // end during this loop; only connections made while it lasts count)...
  let whileEjected = 0;
  for (let i = 0; i < 10 && state.flags & Unavailable.OutlierEjected; i++) {
    const attempts = state.connectionsTotal + state.failuresTotal;
    const who = await whoAnswers(port);
    if (!(state.flags & Unavailable.OutlierEjected)) break;
    whileEjected++;
    assert.ok(who === 'A' || who === 'B');
    assert.equal(
      state.connectionsTotal + state.failuresTotal,
      attempts,
      'the proxy did not try the ejected upstream',
    );
  }
  assert.ok(whileEjected >= 1);

  // ...and ends it on schedule; then the upstream receives connections again.
  const back = await returned;
  assert.ok(back.at - ejection.at >= 2000);
  const accepted = bad.accepted;
  for (let i = 0; i < 10 && bad.accepted === accepted; i++) await answers(port, 1);
  assert.ok(bad.accepted > accepted, 'the returned upstream receives connections again');
});

test('L4: a generation swap stops the old checkers and starts new ones', { timeout: 30_000 }, async (t) => {
  const a = await startNamedServer('A');
  t.after(() => a.close());
  const yaml = config([a.port], '    healthCheck: { interval: 100ms, timeout: 1s, tcp: {} }');
  const p = await startProxy(yaml);
  t.after(() => p.stop());
  const first = p.proxy.current!;
  assert.equal(first.clusterHealth('up')?.checker?.size, 1);
  await p.proxy.apply(loadConfigText(yaml.replace('tcp: {}', 'tcp: {}, jitter: 0%')).config!);
  assert.equal(first.clusterHealth('up')?.checker?.size, 0);
  assert.equal(p.proxy.current!.clusterHealth('up')?.checker?.size, 1);
});
