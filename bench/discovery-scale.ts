/**
 * Kubernetes discovery at scale, through the real CLI: N Services × M endpoints in one
 * namespace of the API double (its own process), plus N/5 (or `unused`) Services the config
 * does not name; `portside run` with one cluster per named Service.
 *
 * Prints: start → every cluster has its endpoints (from the spawn, config loading included),
 * API requests and connections at start, RSS above a fresh proxy with an empty config (per
 * endpoint), watch event → endpoint pickable (p50/p99/max, through the proxy's own
 * `endpoints updated` debug line, so the pipe adds a little), idle CPU, and SIGTERM → exit.
 *
 *   npm run build && node --import tsx bench/discovery-scale.ts [services=1000] [perService=10] [changes=200] [watch=auto] [unused=services/5]
 *
 * `watch` = `catalog` (or `catalog-eager`) runs the Service catalog instead (`build:
 * firstRequest` or `serviceAdded`): no cluster listed, the N Services labelled for its
 * selector and the unused ones not, endpoints on 127.x.y.z served by one upstream here.
 * It then prints start → catalog listed (/ready), one request to every Service's Host
 * (which builds the lazy clusters), and RSS both before and after that sweep.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KubeApiDouble } from '../test/helpers/kube-api-double.js';
import {
  CATALOG_LABEL,
  type DoubleCommand,
  type DoubleStats,
  serviceName,
} from './kube-api-double-process.js';

const services = Number(process.argv[2] ?? 1000);
const perService = Number(process.argv[3] ?? 10);
const changes = Number(process.argv[4] ?? 200);
const watch = process.argv[5] ?? 'auto';
/** Services in the namespace that the config does not name (a sidecar's neighbours). */
const unused = Number(process.argv[6] ?? Math.floor(services / 5));
/** `PORTSIDE_CLI=/other/build/dist/src/cli/main.js` measures another build (an A/B). */
const catalog = watch.startsWith('catalog');
const CLI = process.env.PORTSIDE_CLI ?? join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js');

type Line = Record<string, unknown>;

/** `portside run` with its JSON log lines handed to `onLine` as they come. */
function runCli(config: string, onLine: (line: Line) => void): ChildProcess {
  // The launcher's flag (the CLI's #! line), as users run it.
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=2', CLI, 'run', '-c', config, '--log-level', 'debug'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      onLine(JSON.parse(text));
    } catch {
      // not a log line
    }
  });
  return child;
}

function rssMb(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}

/** CPU seconds the process has used (user + system). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function stopCli(child: ChildProcess): Promise<number> {
  const started = performance.now();
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
  return performance.now() - started;
}

/**
 * RSS of a proxy with an empty config (admin only), once it serves; with `http`, one HTTP
 * listener and a static route as well (the L7 code loaded, as in catalog mode).
 */
async function baselineRss(dir: string, http = false): Promise<number> {
  const file = join(dir, 'empty.yaml');
  const listener =
    'listeners: [{ name: web, address: 127.0.0.1:0, protocol: http, routes: [{ cluster: c }] }]\n' +
    'clusters: [{ name: c, endpoints: ["127.0.0.1:1"] }]\n';
  await writeFile(file, `admin: { address: 127.0.0.1:0 }\n${http ? listener : ''}`);
  let ready: () => void = () => {};
  const listening = new Promise<void>((resolve) => (ready = resolve));
  const child = runCli(file, (line) => {
    if (line.msg === 'admin: listening') ready();
  });
  await listening;
  await sleep(1000);
  const { rss } = rssMb(child.pid!);
  await stopCli(child);
  return rss;
}

