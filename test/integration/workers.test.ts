/**
 * `workers: 2` in one process, as `portside run` composes it: the main thread discovers and
 * checks health, two worker threads serve the listeners on one port (reusePort). Needs
 * Node 22.12+; on older Node every test here is skipped (workers-cli.test.ts checks the refusal).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import type { Portside } from '../../src/cli/run.js';
import { reusePortMissing } from '../../src/workers/support.js';
import { startHealthUpstream } from '../helpers/health-upstream.js';
import { startHttpUpstream, upstreamFor } from '../helpers/http.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { startReloadingProxy } from '../helpers/reloading-proxy.js';
import { eventually } from '../helpers/wait.js';

const skip = reusePortMissing();
const opts = { timeout: 60_000, ...(skip ? { skip } : {}) };

function workersOf(portside: Portside) {
  const workers = portside.workers;
  if (!workers) throw new Error('the config runs no worker threads');
  return workers;
}

function portOf(portside: Portside, listener: string): number {
  const address = workersOf(portside).pool.boundAddresses()[listener];
  return Number(address?.split(':').pop());
}

/** Which workers logged an access line (each request on its own connection). */
function accessWorkers(lines: Record<string, unknown>[]): Set<unknown> {
  return new Set(lines.filter((l) => l.msg === 'http request').map((l) => l.worker));
}

const web = (clusters: string, route = '{ match: { pathPrefix: / }, cluster: up }') => `workers: 2
admin: { address: "127.0.0.1:0" }
listeners:
  - { name: web, address: "127.0.0.1:0", protocol: http, routes: [${route}] }
clusters:
${clusters}`;

test('requests through two workers are summed in /metrics', opts, async (t) => {
  const up = await startHttpUpstream('up');
  t.after(() => up.close());
  const p = await startReloadingProxy(t, web(`  - { name: up, endpoints: ["127.0.0.1:${up.port}"] }`));
  const port = portOf(p.portside, 'web');
  const sent = 40;
  for (let i = 0; i < sent; i++) assert.equal(await upstreamFor(port, 'example.com', `/${i}`), 'up');
  // The kernel spreads new connections over both workers' sockets.
  await eventually(() => accessWorkers(p.lines).size === 2, { what: 'access lines from both workers' });

  const metrics = parsePrometheusText(await (await fetch(p.adminUrl('/metrics'))).text());
  const route = { listener: 'web', route: '#0 pathPrefix=/', cluster: 'up' };
  assert.equal(sampleValue(metrics, 'portside_route_requests_total', route), sent);
  assert.equal(
    sampleValue(metrics, 'portside_http_requests_total', { listener: 'web', code: '200', method: 'GET' }),
    sent,
  );
  assert.equal(
    sampleValue(metrics, 'portside_endpoint_requests_total', {
      cluster: 'up',
      endpoint: `127.0.0.1:${up.port}`,
    }),
    sent,
  );
  assert.equal(
    sampleValue(metrics, 'portside_http_request_duration_seconds_count', { listener: 'web' }),
    sent,
  );
  assert.equal(sampleValue(metrics, 'portside_workers', {}), 2);
  // Every access line arrived whole (lines of two threads never mix), with its worker.
  const access = await eventually(() => {
    const lines = p.lines.filter((l) => l.msg === 'http request');
    return lines.length === sent ? lines : undefined;
  });
  for (const line of access) assert.ok(line.status === 200 && (line.worker === 0 || line.worker === 1));
});

test("the main thread's health checks steer every worker; workers do not check", opts, async (t) => {
  const a = await startHealthUpstream('a');
  const b = await startHealthUpstream('b');
  t.after(async () => {
    await a.kill();
    await b.kill();
  });
  const check =
    'healthCheck: { interval: 100ms, timeout: 1s, unhealthyThreshold: 1, http: { path: /healthz } }';
  const p = await startReloadingProxy(
    t,
    web(`  - { name: up, endpoints: ["127.0.0.1:${a.port}", "127.0.0.1:${b.port}"], ${check} }`),
  );
  const port = portOf(p.portside, 'web');
  a.healthStatus = 500;
  await eventually(
    () =>
      p.lines.some(
        (l) => l.event === 'health' && l.worker === undefined && l.endpoint === `127.0.0.1:${a.port}`,
      ),
    {
      what: 'the main thread marking a down',
    },
  );
  // Both workers apply the verdict as readiness (coalesced, posted at the next turn): once
  // every worker answered a stats request posted after it, it was applied. Only b answers.
  await new Promise((resolve) => setImmediate(resolve));
  await workersOf(p.portside).pool.refresh(30_000);
  for (let i = 0; i < 10; i++) assert.equal(await upstreamFor(port, 'example.com'), '200');
  assert.equal(a.requests, 0);
  assert.equal(b.requests, 10);
  // The main thread's line says why; workers log the relayed verdict at debug only.
  assert.deepEqual(
    p.lines.filter((l) => l.event === 'health' && l.worker !== undefined),
    [],
  );
});

