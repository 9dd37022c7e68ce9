/**
 * Metrics recorded as things happen rather than read at scrape time: upstream latency
 * samples and failure reasons (an OutcomeObserver on each cluster), health transitions,
 * outlier ejections and reload attempts. None of them is per byte or per chunk. Upstream
 * outcomes are kept in an UpstreamTally and read at scrape time with the worker threads'.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HealthTransition, PanicTransition, ReloadResult } from '../core/events.js';
import { registerReadHistogram } from './read-histogram.js';
import type { AdminSource } from './source.js';
import { LATENCY_BUCKETS, sumUpstream, UpstreamTally, type UpstreamTotals } from './upstream-tally.js';

type CounterSample = { labels: Record<string, string>; value: number };

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
  // Counters read at scrape time (prom-client's Counter can only be incremented here).
  const readCounter = (name: string, help: string, read: () => CounterSample[]) =>
    registry.registerMetric({
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({ name, help, type: 'counter', values: read(), aggregator: 'sum' }),
    } as never);
  readCounter('portside_outlier_ejections_total', 'Times outlier detection ejected the endpoint.', () =>
    totals().ejections.map(([cluster, endpoint, value]) => ({ labels: { cluster, endpoint }, value })),
  );
  registerReadHistogram(
    registry,
    'portside_upstream_latency_seconds',
    'Successful upstream attempts by how long they took: phase="connect" is a TCP connect (tcp listeners), phase="response" the wait for an answer (the response head for http, a reply for udp).',
    LATENCY_BUCKETS,
    () =>
      totals().latency.map(([cluster, phase, sum, ...counts]) => ({
        labels: { cluster, phase },
        counts,
        sum,
      })),
  );
  readCounter('portside_upstream_failures_total', 'Failed upstream attempts by reason code.', () =>
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
