/**
 * Folds the workers' per-endpoint counters into the main thread's endpoint states, which
 * the admin API and metrics read as they do in a single process. Each report adds what
 * changed since that worker's previous one: the main thread's own traffic (UDP listeners)
 * counts on the same states, and a dead worker's counts stay while its open connections
 * leave the `active` gauge.
 */
import type { Endpoint } from '../core/endpoint.js';
import type { ProxyServer } from '../core/proxy.js';
import { ENDPOINT_FIELDS, type EndpointRow } from './messages.js';
import type { WorkerPool } from './pool.js';

export class EndpointCounters {
  /** Each worker's last report, by `cluster\0endpoint`. */
  private readonly last = new Map<number, Map<string, number[]>>();

  constructor(
    private readonly proxy: ProxyServer,
    pool: WorkerPool,
  ) {
    pool.on('stats', (worker, stats) => this.report(worker, stats.endpoints));
    pool.on('exit', (worker) => this.forget(worker));
  }

  private report(worker: number, rows: EndpointRow[]): void {
    const previous = this.last.get(worker) ?? new Map<string, number[]>();
    const next = new Map<string, number[]>();
    const find = this.finder();
    for (const [cluster, id, ...values] of rows) {
      const key = `${cluster}\u0000${id}`;
      next.set(key, values);
      const endpoint = find(cluster, id);
      if (!endpoint) continue;
      const before = previous.get(key);
      ENDPOINT_FIELDS.forEach((field, i) => {
        const now = values[i] ?? 0;
        const was = before?.[i] ?? 0;
        // A counter below its last value started again (the worker's endpoint was new).
        const delta = field === 'active' || now >= was ? now - was : now;
        if (delta !== 0) endpoint.state[field] = Math.max(0, endpoint.state[field] + delta);
      });
    }
    // An endpoint the worker no longer reports has no open work there any more.
    for (const [key, values] of previous) {
      if (next.has(key) || !values[0]) continue;
      const [cluster = '', id = ''] = key.split('\u0000');
      const endpoint = find(cluster, id);
      if (endpoint) endpoint.state.active = Math.max(0, endpoint.state.active - values[0]);
    }
    this.last.set(worker, next);
  }

  private forget(worker: number): void {
    this.report(worker, []);
    this.last.delete(worker);
  }

  private finder(): (cluster: string, id: string) => Endpoint | undefined {
    const current = this.proxy.current;
    const byCluster = new Map<string, Map<string, Endpoint>>();
    return (cluster, id) => {
      let byId = byCluster.get(cluster);
      if (!byId) {
        const found = current?.clusters.get(cluster) ?? current?.catalog?.clusterNamed(cluster);
        byId = new Map((found?.endpoints ?? []).map((e) => [e.id, e]));
        byCluster.set(cluster, byId);
      }
      return byId.get(id);
    };
  }
}
