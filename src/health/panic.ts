/**
 * Panic mode (as in Envoy): when too few endpoints are available, health is probably
 * wrong about most of them, and piling all traffic onto the few left would take those
 * down too. Below `panicThreshold` percent available, the cluster balances across every
 * endpoint (draining ones still only as a last resort); it returns to normal once enough
 * are available again.
 */
import type { Cluster } from '../core/cluster.js';
import { ALL_UNAVAILABLE_REASONS, Unavailable } from '../core/endpoint.js';
import type { PanicTransition, ProxyEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import { emitSafely } from './reporter.js';

/** In panic only Draining still excludes; Cluster.pick falls back to draining endpoints on its own. */
export const PANIC_EXCLUDE_FLAGS = Unavailable.Draining;

export class PanicGuard {
  private panicking = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly thresholdPercent: number,
    private readonly events: ProxyEvents,
    private readonly log: Logger,
  ) {}

  get active(): boolean {
    return this.panicking;
  }

  /**
   * Takes over the cluster's panic state from the guard this one replaces (a reload changed
   * the cluster's health settings), so staying in panic is not announced as a new panic.
   */
  adopt(): void {
    this.panicking = this.cluster.excludeFlags === PANIC_EXCLUDE_FLAGS;
  }

  /** Re-counts available endpoints; engages or releases panic mode when the share crosses the threshold. */
  evaluate(): void {
    const endpoints = this.cluster.endpoints;
    const available = endpoints.filter((e) => e.state.flags === 0).length;
    const panic = endpoints.length > 0 && available * 100 < this.thresholdPercent * endpoints.length;
    if (panic === this.panicking) return;
    this.panicking = panic;
    this.cluster.excludeFlags = panic ? PANIC_EXCLUDE_FLAGS : ALL_UNAVAILABLE_REASONS;
    const transition: PanicTransition = {
      cluster: this.cluster.name,
      panic,
      available,
      total: endpoints.length,
      thresholdPercent: this.thresholdPercent,
      at: Date.now(),
    };
    const share = `${available} of ${endpoints.length} endpoints available`;
    if (panic) {
      this.log.warn(
        { event: 'panic', ...transition },
        `${this.cluster.name}: panic mode on (${share}, below ${this.thresholdPercent}%): balancing across all endpoints`,
      );
    } else {
      this.log.info({ event: 'panic', ...transition }, `${this.cluster.name}: panic mode off (${share})`);
    }
    emitSafely(this.events, this.log, 'panic', transition);
  }
}
