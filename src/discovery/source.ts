import type { Locality } from '../core/endpoint.js';

/** One endpoint as a discovery source reports it. */
export interface DiscoveredEndpoint {
  host: string;
  port: number;
  weight: number;
  locality: Locality;
  /** Absent means ready. */
  ready?: boolean;
  /** Kubernetes `serving && terminating`: finish work, take new traffic only as a last resort. */
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
}