test('a worker that dies is logged and restarted; traffic keeps flowing', opts, async (t) => {
  const up = await startHttpUpstream('up');
  t.after(() => up.close());
  const p = await startReloadingProxy(t, web(`  - { name: up, endpoints: ["127.0.0.1:${up.port}"] }`));
  const workers = workersOf(p.portside);
  const port = portOf(p.portside, 'web');
  let sent = 0;
  const get = async () => {
    sent++;
    assert.equal(await upstreamFor(port, 'example.com'), 'up');
  };
  for (let i = 0; i < 10; i++) await get();
  await workers.pool.refresh();

  await workers.pool.threads()[0]!.terminate();
  const died = await eventually(() => p.lines.find((l) => l.worker === 0 && /died/.test(String(l.msg))));
  assert.match(String(died.msg), /^worker 0 died \(exit code 1\); restarting it$/);
  // Worker 1 holds the port alone meanwhile; then worker 0 joins it again.
  for (let i = 0; i < 10; i++) await get();
  await eventually(
    () => workers.pool.workers()[0]?.alive && p.lines.some((l) => l.msg === 'worker 0 restarted'),
    {
      what: 'worker 0 back',
    },
  );
  await eventually(
    async () => {
      await get();
      return accessWorkers(p.lines.slice(p.lines.indexOf(died))).has(0);
    },
    { what: 'the restarted worker serving' },
  );

  const metrics = parsePrometheusText(await (await fetch(p.adminUrl('/metrics'))).text());
  // The dead worker's requests still count: totals never go down.
  assert.equal(
    sampleValue(metrics, 'portside_route_requests_total', {
      listener: 'web',
      route: '#0 pathPrefix=/',
      cluster: 'up',
    }),
    sent,
  );
  assert.equal(sampleValue(metrics, 'portside_worker_restarts_total', { worker: '0' }), 1);
  assert.equal(sampleValue(metrics, 'portside_workers', {}), 2);
});

test('a reload reaches every worker; one a worker refuses leaves all on the old config', opts, async (t) => {
  const one = await startHttpUpstream('one');
  const two = await startHttpUpstream('two');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    await one.close();
    await two.close();
    await new Promise((resolve) => taken.close(resolve));
  });
  const clusters = `  - { name: one, endpoints: ["127.0.0.1:${one.port}"] }
  - { name: two, endpoints: ["127.0.0.1:${two.port}"] }`;
  const p = await startReloadingProxy(t, web(clusters, '{ match: { pathPrefix: / }, cluster: one }'));
  const port = portOf(p.portside, 'web');
  assert.equal(await upstreamFor(port, 'example.com'), 'one');

  const next = web(clusters, '{ match: { pathPrefix: / }, cluster: two }');
  const applied = await p.edit(next);
  assert.equal(applied.ok, true);
  assert.equal(applied.version, 2);
  // Every connection, on whichever worker, now goes to two.
  const before = p.lines.length;
  for (let i = 0; i < 20; i++) assert.equal(await upstreamFor(port, 'example.com'), 'two');
  await eventually(() => accessWorkers(p.lines.slice(before)).size === 2, {
    what: 'access lines of the new config from both workers',
  });

  const takenPort = (taken.address() as { port: number }).port;
  const refused = await p.edit(
    `${next.replace('listeners:', `listeners:\n  - { name: tcp, address: "127.0.0.1:${takenPort}", cluster: one }`)}`,
  );
  assert.equal(refused.ok, false);
  assert.match(refused.errors?.join('\n') ?? '', /EADDRINUSE/);
  assert.equal(refused.version, 2);
  assert.equal(p.portside.proxy.current?.config.listeners.length, 1, 'the main thread went back too');
  for (let i = 0; i < 10; i++) assert.equal(await upstreamFor(port, 'example.com'), 'two');
});

test('hash affinity picks the same endpoint in every worker', opts, async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((name) => startHttpUpstream(name)));
  t.after(async () => {
    for (const up of ups) await up.close();
  });
  const endpoints = ups.map((u) => `"127.0.0.1:${u.port}"`).join(', ');
  const p = await startReloadingProxy(
    t,
    web(
      `  - { name: up, endpoints: [${endpoints}], balancing: { policy: source_hash, key: "header:x-user" } }`,
    ),
  );
  const port = portOf(p.portside, 'web');
  const ask = () =>
    fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-user': 'ada', connection: 'close' } }).then((r) =>
      r.headers.get('x-upstream'),
    );
  const answers = new Set<string | null>();
  for (let i = 0; i < 20; i++) answers.add(await ask());
  await eventually(() => accessWorkers(p.lines).size === 2, { what: 'requests reaching both workers' });
  assert.equal(answers.size, 1, `one endpoint for one key, got ${[...answers].join(', ')}`);
});

