/**
 * Request durations of one listener in fixed buckets, counted as plain numbers on the
 * request path (a few comparisons, no allocation) and read by the admin API at scrape time
 * as a Prometheus histogram.
 */

/** Upper bounds in seconds (Prometheus's default buckets, plus 30 s for slow uploads and streams). */
export const DURATION_BOUNDS_S: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** The bucket of `value` among upper `bounds` (inclusive, as Prometheus's `le`); bounds.length: above all. */
export function bucketOf(bounds: readonly number[], value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  return i;
}

export class DurationHistogram {
  /** Per bucket (not cumulative); the last one is above every bound. */
  readonly counts = new Array<number>(DURATION_BOUNDS_S.length + 1).fill(0);
  sumSeconds = 0;
  count = 0;

  observe(ms: number): void {
    const seconds = ms / 1000;
    this.counts[bucketOf(DURATION_BOUNDS_S, seconds)]!++;
    this.sumSeconds += seconds;
    this.count++;
  }
}
