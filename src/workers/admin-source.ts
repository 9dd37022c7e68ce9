/**
 * The admin API's view of `workers: N`: the main thread's proxy (clusters, health,
 * discovery, UDP listeners, reloads), with the TCP listeners summed over the worker
 * threads and endpoint counters folded in (endpoint-counters.ts).
 */
import { ProxyAdminSource, type RegistrationsSource } from '../admin/proxy-source.js';
import type { ListenerStatus } from '../admin/source.js';
import type { ReloadResult } from '../core/events.js';
import type { ProxyServer } from '../core/proxy.js';
import type { ExplainWorld } from '../explain/world.js';
import { sumListeners } from './listener-sum.js';
import type { WorkerPool } from './pool.js';

export class WorkersAdminSource extends ProxyAdminSource {
  constructor(
    proxy: ProxyServer,
    reloads: { readonly lastResult: ReloadResult | undefined },
    registrar: RegistrationsSource | undefined,
    private readonly pool: WorkerPool,
    private readonly threads: {
      readonly version: number;
      drain(): Promise<void>;
      readonly draining: boolean;
    },
  ) {
    super(proxy, reloads, registrar);
  }

  override version(): number {
    return this.threads.version;
  }

  override listeners(): ListenerStatus[] {
    const { live, retired } = this.pool.listenerStats();
    // The main thread's own: UDP listeners.
    return sumListeners(live, retired).concat(super.listeners());
  }

  override explainWorld(): ExplainWorld | undefined {
    const world = super.explainWorld();
    if (!world) return undefined;
    const bound = this.pool.boundAddresses();
    return { ...world, boundAddress: (name) => bound[name] ?? world.boundAddress?.(name) };
  }

  workers() {
    return this.pool.workers();
  }

  workerUpstream() {
    return this.pool.upstreamStats();
  }

  workerEjected() {
    return this.pool.ejected();
  }

  refresh(): Promise<void> {
    return this.pool.refresh();
  }

  override draining(): boolean {
    return this.threads.draining || super.draining();
  }

  override async drain(): Promise<void> {
    await this.threads.drain();
  }
}
