/**
 * What explaining needs to read: the config, the clusters as the proxy would pick from
 * them, and (live) the health memory behind each flag. Offline it is built from a config
 * file (offline.ts); live, the admin server builds it from the running proxy.
 */
import type { ClusterConfig, Config } from '../config/schema.js';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint, Locality } from '../core/endpoint.js';
import type { HealthMemory } from '../health/registry.js';

export interface ExplainWorld {
  readonly mode: 'offline' | 'live';
  readonly config: Config;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** Portside's own node and zone (for `balancing.locality`). */
  readonly self: Locality;
  cluster(name: string): Cluster | undefined;
  /**
   * The catalog's cluster for a Host (live only: the catalog's Services come from the API
   * server), built if it was not, as the Host's first request would.
   */
  catalogCluster?(host: string | undefined): Cluster | undefined;
  /** The config a catalog cluster was built from (the template, its Service and port). */
  catalogClusterConfig?(name: string): ClusterConfig | undefined;
  /** The health memory behind an endpoint's flags (live only). */
  healthMemory?(endpoint: Endpoint): HealthMemory | undefined;
  /** The address a listener bound, its port 0 resolved (live only). */
  boundAddress?(listener: string): string | undefined;
}
