import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Unavailable } from '../../src/core/endpoint.js';
import { isDown, isUp, startHealthHarness } from '../helpers/health.js';
import { startHealthUpstream } from '../helpers/health-upstream.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';
import { eventually } from '../helpers/wait.js';

const FAILED = 'ActiveCheckFailed';
// Short intervals keep the tests quick; a long timeout keeps a loaded machine from failing
// checks spuriously. Deadlines are generous multiples of interval × threshold + timeout.
const check = { interval: '100ms', timeout: '1s', unhealthyThreshold: 2, healthyThreshold: 2, jitter: 10 };
const DOWN_DEADLINE_MS = 10 * (100 * 2 + 1000);

test('TCP check: a killed upstream is marked down, gets no picks, and comes back on the same port', {
  timeout: 20_000,
}, async (t) => {
  const servers: TestServer[] = [];
  for (const name of ['a', 'b', 'c']) servers.push(await startNamedServer(name));
  t.after(() => Promise.all(servers.map((s) => s.close())));
  const h = startHealthHarness(
    servers.map((s) => s.port),
    { healthCheck: { ...check, tcp: {} } },
  );
  t.after(() => h.stop());
  const victim = servers[1]!;
  const endpoint = h.endpoint(victim.port);

  // Before the first check (and while the port answers) the endpoint counts as available.
  assert.equal(endpoint.state.flags, 0);
  await eventually(() => victim.accepted >= 2, { what: 'two TCP checks of the victim' });
  assert.equal(endpoint.state.flags, 0);

  const down = h.next(victim.port, isDown(FAILED), DOWN_DEADLINE_MS);
  await victim.close();
  const marked = await down;
  assert.match(marked.reason, /2 health checks failed: connect-refused/);
  assert.deepEqual(marked.to, [FAILED]);
  for (let i = 0; i < 30; i++)
    assert.notEqual(h.cluster.pick({}), endpoint, 'a down endpoint must not be picked');

  const up = h.next(victim.port, isUp(FAILED), DOWN_DEADLINE_MS);
  servers[1] = await startNamedServer('b', victim.port);
  const back = await up;
  assert.match(back.reason, /2 health checks passed/);
  assert.equal(endpoint.state.flags, 0);
  const picked = new Set(Array.from({ length: 6 }, () => h.cluster.pick({})?.port));
  assert.ok(picked.has(victim.port), 'the endpoint is picked again once healthy');

  // Exactly one log line per change, naming cluster, endpoint, old → new and the reason.
  const healthLines = h.lines.filter((l) => l.event === 'health');
  assert.equal(healthLines.length, 2);
  assert.equal(healthLines[0]!.msg, `api 127.0.0.1:${victim.port}: available → ${FAILED} (${marked.reason})`);
  assert.equal(healthLines[1]!.msg, `api 127.0.0.1:${victim.port}: ${FAILED} → available (${back.reason})`);
});

test('HTTP check: 500 on /healthz marks an endpoint down although its port is open', {
  timeout: 20_000,
}, async (t) => {
  const a = await startHealthUpstream('a');
  const b = await startHealthUpstream('b');
  t.after(() => Promise.all([a.kill(), b.kill()]));
  const h = startHealthHarness([a.port, b.port], {
    healthCheck: { ...check, http: { path: '/healthz', expectedStatus: ['200-399'], host: 'api.local' } },
  });
  t.after(() => h.stop());

  const down = h.next(b.port, isDown(FAILED), DOWN_DEADLINE_MS);
  b.healthStatus = 500;
  assert.match((await down).reason, /health checks failed: http-500/);
  assert.equal(h.endpoint(a.port).state.flags, 0, 'the healthy neighbour stays up');

  const up = h.next(b.port, isUp(FAILED), DOWN_DEADLINE_MS);
  b.healthStatus = 302;
  await up;
  assert.ok(b.healthChecks >= 4);
  assert.equal(b.requests, 0, 'health checks only ask for the configured path');
});

test('HTTP check: a killed upstream is marked down and marked up after a restart on the same port', {
  timeout: 20_000,
}, async (t) => {
  let b = await startHealthUpstream('b');
  t.after(() => b.kill());
  const h = startHealthHarness([b.port], {
    healthCheck: { ...check, http: { path: '/healthz', expectedStatus: [200] } },
  });
  t.after(() => h.stop());
  await eventually(() => b.healthChecks >= 1, { what: 'a first HTTP check' });

  const down = h.next(b.port, isDown(FAILED), DOWN_DEADLINE_MS);
  await b.kill();
  assert.match((await down).reason, /connect-refused/);

  const up = h.next(b.port, isUp(FAILED), DOWN_DEADLINE_MS);
  b = await startHealthUpstream('b', b.port);
  await up;
});

test('the first success after start marks an endpoint up at once; later recoveries need healthyThreshold', {
  timeout: 20_000,
}, async (t) => {
  const a = await startHealthUpstream('a');
  t.after(() => a.kill());
  // A previous generation left the endpoint marked down.
  const h2 = startHealthHarness(
    [a.port],
    { healthCheck: { ...check, healthyThreshold: 5, http: { path: '/healthz', expectedStatus: [200] } } },
    (cluster) => cluster.endpoints[0]!.state.setFlag(Unavailable.ActiveCheckFailed, true),
  );
  t.after(() => h2.stop());
  const up = await h2.next(a.port, isUp(FAILED));
  assert.equal(up.reason, 'first health check passed');
  assert.ok(a.healthChecks < 5);

  const down = h2.next(a.port, isDown(FAILED), DOWN_DEADLINE_MS);
  a.healthStatus = 503;
  await down;
  const before = a.healthChecks;
  const upAgain = h2.next(a.port, isUp(FAILED), DOWN_DEADLINE_MS * 2);
  a.healthStatus = 200;
  assert.equal((await upAgain).reason, '5 health checks passed');
  assert.ok(a.healthChecks - before >= 5);
});

test('checks stop when an endpoint leaves the cluster and when health stops', {
  timeout: 20_000,
}, async (t) => {
  const a = await startHealthUpstream('a');
  const b = await startHealthUpstream('b');
  t.after(() => Promise.all([a.kill(), b.kill()]));
  const h = startHealthHarness([a.port, b.port], {
    healthCheck: { ...check, http: { path: '/healthz', expectedStatus: [200] } },
  });
  t.after(() => h.stop());
  await eventually(() => a.healthChecks >= 2 && b.healthChecks >= 2, { what: 'checks of both endpoints' });
  assert.equal(h.health.checker?.size, 2);

  h.cluster.setEndpoints([{ host: '127.0.0.1', port: a.port, weight: 1, locality: {} }]);
  h.health.refresh();
  assert.equal(h.health.checker?.size, 1);
  const bChecks = b.healthChecks;
  await eventually(() => a.healthChecks >= bChecks + 3, { what: 'more checks of the remaining endpoint' });
  assert.ok(b.healthChecks <= bChecks + 1, 'at most the check already in flight reaches a removed endpoint');

  h.stop();
  assert.equal(h.health.checker?.size, 0);
  const aChecks = a.healthChecks;
  const probe = await startHealthUpstream('probe');
  t.after(() => probe.kill());
  const h2 = startHealthHarness([probe.port], {
    healthCheck: { ...check, http: { path: '/healthz', expectedStatus: [200] } },
  });
  t.after(() => h2.stop());
  // Use another checker's progress as the clock: after it ran three checks, the stopped one ran none.
  await eventually(() => probe.healthChecks >= 3, { what: 'a running checker to make progress' });
  assert.ok(a.healthChecks <= aChecks + 1);
});
