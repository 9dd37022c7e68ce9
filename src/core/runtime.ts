import {
  type AffinityRegistry,
  balancingObservers,
  createPicker,
  resolveSelfLocality,
} from '../balancing/index.js';
import type { Config, ListenerConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import { createDiscoverySource, processKubernetesWatches } from '../discovery/index.js';
import type { DiscoveredEndpoint, DiscoverySource } from '../discovery/source.js';
import type { DiscoverySyncCounts } from '../discovery/sync-counts.js';
import { type ClusterHealth, startHealth } from '../health/cluster-health.js';
import type { HealthRegistry } from '../health/registry.js';
import { TcpProxyHandler } from '../l4/tcp-proxy.js';
import { httpProxyModule } from '../l7/load.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import { Cluster } from './cluster.js';
import { type Endpoint, type EndpointStateRegistry, Unavailable } from './endpoint.js';
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
  /** Snapshots delivered per cluster and source, across generations. */
  syncs: DiscoverySyncCounts;
  /** Makes each cluster's discovery source; tests inject sources they control. */
  createSource?: typeof createDiscoverySource;
}

/**
 * One config generation: its clusters (with discovery running) and the handlers its
 * listeners use. Built beside the running generation on reload; stopped when retired.
 * Connections keep the handler, and so the clusters, they started with.
 */
export class Runtime {
  readonly clusters = new Map<string, Cluster>();
  private readonly sources = new Map<string, DiscoverySource>();
  /** Clusters that have endpoints to offer: a first snapshot arrived, or they were seeded. */
  private readonly warm = new Set<string>();
  private warmWaiters: (() => void)[] = [];
  /** Snapshots each cluster's source delivered in this generation, and when the last came. */
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
      const createSource = deps.createSource ?? createDiscoverySource;
      const kubernetes = processKubernetesWatches(deps.logger);
      this.sources.set(
        c.name,
        createSource(c, { logger: deps.logger.child({ cluster: c.name }), kubernetes }),
      );
    }
  }

  /**
   * Starts discovery for every cluster; a static source delivers its endpoints at once.
   * A cluster whose config equals its namesake in `previous` starts with that one's
   * endpoints, so a reload never serves it empty while its source (DNS, Kubernetes)
   * makes its first query.
   */
  start(previous?: Runtime): void {
    for (const [name, cluster] of this.clusters) {
      const before = previous?.clusters.get(name);
      if (before && sameJson(previous!.clusterConfig(name), this.clusterConfig(name))) {
        cluster.setEndpoints(before.endpoints.map(asDiscovered));
        this.markWarm(name);
      }
    }
    for (const [name, source] of this.sources) {
      const cluster = this.clusters.get(name)!;
      source.start((endpoints) => {
        this.deps.syncs.record(name, source.description);
        this.markWarm(name);
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

  /**
   * Resolves once every cluster has endpoints to offer (see `start`), or after `timeoutMs`,
   * with the names of the clusters still waiting.
   */
  whenWarm(timeoutMs: number): Promise<string[]> {
    const waiting = () => [...this.clusters.keys()].filter((name) => !this.warm.has(name));
    if (waiting().length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(waiting());
      };
      const timer = setTimeout(() => {
        this.warmWaiters = this.warmWaiters.filter((w) => w !== done);
        done();
      }, timeoutMs);
      this.warmWaiters.push(done);
    });
  }

  private markWarm(name: string): void {
    if (this.warm.has(name)) return;
    this.warm.add(name);
    if (this.warm.size === this.clusters.size) for (const resolve of this.warmWaiters.splice(0)) resolve();
  }

  private clusterConfig(name: string) {
    return this.config.clusters.find((c) => c.name === name);
  }

  /** True once every discovery source has delivered its first snapshot. */
  get synced(): boolean {
    for (const source of this.sources.values()) if (!source.synced) return false;
    return true;
  }

  /** How many snapshots the cluster's source delivered (in every generation), and when the last arrived. */
  snapshotStats(cluster: string): { count: number; lastAt: number } | undefined {
    const source = this.sources.get(cluster);
    return source && this.deps.syncs.of(cluster, source.description);
  }

  discoverySources(): ReadonlyMap<string, DiscoverySource> {
    return this.sources;
  }

  createHandler(listener: ListenerConfig, stats: ListenerStats): ConnectionHandler {
    if (listener.protocol === 'http') {
      const log = this.log.child({ listener: listener.name });
      const { HttpProxyHandler } = httpProxyModule();
      return new HttpProxyHandler(listener, (name) => this.clusters.get(name), log, stats);
    }
    const cluster = this.clusters.get(listener.cluster);
    if (!cluster) throw new Error(`listener "${listener.name}" names unknown cluster "${listener.cluster}"`);
    return new TcpProxyHandler(
      {
        listener: listener.name,
        connectTimeoutMs: ms(listener.connectTimeout),
        idleTimeoutMs: ms(listener.idleTimeout),
        logsEachConnection: () => this.log.isLevelEnabled('info'),
      },
      cluster,
      stats,
      // Each connection's summary names its listener already.
      this.log,
    );
  }

  /** Stops discovery (and anything else that runs on timers) for this generation. */
  stop(): void {
    for (const source of this.sources.values()) source.stop();
    for (const health of this.health.values()) health.stop();
    for (const cluster of this.clusters.values()) cluster.release();
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** An endpoint of a running cluster as a discovery snapshot would list it. */
function asDiscovered(e: Endpoint): DiscoveredEndpoint {
  return {
    host: e.host,
    port: e.port,
    weight: e.weight,
    locality: e.locality,
    ready: (e.state.flags & Unavailable.DiscoveryNotReady) === 0,
    terminating: (e.state.flags & Unavailable.Draining) !== 0,
  };
}
