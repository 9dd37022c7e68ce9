/**
 * Metrics recorded as things happen rather than read at scrape time: upstream latency
 * samples and failure reasons (an OutcomeObserver on each cluster), health transitions,
 * outlier ejections and reload attempts. None of them is per byte or per chunk.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Cluster, OutcomeObserver } from '../core/cluster.js';
import type { HealthTransition, PanicTransition, ReloadResult } from '../core/events.js';
import type { AdminSource } from './source.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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
  const ejections = new Counter({
    name: 'portside_outlier_ejections_total',
    help: 'Times outlier detection ejected the endpoint.',
    labelNames: ['cluster', 'endpoint'],
    registers,
  });
  const latency = new Histogram({
    name: 'portside_upstream_latency_seconds',
    help: 'Successful upstream attempts by how long they took: phase="connect" is a TCP connect (tcp listeners), phase="response" the wait for an answer (the response head for http, a reply for udp).',
    labelNames: ['cluster', 'phase'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const upstreamFailures = new Counter({
    name: 'portside_upstream_failures_total',
    help: 'Failed upstream attempts by reason code.',
    labelNames: ['cluster', 'reason'],
    registers,
  });

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
    if (t.to.includes('OutlierEjected') && !t.from.includes('OutlierEjected')) ejections.inc(labels);
  };
  source.events.on('reload', onReload);
  source.events.on('health', onHealth);
  source.events.on('panic', onPanic);

  const observed = new WeakSet<Cluster>();
  function observeClusters(): void {
    for (const cluster of source.clusters()) {
      if (observed.has(cluster)) continue;
      observed.add(cluster);
      const name = cluster.name;
      const observer: OutcomeObserver = {
        success: (_endpoint, latencyMs, phase) => latency.observe({ cluster: name, phase }, latencyMs / 1000),
        failure: (_endpoint, reason) => upstreamFailures.inc({ cluster: name, reason }),
      };
      cluster.observers.push(observer);
    }
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
