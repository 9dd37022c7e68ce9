/**
 * Explaining from a config file alone: each cluster built as the proxy builds it (its
 * picker from `balancing`, its static endpoints), with no health known and no discovery
 * source contacted.
 */
import { AffinityRegistry, createPicker, resolveSelfLocality } from '../balancing/index.js';
import type { Config } from '../config/schema.js';
import { Cluster } from '../core/cluster.js';
import { EndpointStateRegistry } from '../core/endpoint.js';
import { StaticSource } from '../discovery/static.js';
import type { ExplainWorld } from './world.js';

export function offlineWorld(config: Config, now = Date.now()): ExplainWorld {
  const self = resolveSelfLocality(config.node);
  const states = new EndpointStateRegistry();
  const affinity = new AffinityRegistry();
  const clusters = new Map<string, Cluster>();
  for (const c of config.clusters) {
    const picker = createPicker(c.balancing, { cluster: c.name, affinity, self });
    const cluster = new Cluster(c.name, picker, states);
    if (!c.discovery)
      new StaticSource(c.endpoints ?? []).start((endpoints) => cluster.setEndpoints(endpoints));
    clusters.set(c.name, cluster);
  }
  return { mode: 'offline', config, now, self, cluster: (name) => clusters.get(name) };
}
