import type { ClusterConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { DiscoverySource } from './source.js';
import { StaticSource } from './static.js';

export interface DiscoveryDeps {
  logger: Logger;
}

/** The discovery source a cluster's config asks for. */
export function createDiscoverySource(cluster: ClusterConfig, _deps: DiscoveryDeps): DiscoverySource {
  return new StaticSource(cluster.endpoints ?? []);
}
