import {
  type AffinityRegistry,
  balancingObservers,
  createPicker,
  resolveSelfLocality,
} from '../balancing/index.js';
import type { Config, ListenerConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import { createDiscoverySource, processKubernetesWatches } from '../discovery/index.js';
import type { DiscoverySource } from '../discovery/source.js';
import { type ClusterHealth, startHealth } from '../health/cluster-health.js';
import type { HealthRegistry } from '../health/registry.js';
import { HttpProxyHandler } from '../l7/http-proxy.js';
import { TcpProxyHandler } from '../l4/tcp-proxy.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import { Cluster } from './cluster.js';
import type { EndpointStateRegistry } from './endpoint.js';
import type { ProxyEvents } from './events.js';
import type { Logger } from './log.js';

/** What outlives a config generation and is shared by all of them. */
export interface RuntimeDeps {
  logger: Logger;
  states: EndpointStateRegistry;
  /** Session-affinity bindings by cluster name: clients keep their endpoint across reloads. */
  affinity: AffinityRegistry;
  /** Health counters and ejections that must outlive a generation (as `states` does). */
  health: HealthRegistry;
  events: ProxyEvents;
}

/**
 * One config generation: its clusters (with discovery running) and the handlers its
 * listeners use. Built beside the running generation on reload; stopped when retired.
 * Connections keep the handler, and so the clusters, they started with.
 */
export class Runtime {
  readonly clusters = new Map<string, Cluster>();
  private readonly sources = new Map<string, DiscoverySource>();
  private health = new Map<string, ClusterHealth>();
  private readonly log: Logger;

  constructor(
    readonly config: Config,
    readonly version: number,
    readonly deps: RuntimeDeps,
  ) {
    this.log = deps.logger;
    const self = resolveSelfLocality(config.node);
    for (const c of config.clusters) {
      const picker = createPicker(c.balancing, { cluster: c.name, affinity: deps.affinity, self });
      const cluster = new Cluster(c.name, picker, deps.states);
      cluster.observers.push(...balancingObservers(c.balancing));
      this.clusters.set(c.name, cluster);
      const kubernetes = processKubernetesWatches(deps.logger);
      this.sources.set(
        c.name,
        createDiscoverySource(c, { logger: deps.logger.child({ cluster: c.name }), kubernetes }),
      );
    }
  }

  /** Starts discovery for every cluster; a static source delivers its endpoints at once. */
  start(): void {
    for (const [name, source] of this.sources) {
      const cluster = this.clusters.get(name)!;
      source.start((endpoints) => {
        if (cluster.setEndpoints(endpoints)) {
          this.log.debug(
            { cluster: name, endpoints: cluster.endpoints.length, source: source.description },
            'endpoints updated',
          );
          this.health.get(name)?.refresh();
        }
      });
    }
    // After discovery: a static source has delivered, so checks start with the endpoints.
    this.health = startHealth(this.clusters, this.config.clusters, {
      registry: this.deps.health,
      events: this.deps.events,
      log: this.deps.logger,
    });
  }

  /** Active checks, outlier detection and panic mode of one cluster in this generation. */
  clusterHealth(name: string): ClusterHealth | undefined {
    return this.health.get(name);
  }

  /** True once every discovery source has delivered its first snapshot. */
  get synced(): boolean {
    for (const source of this.sources.values()) if (!source.synced) return false;
    return true;
  }

  discoverySources(): ReadonlyMap<string, DiscoverySource> {
    return this.sources;
  }

  createHandler(listener: ListenerConfig, stats: ListenerStats): ConnectionHandler {
    const log = this.log.child({ listener: listener.name });
    if (listener.protocol === 'http')
      return new HttpProxyHandler(listener, (name) => this.clusters.get(name), log, stats);
    const cluster = this.clusters.get(listener.cluster);
    if (!cluster) throw new Error(`listener "${listener.name}" names unknown cluster "${listener.cluster}"`);
    return new TcpProxyHandler(
      {
        listener: listener.name,
        connectTimeoutMs: ms(listener.connectTimeout),
        idleTimeoutMs: ms(listener.idleTimeout),
      },
      cluster,
      stats,
      log,
    );
  }

  /** Stops discovery (and anything else that runs on timers) for this generation. */
  stop(): void {
    for (const source of this.sources.values()) source.stop();
    for (const health of this.health.values()) health.stop();
  }
}