test('admin POST /drain drains every worker', opts, async (t) => {
  const up = await startHttpUpstream('up');
  t.after(() => up.close());
  const p = await startReloadingProxy(t, web(`  - { name: up, endpoints: ["127.0.0.1:${up.port}"] }`));
  const workers = workersOf(p.portside);
  const port = portOf(p.portside, 'web');
  assert.equal(await upstreamFor(port, 'example.com'), 'up');
  const drained = await fetch(p.adminUrl('/drain'), { method: 'POST' });
  assert.equal(drained.status, 200);
  assert.deepEqual(
    workers.pool.workers().map((w) => w.alive),
    [false, false],
  );
  await assert.rejects(upstreamFor(port, 'example.com'), /ECONNREFUSED/);
  assert.equal(p.lines.filter((l) => l.msg === 'drained' && l.worker !== undefined).length, 2);
});

test('upstream latency, failures and ejections of both workers add up in /metrics', opts, async (t) => {
  const up = await startHttpUpstream('up');
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  t.after(() => up.close());
  const dead = `127.0.0.1:${deadPort}`;
  const p = await startReloadingProxy(
    t,
    web(
      `  - { name: up, endpoints: ["127.0.0.1:${up.port}", "${dead}"], outlierDetection: { consecutiveFailures: 1, baseEjectionTime: 5m } }`,
    ),
  );
  const port = portOf(p.portside, 'web');
  const scrape = async () => parsePrometheusText(await (await fetch(p.adminUrl('/metrics'))).text());
  const total = (
    metrics: Awaited<ReturnType<typeof scrape>>,
    name: string,
    labels: Record<string, string>,
  ) => {
    let sum = 0;
    for (const f of metrics.values())
      for (const s of f.samples)
        if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    return sum;
  };
  let answered = 0;
  const send = async () => {
    if ((await upstreamFor(port, 'example.com')) === 'up') answered++;
  };
  // Each worker ejects the dead endpoint after the first failure it sees itself.
  await eventually(
    async () => {
      await send();
      return (
        total(await scrape(), 'portside_outlier_ejections_total', { cluster: 'up', endpoint: dead }) === 2
      );
    },
    { timeoutMs: 15_000, what: 'both workers ejecting the dead endpoint' },
  );
  for (let i = 0; i < 20; i++) await send();

  const metrics = await scrape();
  const failures = total(metrics, 'portside_upstream_failures_total', { cluster: 'up' });
  assert.ok(failures >= 2, `failures ${failures}: at least one per worker`);
  assert.equal(
    failures,
    sampleValue(metrics, 'portside_endpoint_failures_total', { cluster: 'up', endpoint: dead }),
    'every failed attempt, by reason',
  );
  assert.equal(
    total(metrics, 'portside_upstream_failures_total', { cluster: 'up', reason: 'connect-refused' }),
    failures,
  );
  // One latency sample per answered attempt, whichever worker served it.
  const good = `127.0.0.1:${up.port}`;
  assert.equal(
    sampleValue(metrics, 'portside_upstream_latency_seconds_count', { cluster: 'up', phase: 'response' }),
    answered,
  );
  assert.equal(
    sampleValue(metrics, 'portside_endpoint_requests_total', { cluster: 'up', endpoint: good }),
    answered,
  );
  assert.equal(
    sampleValue(metrics, 'portside_upstream_latency_seconds_bucket', {
      cluster: 'up',
      phase: 'response',
      le: '+Inf',
    }),
    answered,
  );

  // /clusters: ejected by both workers, while the main thread's own flags stay its own.
  const view = await eventually(async () => {
    const body = (await (await fetch(p.adminUrl('/clusters'))).json()) as {
      clusters: {
        name: string;
        endpoints: { address: string; flags: string[]; ejectedByWorkers?: number[] }[];
      }[];
    };
    const endpoint = body.clusters.find((c) => c.name === 'up')?.endpoints.find((e) => e.address === dead);
    return endpoint?.ejectedByWorkers?.length === 2 ? endpoint : undefined;
  });
  assert.deepEqual(view.ejectedByWorkers, [0, 1]);
  assert.ok(!view.flags.includes('OutlierEjected'), 'the main thread did not eject it itself');
});
