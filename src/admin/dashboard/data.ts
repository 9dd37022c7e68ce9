/**
 * What the dashboard shows beyond `/clusters`: which checks watch each cluster (so an
 * endpoint nothing checks is not shown as verified), upstream latency and failures by
 * reason from the metrics registry, and the time left on each ejection. Read when the page
 * polls, never on the proxy's path.
 */
import type { MetricValue, Registry } from 'prom-client';
import type { ClusterConfig } from '../../config/schema.js';
import type { AdminSource, ListenerStatus } from '../source.js';
import { type ClusterView, clusterViews, type EndpointView } from '../status.js';

const LATENCY_METRIC = 'portside_upstream_latency_seconds';
const FAILURES_METRIC = 'portside_upstream_failures_total';

export interface Latency {
  /** Successful attempts measured. */
  count: number;
  meanMs: number;
  /** Estimated from the histogram's buckets, as Prometheus' histogram_quantile does. */
  p50Ms: number;
  p99Ms: number;
}

export interface DashboardCluster extends ClusterView {
  /** What watches its endpoints: "active" (healthCheck), "outlier" (outlierDetection), "kubernetes readiness"; empty: nothing. */
  checks: string[];
  latency: Latency | null;
  /** Failed upstream attempts by reason (connect-refused, http-503…). */
  failures: Record<string, number>;
  endpoints: (EndpointView & { ejectionLeftMs?: number })[];
}

export async function dashboardClusters(
  source: AdminSource,
  registry: Registry,
): Promise<DashboardCluster[]> {
  const [latency, failures] = await Promise.all([latencyByCluster(registry), failuresByCluster(registry)]);
  const world = source.explainWorld?.();
  const now = Date.now();
  // clusterViews keeps the order of source.clusters() and of their endpoints: zip by index
  // rather than search (a cluster may have thousands of endpoints).
  const clusters = source.clusters();
  return clusterViews(source).map((view, i) => {
    const endpoints = clusters[i]?.endpoints ?? [];
    const config =
      source.config()?.clusters.find((c) => c.name === view.name) ?? world?.catalogClusterConfig?.(view.name);
    return {
      ...view,
      checks: checksOf(config),
      latency: latency.get(view.name) ?? null,
      failures: failures.get(view.name) ?? {},
      endpoints: view.endpoints.map((e, j) => {
        const endpoint = endpoints[j]?.id === e.address ? endpoints[j] : undefined;
        const until = endpoint && world?.healthMemory?.(endpoint)?.outlier.ejectedUntil;
        return until === undefined ? e : { ...e, ejectionLeftMs: Math.max(0, until - now) };
      }),
    };
  });
}

/** Kubernetes counts: its endpoints' readiness comes from the pods' probes. DNS proves nothing. */
function checksOf(config: ClusterConfig | undefined): string[] {
  return [
    ...(config?.healthCheck ? ['active'] : []),
    ...(config?.outlierDetection ? ['outlier'] : []),
    ...(config?.discovery?.kubernetes ? ['kubernetes readiness'] : []),
  ];
}

async function latencyByCluster(registry: Registry): Promise<Map<string, Latency>> {
  const out = new Map<string, Latency>();
  const metric = registry.getSingleMetric(LATENCY_METRIC);
  if (!metric) return out;
  const perCluster = new Map<string, { buckets: [number, number][]; sum: number; count: number }>();
  const values = (await metric.get()).values as (MetricValue<string> & { metricName?: string })[];
  // One figure per cluster: its response times, or its connect times if that is all it has.
  const answered = new Set(
    values.filter((v) => v.labels.phase === 'response').map((v) => String(v.labels.cluster)),
  );
  for (const v of values) {
    const name = String(v.labels.cluster);
    if (v.labels.phase === 'connect' && answered.has(name)) continue;
    const entry = perCluster.get(name) ?? { buckets: [], sum: 0, count: 0 };
    perCluster.set(name, entry);
    if (v.metricName?.endsWith('_bucket')) entry.buckets.push([Number(v.labels.le), v.value]);
    else if (v.metricName?.endsWith('_sum')) entry.sum = v.value;
    else if (v.metricName?.endsWith('_count')) entry.count = v.value;
  }
  for (const [name, h] of perCluster) {
    const latency = latencyOf(
      h.buckets.sort((a, b) => a[0] - b[0]),
      h.sum,
      h.count,
    );
    if (latency) out.set(name, latency);
  }
  return out;
}

/** Cumulative buckets `[upper bound in seconds, count]` to figures in milliseconds; null without samples. */
function latencyOf(buckets: [number, number][], sumSeconds: number, count: number): Latency | null {
  if (count === 0) return null;
  return {
    count,
    meanMs: (sumSeconds / count) * 1000,
    p50Ms: quantile(0.5, buckets) * 1000,
    p99Ms: quantile(0.99, buckets) * 1000,
  };
}

/** Listeners as `/listeners` has them, with HTTP request durations (head to end of response) summed up. */
export function dashboardListeners(source: AdminSource): (ListenerStatus & { latency: Latency | null })[] {
  return source.listeners().map((listener) => {
    const d = listener.requestDurations;
    if (!d) return { ...listener, latency: null };
    let cumulative = 0;
    const buckets: [number, number][] = d.bounds.map((bound, i) => {
      cumulative += d.counts[i] ?? 0;
      return [bound, cumulative];
    });
    buckets.push([Number.POSITIVE_INFINITY, d.count]);
    return { ...listener, latency: latencyOf(buckets, d.sumSeconds, d.count) };
  });
}

/**
 * The q-quantile of cumulative buckets `[upper bound, count]` (sorted, +Inf last), linear
 * within the bucket it falls in; in the +Inf bucket, the highest finite bound.
 */
export function quantile(q: number, buckets: [number, number][]): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [upper, count] of buckets) {
    if (count >= rank) {
      if (upper === Number.POSITIVE_INFINITY) return lower;
      return lower + (upper - lower) * ((rank - below) / Math.max(count - below, 1e-9));
    }
    lower = upper;
    below = count;
  }
  return lower;
}

async function failuresByCluster(registry: Registry): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  const metric = registry.getSingleMetric(FAILURES_METRIC);
  if (!metric) return out;
  for (const v of (await metric.get()).values) {
    if (v.value === 0) continue;
    const name = String(v.labels.cluster);
    const reasons = out.get(name) ?? {};
    out.set(name, reasons);
    reasons[String(v.labels.reason)] = v.value;
  }
  return out;
}
