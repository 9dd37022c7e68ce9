/**
 * Kubernetes discovery at scale: N Services × M endpoints in the API double (its own
 * process), one Portside cluster per Service fed by the real client library.
 *
 * Prints: heap per endpoint after the initial sync, time to the initial sync, and the time
 * from a watch event to the changed endpoint being pickable (p50/p99/max), which must stay
 * O(changed endpoints): each event rebuilds only its own Service's snapshot.
 *
 *   node --expose-gc --import tsx bench/discovery-scale.ts [services=10000] [perService=10] [changes=200]
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { RoundRobinPicker } from '../src/balancing/round-robin.js';
import { Cluster } from '../src/core/cluster.js';
import { EndpointStateRegistry } from '../src/core/endpoint.js';
import { loadKubernetesClient } from '../src/discovery/kubernetes/client.js';
import { KubernetesSource } from '../src/discovery/kubernetes/source.js';
import { KubernetesWatches } from '../src/discovery/kubernetes/watches.js';
import { KubeApiDouble } from '../test/helpers/kube-api-double.js';
import { addressesOf, type DoubleCommand, serviceName } from './kube-api-double-process.js';

const services = Number(process.argv[2] ?? 10_000);
const perService = Number(process.argv[3] ?? 10);
const changes = Number(process.argv[4] ?? 200);

const gc = (globalThis as { gc?: () => void }).gc;
function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

async function main(): Promise<void> {
  if (!gc) console.log('(run with --expose-gc for stable memory figures)');
  const child = fork(
    join(import.meta.dirname, 'kube-api-double-process.ts'),
    [String(services), String(perService)],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  const dir = await mkdtemp(join(tmpdir(), 'portside-bench-'));
  const api = new KubeApiDouble(port); // only to write a kubeconfig for the child's port
  const kubeconfig = await api.writeKubeconfig(dir, 'bench');
  await loadKubernetesClient();

  const logger = pino({ level: 'error' });
  const watches = new KubernetesWatches(logger);
  const states = new EndpointStateRegistry();
  const clusters: Cluster[] = [];
  const sources: KubernetesSource[] = [];
  /** Called on every snapshot of service i; set while a change to i is in flight. */
  const waiting = new Map<number, (cluster: Cluster) => void>();

  const heapBefore = heapMb();
  const started = performance.now();
  let synced = 0;
  let resolveSynced: () => void = () => {};
  const allSynced = new Promise<void>((resolve) => (resolveSynced = resolve));
  for (let i = 0; i < services; i++) {
    const cluster = new Cluster(serviceName(i), new RoundRobinPicker(), states);
    const source = new KubernetesSource(
      { namespace: 'bench', service: serviceName(i), kubeconfig },
      'http',
      watches,
      logger,
    );
    clusters.push(cluster);
    sources.push(source);
    let first = true;
    source.start((endpoints) => {
      cluster.setEndpoints(endpoints);
      if (first) {
        first = false;
        if (++synced === services) resolveSynced();
      }
      waiting.get(i)?.(cluster);
    });
  }
  await allSynced;
  const syncMs = performance.now() - started;
  const endpoints = clusters.reduce((n, c) => n + c.endpoints.length, 0);
  const heapAfter = heapMb();

  // Event → pickable: change one endpoint of a random Service, wait until a pick can return it.
  // Event-loop delay is sampled meanwhile: a tail that matches it is stalls (GC of a large
  // heap, other work), not per-event cost, which is one Service's slices.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const latencies: number[] = [];
  for (let n = 1; n <= changes; n++) {
    const i = Math.floor(Math.random() * services);
    const expected = `${addressesOf(i, perService, n)[0]}:8080`;
    const done = new Promise<void>((resolve) => {
      waiting.set(i, (cluster) => {
        if (cluster.endpoints.some((e) => e.id === expected)) resolve();
      });
    });
    const t0 = performance.now();
    child.send({ type: 'change', service: i, generation: n } satisfies DoubleCommand);
    await done;
    latencies.push(performance.now() - t0);
    waiting.delete(i);
  }
  loopDelay.disable();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(2);

  const perEndpointKb = ((heapAfter - heapBefore) * 1024) / endpoints;
  console.log(
    [
      `services × endpoints     ${services} × ${perService} = ${endpoints} endpoints (${watches.size} shared watches)`,
      `initial sync             ${(syncMs / 1000).toFixed(2)} s`,
      `heap after sync          +${(heapAfter - heapBefore).toFixed(1)} MB → ${perEndpointKb.toFixed(2)} KB per endpoint (incl. per-Service watch)`,
      `rss                      ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MB`,
      `event → pickable (${changes})  p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`,
      `event-loop delay meanwhile  p50 ${(loopDelay.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(2)} ms, max ${(loopDelay.max / 1e6).toFixed(2)} ms`,
    ].join('\n'),
  );

  for (const s of sources) s.stop();
  child.disconnect();
  child.kill();
  await rm(dir, { recursive: true, force: true });
}

await main();
