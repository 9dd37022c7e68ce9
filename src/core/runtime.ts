import {
  type AffinityRegistry,
  balancingObservers,
  createPicker,
  resolveSelfLocality,
} from '../balancing/index.js';
import type { Config, ListenerConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import { createDiscoverySource } from '../discovery/index.js';
import type { DiscoverySource } from '../discovery/source.js';
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
      this.sources.set(c.name, createDiscoverySource(c, { logger: deps.logger.child({ cluster: c.name }) }));
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
        }
      });
    }
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
  }
}
