import type { Locality } from '../core/endpoint.js';

/** One endpoint as a discovery source reports it. */
export interface DiscoveredEndpoint {
  host: string;
  port: number;
  weight: number;
  locality: Locality;
  /** Absent means ready. */
  ready?: boolean;
  /**
   * Take new traffic only as a last resort: Kubernetes `serving && terminating`, and DNS SRV
   * records of a lower priority than the best one (RFC 2782 fallbacks).
   */
  terminating?: boolean;
}

/**
 * A discovery source turns something (static config, DNS, Kubernetes, etcd) into whole
 * endpoint snapshots. It only emits; the cluster applies (and drops unchanged snapshots).
 */
export interface DiscoverySource {
  /** Begin discovery; `onSnapshot` receives every complete endpoint list. */
  start(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void;
  stop(): void;
  /** True once the first snapshot was delivered (admin /ready waits for it). */
  readonly synced: boolean;
  /** Human-readable description for logs and the admin API, e.g. `dns A web.internal`. */
  readonly description: string;
  /**
   * True while the source keeps serving its last good snapshot because refreshing failed
   * (static stability); `lastError` says why. Absent for sources that cannot go stale.
   */
  readonly stale?: boolean;
  readonly lastError?: string;
}

/** Endpoints in a stable order, so an unchanged answer in a new order is still unchanged. */
export function sortEndpoints(endpoints: DiscoveredEndpoint[]): DiscoveredEndpoint[] {
  return endpoints.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port));
}
