import type { Config, ListenerConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import { defaultNamespace } from '../discovery/kubernetes/kubeconfig.js';
import { parseServiceHost } from '../discovery/kubernetes/service-host.js';
import type { DiscoverySource } from '../discovery/source.js';
import type { DiscoverySyncCounts } from '../discovery/sync-counts.js';
import type { ClusterHealth } from '../health/cluster-health.js';
import { TcpProxyHandler } from '../l4/tcp-proxy.js';
import { httpProxyModule } from '../l7/load.js';
import type { UpstreamPoolOwner } from '../l7/upstream-pools.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import type { Catalog, CatalogTarget } from './catalog.js';
import type { Cluster } from './cluster.js';
import type { ClusterView } from './cluster-manager.js';
import type { Logger } from './log.js';

/**
 * One config generation: the config, the handlers its listeners use, and references to the
 * clusters (with their discovery source and health) as the cluster manager runs them for
 * this config. The manager owns those; a generation starts and stops nothing, so retiring
 * one leaves every cluster that the next config keeps running. Connections keep the handler,
 * and so the clusters, they started with.
 */
export class Runtime {
  readonly clusters: ReadonlyMap<string, Cluster>;
  /** Config clusters with Kubernetes discovery, by `namespace/service` (built at the first catalog request). */
  private explicitByService: Map<string, { port: string | number | undefined; name: string }[]> | undefined;

  constructor(
    readonly config: Config,
    readonly version: number,
    private readonly views: ReadonlyMap<string, ClusterView>,
    private readonly deps: {
      logger: Logger;
      syncs: DiscoverySyncCounts;
      /** The proxy's upstream pools of HTTP listeners, kept across generations. */
      upstreamPools?: () => UpstreamPoolOwner;
      /** The Service catalog this generation routes with (owned by the cluster manager). */
      catalog?: Catalog;
    },
  ) {
    this.clusters = new Map([...views].map(([name, view]) => [name, view.cluster]));
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  /** Active checks, outlier detection and panic mode of one cluster as this generation runs it. */
  clusterHealth(name: string): ClusterHealth | undefined {
    return this.views.get(name)?.health;
  }

  get catalog(): Catalog | undefined {
    return this.deps.catalog;
  }

  /** True once every discovery source has delivered its first snapshot (and the catalog has listed). */
  get synced(): boolean {
    for (const view of this.views.values()) if (!view.source.synced) return false;
    return this.deps.catalog?.synced ?? true;
  }

  /**
   * The cluster for a catalog Host: a config cluster that discovers the same Service port
   * wins (its own balancing and health), else the catalog's, built on first use.
   */
  catalogCluster(host: string | undefined): Cluster | undefined {
    const catalog = this.deps.catalog;
    const named =
      host === undefined || !catalog
        ? undefined
        : parseServiceHost(host, catalog.config.kubernetes.clusterDomain);
    const target = named && catalog!.resolve(named);
    if (!target) return undefined;
    const explicit = this.explicitCluster(target);
    return explicit ?? catalog!.cluster(target);
  }

  private explicitCluster(target: CatalogTarget): Cluster | undefined {
    if (!this.explicitByService) {
      this.explicitByService = new Map();
      let ownNamespace: string | undefined; // read once: it may be a file
      for (const c of this.config.clusters) {
        const k = c.discovery?.kubernetes;
        if (!k) continue;
        const id = `${k.namespace ?? (ownNamespace ??= defaultNamespace())}/${k.service}`;
        const list = this.explicitByService.get(id) ?? [];
        list.push({ port: k.port, name: c.name });
        this.explicitByService.set(id, list);
      }
    }
    const { port, onlyPort } = target;
    const found = this.explicitByService
      .get(`${target.namespace}/${target.service}`)
      ?.find(
        (c) =>
          c.port === port.port ||
          (c.port !== undefined && c.port === port.name) ||
          (c.port === undefined && onlyPort),
      );
    return found && this.clusters.get(found.name);
  }

  /** How many snapshots the cluster's source delivered (in every generation), and when the last arrived. */
  snapshotStats(cluster: string): { count: number; lastAt: number } | undefined {
    const source = this.views.get(cluster)?.source;
    return source && this.deps.syncs.of(cluster, source.description);
  }

  discoverySources(): ReadonlyMap<string, DiscoverySource> {
    return new Map([...this.views].map(([name, view]) => [name, view.source]));
  }

  createHandler(listener: ListenerConfig, stats: ListenerStats): ConnectionHandler {
    if (listener.protocol === 'http') {
      const log = this.log.child({ listener: listener.name });
      const { HttpProxyHandler } = httpProxyModule();
      const pools = this.deps.upstreamPools?.();
      const catalog = this.deps.catalog?.config.listeners.includes(listener.name)
        ? {
            route: this.deps.catalog.config.route,
            cluster: (host: string | undefined) => this.catalogCluster(host),
          }
        : undefined;
      return new HttpProxyHandler(listener, (name) => this.clusters.get(name), log, stats, pools, catalog);
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
}
