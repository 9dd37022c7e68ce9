import type {
  Config,
  ListenerConfig,
  TcpListenerConfig,
  TlsPassthroughListenerConfig,
  UdpListenerConfig,
} from '../config/schema.js';
import { ms } from '../config/values.js';
import { defaultNamespace } from '../discovery/kubernetes/kubeconfig.js';
import { parseServiceHost } from '../discovery/kubernetes/service-host.js';
import type { DiscoverySource } from '../discovery/source.js';
import type { DiscoverySyncCounts } from '../discovery/sync-counts.js';
import type { ClusterHealth } from '../health/cluster-health.js';
import { TcpProxyHandler } from '../l4/tcp-proxy.js';
import { UdpProxyHandler } from '../l4/udp-proxy.js';
import { httpProxyModule } from '../l7/load.js';
import type { UpstreamPoolOwner } from '../l7/upstream-pools.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import type { DatagramHandler, UdpListener } from '../listeners/udp-listener.js';
import { ServerNameTable } from '../tls/server-names.js';
import { TlsPassthroughHandler } from '../tls/tls-passthrough.js';
import type { TlsGeneration } from '../tls/tls-registry.js';
import { TlsTerminator } from '../tls/tls-terminator.js';
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
      /** Certificates of the listeners that terminate TLS. */
      tls?: TlsGeneration;
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
        if (k.namespace === undefined) ownNamespace ??= defaultNamespace();
        const id = `${k.namespace ?? ownNamespace}/${k.service}`;
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

  createHandler(
    listener: Exclude<ListenerConfig, UdpListenerConfig>,
    stats: ListenerStats,
  ): ConnectionHandler {
    if (listener.protocol === 'tls') return this.createPassthroughHandler(listener, stats);
    const handler = this.createPlainHandler(listener, stats);
    if (!listener.tls) return handler;
    const tls = this.deps.tls?.listeners.get(listener.name);
    if (!tls) throw new Error(`listener "${listener.name}": TLS certificates were not loaded`);
    // HTTP listeners offer HTTP/2 and HTTP/1.1 by ALPN; tcp listeners offer what tls.alpn says.
    const alpn = listener.protocol === 'http' ? ['h2', 'http/1.1'] : undefined;
    return new TlsTerminator(handler, tls, this.log.child({ listener: listener.name }), alpn, stats);
  }

  private createPlainHandler(
    listener: Exclude<ListenerConfig, UdpListenerConfig | TlsPassthroughListenerConfig>,
    stats: ListenerStats,
  ): ConnectionHandler {
    if (listener.protocol === 'http') {
      const log = this.log.child({ listener: listener.name });
      const { HttpProxyHandler } = httpProxyModule();
      const pools = this.deps.upstreamPools?.();
      const catalog = this.deps.catalog?.config.listeners.includes(listener.name)
        ? {
            route: this.deps.catalog.config.route,
            cluster: (host: string | undefined) => this.catalogCluster(host),
            whenListed: (cluster: Cluster) => this.deps.catalog!.whenListed(cluster),
          }
        : undefined;
      return new HttpProxyHandler(listener, (name) => this.clusters.get(name), log, stats, pools, catalog);
    }
    return this.createTcpHandler(listener, listener.cluster, stats);
  }

  /** `protocol: tls`: one tcp handler per cluster, chosen per connection by the ClientHello's SNI. */
  private createPassthroughHandler(
    listener: TlsPassthroughListenerConfig,
    stats: ListenerStats,
  ): ConnectionHandler {
    const byCluster = new Map<string, TcpProxyHandler>();
    const handlerFor = (cluster: string) => {
      let handler = byCluster.get(cluster);
      if (!handler) {
        handler = this.createTcpHandler(listener, cluster, stats);
        byCluster.set(cluster, handler);
      }
      return handler;
    };
    const routes = new ServerNameTable<ConnectionHandler>();
    for (const route of listener.routes) {
      for (const name of route.sni) routes.add(name, handlerFor(route.cluster));
    }
    const fallback = listener.defaultCluster === undefined ? undefined : handlerFor(listener.defaultCluster);
    return new TlsPassthroughHandler(
      routes,
      fallback,
      [...byCluster.values()],
      ms(listener.helloTimeout),
      stats,
      this.log.child({ listener: listener.name }),
    );
  }

  private createTcpHandler(
    listener: TcpListenerConfig | TlsPassthroughListenerConfig,
    clusterName: string,
    stats: ListenerStats,
  ): TcpProxyHandler {
    const cluster = this.clusterOf({ name: listener.name, cluster: clusterName });
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

  createDatagramHandler(listener: UdpListenerConfig, bound: UdpListener): DatagramHandler {
    const cluster = this.clusterOf(listener);
    return new UdpProxyHandler(
      {
        listener: listener.name,
        idleTimeoutMs: ms(listener.idleTimeout),
        maxSessions: listener.maxSessions,
        replyTimeoutMs: listener.replyTimeout === undefined ? undefined : ms(listener.replyTimeout),
        logsEachSession: () => this.log.isLevelEnabled('info'),
      },
      cluster,
      bound,
      this.log,
    );
  }

  private clusterOf(listener: { name: string; cluster: string }): Cluster {
    const cluster = this.clusters.get(listener.cluster);
    if (!cluster) throw new Error(`listener "${listener.name}" names unknown cluster "${listener.cluster}"`);
    return cluster;
  }
}
