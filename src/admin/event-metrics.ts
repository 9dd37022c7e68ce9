/**
 * Metrics recorded as things happen rather than read at scrape time: upstream latency
 * samples and failure reasons (an OutcomeObserver on each cluster), health transitions,
 * outlier ejections and reload attempts. None of them is per byte or per chunk. Upstream
 * outcomes are kept in an UpstreamTally and read at scrape time with the worker threads'.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HealthTransition, PanicTransition, ReloadResult } from '../core/events.js';
import type { AdminSource } from './source.js';
import { LATENCY_BUCKETS, sumUpstream, UpstreamTally, type UpstreamTotals } from './upstream-tally.js';

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

export interface EventMetrics {
  /** Adds the latency observer to clusters of a new generation (idempotent). */
  observeClusters(): void;
  close(): void;
}

export function registerEventMetrics(source: AdminSource, registry: Registry): EventMetrics {
  const registers = [registry];
  const reloads = new Counter({
    name: 'portside_config_reloads_total',
    help: 'Config reload attempts by result.',
    labelNames: ['result'],
    registers,
  });
  reloads.inc({ result: 'success' }, 0);
  reloads.inc({ result: 'failure' }, 0);
  const transitions = new Counter({
    name: 'portside_health_transitions_total',
    help: 'Endpoint availability changes, by the state entered.',
    labelNames: ['cluster', 'endpoint', 'to'],
    registers,
  });
  // This thread's upstream outcomes; with worker threads, theirs are added at scrape time.
  const tally = new UpstreamTally();
  const totals = (): UpstreamTotals => sumUpstream([tally.totals(), ...(source.workerUpstream?.() ?? [])]);
  // Read metrics (prom-client's Histogram can only observe, its Counter only count here).
  const readMetric = (name: string, help: string, type: 'counter' | 'histogram', read: () => Sample[]) =>
    registry.registerMetric({
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, values: read(), aggregator: 'sum' }),
    } as never);
  readMetric(
    'portside_outlier_ejections_total',
    'Times outlier detection ejected the endpoint.',
    'counter',
    () => totals().ejections.map(([cluster, endpoint, value]) => ({ labels: { cluster, endpoint }, value })),
  );
  const latencyName = 'portside_upstream_latency_seconds';
  readMetric(
    latencyName,
    'Successful upstream attempts by how long they took: phase="connect" is a TCP connect (tcp listeners), phase="response" the wait for an answer (the response head for http, a reply for udp).',
    'histogram',
    () =>
      totals().latency.flatMap(([cluster, phase, sum, ...counts]) =>
        histogram(latencyName, { cluster, phase }, sum, counts),
      ),
  );
  readMetric('portside_upstream_failures_total', 'Failed upstream attempts by reason code.', 'counter', () =>
    totals().failures.map(([cluster, reason, value]) => ({ labels: { cluster, reason }, value })),
  );

  const panics = new Counter({
    name: 'portside_panic_transitions_total',
    help: 'Times the cluster entered (to="on") or left (to="off") panic mode.',
    labelNames: ['cluster', 'to'],
    registers,
  });
  const onPanic = (p: PanicTransition) => panics.inc({ cluster: p.cluster, to: p.panic ? 'on' : 'off' });

  const lastSuccess = new Gauge({
    name: 'portside_config_last_reload_success_timestamp_seconds',
    help: 'When the live config was applied (Unix seconds): the last successful reload, or the start.',
    registers,
  });
  const applied = source.lastReload();
  lastSuccess.set((applied?.ok ? applied.at : Date.now()) / 1000);

  const onReload = (result: ReloadResult) => {
    reloads.inc({ result: result.ok ? 'success' : 'failure' });
    if (result.ok) {
      lastSuccess.set(result.at / 1000);
      observeClusters();
    }
  };
  const onHealth = (t: HealthTransition) => {
    const labels = { cluster: t.cluster, endpoint: t.endpoint };
    transitions.inc({ ...labels, to: t.to.length === 0 ? 'available' : 'unavailable' });
    tally.health(t);
  };
  source.events.on('reload', onReload);
  source.events.on('health', onHealth);
  source.events.on('panic', onPanic);

  function observeClusters(): void {
    for (const cluster of source.clusters()) tally.observe(cluster);
  }
  observeClusters();

  return {
    observeClusters,
    close() {
      source.events.off('reload', onReload);
      source.events.off('health', onHealth);
      source.events.off('panic', onPanic);
    },
  };
}

/** Prometheus histogram samples from plain bucket counts (cumulative `le` buckets, +Inf, sum, count). */
function histogram(name: string, labels: Record<string, string>, sum: number, counts: number[]): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  LATENCY_BUCKETS.forEach((le, i) => {
    cumulative += counts[i] ?? 0;
    samples.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
  });
  cumulative += counts[LATENCY_BUCKETS.length] ?? 0;
  samples.push({ labels: { ...labels, le: '+Inf' }, value: cumulative, metricName: `${name}_bucket` });
  samples.push({ labels, value: sum, metricName: `${name}_sum` });
  samples.push({ labels, value: cumulative, metricName: `${name}_count` });
  return samples;
}
