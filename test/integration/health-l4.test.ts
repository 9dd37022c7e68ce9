import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
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
    '    healthCheck: { interval: 100ms, timeout: 50ms, unhealthyThreshold: 2, healthyThreshold: 2, tcp: {} }';
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

  const down = nextTransition(p.proxy.events, both(of(b.port), isDown('ActiveCheckFailed')), 2500);
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

  const up = nextTransition(p.proxy.events, both(of(b.port), isUp('ActiveCheckFailed')), 5000);
  servers[1] = await startNamedServer('B', b.port);
  await up;
  assert.ok((await answers(port, 6)).includes('B'), 'B receives traffic again');
});

test('L4: resets reach outlier detection; the ejection outlives a reload and ends on time', {
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
    '    outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 1s, maxEjectionTime: 10s, maxEjectionPercent: 50 }';
  const yaml = config(
    servers.map((s) => s.port),
    outlier,
  );
  const p = await startProxy(yaml);
  t.after(() => p.stop());
  const port = p.port('l4');

  const ejected = nextTransition(p.proxy.events, both(of(bad.port), isDown('OutlierEjected')), 10_000);
  // Round robin: every third connection reaches the resetting upstream (the proxy may fail
  // over to the next endpoint when the reset comes before the connect completes).
  await answers(port, 9);
  const ejection = await ejected;
  assert.equal(bad.accepted, 3);
  assert.match(
    ejection.reason,
    /^3 consecutive failures, last (reset|connect-econnreset); ejection 1 for 1s$/i,
  );

  const accepted = bad.accepted;
  assert.deepEqual(new Set(await answers(port, 10)), new Set(['A', 'B']));
  assert.equal(bad.accepted, accepted, 'no new connection reached the ejected upstream');

  // A reload (same config, new generation) keeps the ejection and ends it on schedule.
  const previous = p.proxy.current!;
  const returned = nextTransition(p.proxy.events, both(of(bad.port), isUp('OutlierEjected')), 10_000);
  const next = await p.proxy.apply(loadConfigText(yaml).config!);
  assert.notEqual(next, previous);
  assert.equal(previous.clusters.get('up')!.observers.length, 0, 'the retired generation stopped observing');
  assert.ok(next.clusters.get('up')!.endpoints[2]!.state.flags !== 0, 'still ejected in the new generation');
  const back = await returned;
  assert.ok(back.at - ejection.at >= 1000);
  await answers(port, 3);
  assert.ok(bad.accepted > accepted, 'the returned upstream receives connections again');
});

test('L4: a generation swap stops the old checkers and starts new ones', { timeout: 30_000 }, async (t) => {
  const a = await startNamedServer('A');
  t.after(() => a.close());
  const yaml = config([a.port], '    healthCheck: { interval: 100ms, timeout: 50ms, tcp: {} }');
  const p = await startProxy(yaml);
  t.after(() => p.stop());
  const first = p.proxy.current!;
  assert.equal(first.clusterHealth('up')?.checker?.size, 1);
  await p.proxy.apply(loadConfigText(yaml.replace('tcp: {}', 'tcp: {}, jitter: 0%')).config!);
  assert.equal(first.clusterHealth('up')?.checker?.size, 0);
  assert.equal(p.proxy.current!.clusterHealth('up')?.checker?.size, 1);
});
