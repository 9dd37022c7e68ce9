/**
 * `workers: N`, threads against processes, quickly (about 40 s): resident memory of an
 * idle Portside with 1, 2 and 4 worker threads, and two single-process Portsides (what a
 * process per core would cost at the least); then CPU per request at a fixed rate through
 * one process, two worker threads, and two processes sharing the load. Needs Node 22.12+
 * (reusePort). Run: `node --import tsx bench/workers.ts` (or the built dist/bench/workers.js).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import {
  benchScript,
  cpuSeconds,
  firstLine,
  freePort,
  residentBytes,
  type Started,
  startProcess,
  stopAll,
  waitForPort,
} from './processes.js';

const RATE = 2000;
const SECONDS = 5;
const SETTLE_MS = 3000;

function cli(): [string, string[]] {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(`../src/cli/main.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return [process.execPath, fromSource ? ['--import', 'tsx', file] : [file]];
}

async function portside(workers: number, upstream: number): Promise<{ started: Started; port: number }> {
  const port = await freePort();
  const file = join(tmpdir(), `portside-bench-workers-${workers}-${port}.yaml`);
  writeFileSync(
    file,
    `workers: ${workers}
listeners:
  - { name: web, address: "127.0.0.1:${port}", protocol: http, accessLog: false, routes: [{ match: { pathPrefix: / }, cluster: up }] }
clusters:
  - { name: up, endpoints: ["127.0.0.1:${upstream}"] }
`,
  );
  const [node, args] = cli();
  const started = startProcess(`portside workers ${workers}`, node, [
    ...args,
    'run',
    '-c',
    file,
    '--log-level',
    'warn',
  ]);
  await waitForPort(started, port);
  return { started, port };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/** Fixed-rate load spread over `ports`; CPU µs per request of the `pids`. */
async function cpuPerRequest(ports: number[], pids: number[]): Promise<{ us: number; requests: number }> {
  const before = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const results = await Promise.all(
    ports.map((port) =>
      autocannon({
        url: `http://127.0.0.1:${port}/small`,
        connections: 20 / ports.length,
        overallRate: RATE / ports.length,
        duration: SECONDS,
      }),
    ),
  );
  const used = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - before;
  const requests = results.reduce((sum, r) => sum + r.requests.total, 0);
  return { us: (used * 1e6) / requests, requests };
}

/** Stops the Portsides of one setup (the upstream stays). */
async function stop(list: Started[]): Promise<void> {
  for (const started of list) {
    started.child.kill('SIGTERM');
    await new Promise((resolve) => started.child.once('exit', resolve));
  }
}

async function main(): Promise<void> {
  const [node, args] = benchScript('node-upstream');
  const upstreamProcess = startProcess('upstream', node, [...args, '--http']);
  const upstream = (JSON.parse(await firstLine(upstreamProcess)) as { http: number }).http;
  const rows = [
    `| setup | RSS idle (MB) | anon (MB) | CPU per request (µs) at ${RATE} req/s |`,
    '| --- | --- | --- | --- |',
  ];
  const setups: { label: string; workers: number[]; load: boolean }[] = [
    { label: 'one process (workers: 1)', workers: [1], load: true },
    { label: 'one process, workers: 2 (threads)', workers: [2], load: true },
    { label: 'one process, workers: 4 (threads)', workers: [4], load: false },
    { label: 'two processes (workers: 1 each)', workers: [1, 1], load: true },
  ];
  for (const setup of setups) {
    const running = [];
    for (const n of setup.workers) running.push(await portside(n, upstream));
    await settle();
    const pids = running.map((r) => r.started.child.pid!);
    const idle = pids.map((pid) => residentBytes(pid));
    const rss = idle.reduce((sum, r) => sum + r.rss, 0);
    const anon = idle.reduce((sum, r) => sum + r.anon, 0);
    const cpu = setup.load
      ? await cpuPerRequest(
          running.map((r) => r.port),
          pids,
        )
      : undefined;
    rows.push(`| ${setup.label} | ${mb(rss)} | ${mb(anon)} | ${cpu ? cpu.us.toFixed(1) : '—'} |`);
    await stop(running.map((r) => r.started));
  }
  await stopAll();
  process.stdout.write(`Node ${process.versions.node}\n\n${rows.join('\n')}\n`);
}

main().catch(async (error) => {
  await stopAll();
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exitCode = 1;
});