/** The catalog's endpoints: one server on every 127.x.y.z address, closing each connection after its answer. */
async function startUpstream(): Promise<{ port: number; close: () => void }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { connection: 'close', 'content-length': 2 });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** GET / with `Host: host` through the proxy; resolves with the status. */
function get(port: number, host: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One request to every Service's Host, 32 at a time; the statuses other than 200, counted. */
async function requestEveryService(port: number): Promise<Map<number, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const failed = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < services) {
      const status = await get(port, `${serviceName(next++)}.bench`, agent);
      if (status !== 200) failed.set(status, (failed.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  agent.destroy();
  return failed;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check().catch(() => false))) await sleep(20);
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('build first: npm run build');
  const dir = await mkdtemp(join(tmpdir(), 'portside-bench-'));
  const baseline = await baselineRss(dir);
  const httpBaseline = catalog ? await baselineRss(dir, true) : baseline;
  const upstream = catalog ? await startUpstream() : undefined;

  const double = fork(
    join(import.meta.dirname, 'kube-api-double-process.ts'),
    [String(services), String(perService), String(unused), ...(upstream ? [String(upstream.port)] : [])],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const [{ port }] = (await once(double, 'message')) as [{ port: number }];
  const kubeconfig = await new KubeApiDouble(port).writeKubeconfig(dir, 'bench');
  const stats = async (): Promise<DoubleStats> => {
    const answer = once(double, 'message');
    double.send({ type: 'stats' } satisfies DoubleCommand);
    return ((await answer) as [DoubleStats])[0];
  };

  const config = join(dir, 'portside.yaml');
  const clusters = Array.from(
    { length: services },
    (_, i) =>
      `  - { name: ${serviceName(i)}, discovery: { kubernetes: { service: ${serviceName(i)}, namespace: bench, port: http, kubeconfig: ${JSON.stringify(kubeconfig)}${watch === 'auto' ? '' : `, watch: ${watch}`} } } }`,
  );
  const catalogConfig = [
    'listeners: [{ name: web, address: 127.0.0.1:0, protocol: http, accessLog: false }]',
    'catalog:',
    `  kubernetes: { namespaces: [bench], selector: "${CATALOG_LABEL}=bench", kubeconfig: ${JSON.stringify(kubeconfig)} }`,
    '  listeners: [web]',
    `  build: ${watch === 'catalog-eager' ? 'serviceAdded' : 'firstRequest'}`,
  ].join('\n');
  await writeFile(
    config,
    `drainTimeout: 1s\nadmin: { address: 127.0.0.1:0 }\n${catalog ? catalogConfig : `clusters:\n${clusters.join('\n')}`}\n`,
  );
  const clusterOf = (i: number) => (catalog ? `${serviceName(i)}.bench:80` : serviceName(i));

  // Every cluster's first `endpoints updated` line; then each change waits for its cluster's next.
  const seen = new Set<string>();
  let allSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (allSynced = resolve));
  let waiting: { cluster: string; resolve: () => void } | undefined;
  let listenerBoundMs = 0;
  let admin = '';
  let web = 0;
  const started = performance.now();
  const shutdown: Record<string, number> = {};
  const cli = runCli(config, (line) => {
    if (line.msg === 'admin: listening') {
      listenerBoundMs = performance.now() - started;
      admin = String(line.address);
    }
    if (line.msg === 'listener bound' && line.listener === 'web')
      web = Number(String(line.address).split(':').pop());
    if (line.msg === 'shutting down' || line.msg === 'drained')
      shutdown[line.msg] = Date.parse(String(line.time));
    if (line.msg !== 'endpoints updated') return;
    const cluster = String(line.cluster);
    if (waiting?.cluster === cluster) waiting.resolve();
    if (!seen.has(cluster)) {
      seen.add(cluster);
      if (seen.size === services) allSynced();
    }
  });
  // The catalog is routable once listed (/ready); lazy clusters are built by the sweep below.
  if (catalog) {
    await until(async () => admin !== '' && (await fetch(`http://${admin}/ready`)).status === 200);
    if (watch === 'catalog-eager') await synced;
  } else await synced;
  const syncMs = performance.now() - started;
  const atStart = await stats();
  await sleep(1000);
  const beforeSweep = rssMb(cli.pid!);
  let sweep = '';
  if (catalog) {
    const t0 = performance.now();
    const failed = await requestEveryService(web);
    const sweepMs = performance.now() - t0;
    await synced; // every Service's cluster exists now
    await sleep(1000);
    const statuses = [...failed].map(([status, n]) => `${n} × ${status}`).join(', ') || 'all 200';
    const perEndpoint = ((beforeSweep.rss - baseline) * 1024 * 1024) / (services * perService);
    const aboveHttp = beforeSweep.rss - httpBaseline;
    sweep =
      `one request to each of ${services} Hosts: ${(sweepMs / 1000).toFixed(2)} s (${statuses}); ` +
      `start → all answered ${((syncMs + sweepMs) / 1000).toFixed(2)} s; before it RSS ${beforeSweep.rss.toFixed(0)} MB, ` +
      `+${(beforeSweep.rss - baseline).toFixed(1)} MB = ${perEndpoint.toFixed(0)} B per endpoint ` +
      `(above a proxy with an HTTP listener, ${httpBaseline.toFixed(0)} MB: +${aboveHttp.toFixed(1)} MB = ` +
      `${((aboveHttp * 1024 * 1024) / (services * perService)).toFixed(0)} B)`;
  }
  const memory = rssMb(cli.pid!);
  const idleFrom = cpuSeconds(cli.pid!);
  await sleep(5000);
  const idleCpu = (cpuSeconds(cli.pid!) - idleFrom) / 5;

  const latencies: number[] = [];
  for (let n = 1; n <= changes; n++) {
    const i = Math.floor(Math.random() * services);
    const applied = new Promise<void>((resolve) => (waiting = { cluster: clusterOf(i), resolve }));
    const t0 = performance.now();
    double.send({ type: 'change', service: i, generation: n } satisfies DoubleCommand);
    await applied;
    latencies.push(performance.now() - t0);
  }
  waiting = undefined;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1);
  const afterChanges = await stats();
  const exitMs = await stopCli(cli);

  const endpoints = services * perService;
  const above = memory.rss - baseline;
  console.log(
    [
      `services × endpoints     ${services} × ${perService} = ${endpoints} endpoints named (+${unused} Services not named), watch: ${watch}`,
      `start → all routable     ${(syncMs / 1000).toFixed(2)} s (admin listening after ${(listenerBoundMs / 1000).toFixed(2)} s)`,
      `API at start             ${atStart.lists} list requests, ${atStart.watches} watches, ${atStart.connections} connections`,
      `API after ${changes} changes   ${afterChanges.lists} lists, ${afterChanges.watches} watches, ${afterChanges.connections} connections`,
      ...(sweep ? [`catalog                  ${sweep}`] : []),
      `RSS                      ${memory.rss.toFixed(0)} MB (anon ${memory.anon.toFixed(0)} MB); empty-config proxy ${baseline.toFixed(0)} MB → +${above.toFixed(1)} MB = ${((above * 1024 * 1024) / endpoints).toFixed(0)} B per endpoint`,
      `event → pickable (${changes})  p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
      `idle CPU                 ${(idleCpu * 100).toFixed(1)} % of a core (5 s after the sync)`,
      `SIGTERM → exit           ${exitMs.toFixed(0)} ms (drainTimeout 1s; signal → drained ${(shutdown.drained ?? Number.NaN) - (shutdown['shutting down'] ?? Number.NaN)} ms in its log)`,
    ].join('\n'),
  );
  double.disconnect();
  double.kill();
  upstream?.close();
  await rm(dir, { recursive: true, force: true });
}

await main();
