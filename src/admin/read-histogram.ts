/**
 * A Prometheus histogram read at scrape time from buckets counted elsewhere as plain
 * numbers (request durations in each listener, upstream latency in each thread's tally):
 * prom-client's own Histogram can only observe, and those counts come from other objects
 * or other threads.
 */
import type { Registry } from 'prom-client';

/** One labelled series: a count per bucket (not cumulative; the last is above every bound) and the sum. */
export interface BucketSeries {
  labels: Record<string, string>;
  counts: readonly number[];
  sum: number;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName: string };

export function registerReadHistogram(
  registry: Registry,
  name: string,
  help: string,
  bounds: readonly number[],
  read: () => BucketSeries[],
): void {
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({
      name,
      help,
      type: 'histogram',
      values: read().flatMap((s) => samples(name, bounds, s)),
      aggregator: 'sum',
    }),
  } as never);
}

/** Cumulative `le` buckets, +Inf, sum and count of one series. */
function samples(name: string, bounds: readonly number[], { labels, counts, sum }: BucketSeries): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += counts[i] ?? 0;
    out.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
  });
  cumulative += counts[bounds.length] ?? 0;
  out.push({ labels: { ...labels, le: '+Inf' }, value: cumulative, metricName: `${name}_bucket` });
  out.push({ labels, value: sum, metricName: `${name}_sum` });
  out.push({ labels, value: cumulative, metricName: `${name}_count` });
  return out;
}
