/**
 * Upstream outcomes as plain numbers: latency buckets per cluster and phase, failures per
 * cluster and reason, outlier ejections per endpoint. Each thread keeps one (the main thread
 * for its own traffic, each worker thread for its own); totals of several threads add up, so
 * `/metrics` reads the same whether one thread or N served the traffic.
 */
import type { Cluster, LatencyPhase, OutcomeObserver } from '../core/cluster.js';
import type { HealthTransition } from '../core/events.js';
import { bucketOf } from '../listeners/duration-histogram.js';

/** Upper bounds in seconds; one more count holds what is above the last. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Totals since the thread started: plain data, posted by workers in their stats. */
export interface UpstreamTotals {
  /** Cluster, phase, sum of seconds, then a count per bucket (not cumulative; the last above every bound). */
  latency: [string, string, number, ...number[]][];
  /** Cluster, reason, count. */
  failures: [string, string, number][];
  /** Cluster, endpoint, times ejected. */
  ejections: [string, string, number][];
}

const key = (a: string, b: string) => `${a}\u0000${b}`;
const unkey = (k: string): [string, string] => {
  const at = k.indexOf('\u0000');
  return [k.slice(0, at), k.slice(at + 1)];
};

export class UpstreamTally {
  private readonly latency = new Map<string, { sum: number; counts: number[] }>();
  private readonly failures = new Map<string, number>();
  private readonly ejections = new Map<string, number>();
  private readonly observed = new WeakSet<Cluster>();

  /** Counts the cluster's outcomes from now on (once per cluster, however often called). */
  observe(cluster: Cluster): void {
    if (this.observed.has(cluster)) return;
    this.observed.add(cluster);
    const name = cluster.name;
    const observer: OutcomeObserver = {
      success: (_endpoint, latencyMs, phase) => this.success(name, phase, latencyMs / 1000),
      failure: (_endpoint, reason) => add(this.failures, key(name, reason), 1),
    };
    cluster.observers.push(observer);
  }

  /** A health transition: an endpoint entering OutlierEjected counts one ejection. */
  health(t: HealthTransition): void {
    if (t.to.includes('OutlierEjected') && !t.from.includes('OutlierEjected'))
      add(this.ejections, key(t.cluster, t.endpoint), 1);
  }

  totals(): UpstreamTotals {
    return rows(this.latency, this.failures, this.ejections);
  }

  private success(cluster: string, phase: LatencyPhase, seconds: number): void {
    const k = key(cluster, phase);
    let entry = this.latency.get(k);
    if (!entry) {
      entry = { sum: 0, counts: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0) };
      this.latency.set(k, entry);
    }
    entry.sum += seconds;
    entry.counts[bucketOf(LATENCY_BUCKETS, seconds)]!++;
  }
}

function add(map: Map<string, number>, k: string, n: number): void {
  map.set(k, (map.get(k) ?? 0) + n);
}

/** Several threads' totals as one. */
export function sumUpstream(list: readonly UpstreamTotals[]): UpstreamTotals {
  const latency = new Map<string, { sum: number; counts: number[] }>();
  const failures = new Map<string, number>();
  const ejections = new Map<string, number>();
  for (const totals of list) {
    for (const [cluster, phase, sum, ...counts] of totals.latency) {
      const k = key(cluster, phase);
      const entry = latency.get(k);
      if (!entry) latency.set(k, { sum, counts: [...counts] });
      else {
        entry.sum += sum;
        counts.forEach((n, i) => {
          entry.counts[i] = (entry.counts[i] ?? 0) + n;
        });
      }
    }
    for (const [cluster, reason, n] of totals.failures) add(failures, key(cluster, reason), n);
    for (const [cluster, endpoint, n] of totals.ejections) add(ejections, key(cluster, endpoint), n);
  }
  return rows(latency, failures, ejections);
}

/** The keyed maps as the plain rows that cross between threads. */
function rows(
  latency: Map<string, { sum: number; counts: number[] }>,
  failures: Map<string, number>,
  ejections: Map<string, number>,
): UpstreamTotals {
  return {
    latency: [...latency].map(([k, { sum, counts }]) => [...unkey(k), sum, ...counts]),
    failures: [...failures].map(([k, n]) => [...unkey(k), n]),
    ejections: [...ejections].map(([k, n]) => [...unkey(k), n]),
  };
}
