/**
 * How many snapshots each cluster's discovery source has delivered, and when the last one
 * arrived: the `portside_discovery_syncs_total` counter. Held by the proxy and shared by
 * every config generation, so a reload does not reset the counter (Prometheus counters
 * only grow). Keyed by cluster and source description: a cluster whose source changes
 * (static → dns) starts a new series, as its `source` label changes too.
 */
export class DiscoverySyncCounts {
  private readonly counts = new Map<string, { count: number; lastAt: number }>();

  record(cluster: string, source: string): void {
    const key = `${cluster}\u0000${source}`;
    const seen = this.counts.get(key);
    if (seen) {
      seen.count++;
      seen.lastAt = Date.now();
    } else this.counts.set(key, { count: 1, lastAt: Date.now() });
  }

  /** A cluster that is gone for good (a catalog Service deleted): its series goes too. */
  forget(cluster: string, source: string): void {
    this.counts.delete(`${cluster}\u0000${source}`);
  }

  of(cluster: string, source: string): { count: number; lastAt: number } | undefined {
    return this.counts.get(`${cluster}\u0000${source}`);
  }
}
