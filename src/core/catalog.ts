/**
 * The Service catalog (`catalog` in the config): every Service of some namespaces, or of
 * the whole cluster, that matches a label selector, each TCP port of each a cluster made
 * from one template. It reads the shared Kubernetes watches (one per namespace, or one
 * cluster-wide, with the Service objects), so it costs no API request per Service.
 *
 * A Service port's cluster is built at its first request (`build: firstRequest`) or when
 * the Service appears (`serviceAdded`), and retired when the Service goes, stops matching
 * the selector, or loses that port. Owned by the cluster manager: a reload that keeps the
 * catalog's config keeps it and its clusters.
 */
import type { CatalogConfig, ClusterConfig, Config } from '../config/schema.js';
import { ms } from '../config/values.js';
import { type LabelSelector, parseLabelSelector } from '../discovery/kubernetes/label-selector.js';
import type { ServiceInfo, ServicePortInfo } from '../discovery/kubernetes/objects.js';
import type { Scope } from '../discovery/kubernetes/scope-watch.js';
import type { ServiceHost } from '../discovery/kubernetes/service-host.js';
import type { ScopeReader } from '../discovery/kubernetes/watches.js';
import type { DiscoverySource } from '../discovery/source.js';
import type { Cluster } from './cluster.js';
import type { DetachedCluster } from './cluster-manager.js';
import type { Logger } from './log.js';

/** One Service port a Host resolved to. */
export interface CatalogTarget {
  namespace: string;
  service: string;
  port: ServicePortInfo;
  /** The Service has this one TCP port only (an explicit cluster without `port` then matches it). */
  onlyPort: boolean;
}

/** A Service of the catalog as the admin API lists it. */
export interface CatalogServiceStatus {
  service: string;
  namespace: string;
  ports: { name: string; port: number }[];
  /** Names of the clusters built for its ports. */
  clusters: string[];
}

/** The Services of one scope as the catalog reads them (a ScopeWatch, or a worker thread's copy). */
export interface ServiceScope {
  readonly scope: Scope;
  /** By `namespace/name`. */
  readonly services: ReadonlyMap<string, { readonly service: ServiceInfo | undefined }>;
  isSynced(withServices: boolean): boolean;
  readonly lastError: string | undefined;
}

/** Where the catalog reads Services: the shared Kubernetes watches, or the main thread's table (workers). */
export interface ServiceScopes {
  watchScope(scope: Scope, reader: ScopeReader): ServiceScope;
  unwatchScope(scope: ServiceScope, reader: ScopeReader): void;
}

export interface CatalogDeps {
  watches: ServiceScopes;
  /** Builds and starts one Service port's cluster (ClusterManager.buildDetached). */
  build: (config: ClusterConfig, node: Config['node']) => DetachedCluster;
  logger: Logger;
  /**
   * A worker thread's: resolves once the cluster has the main thread's endpoint list (asked
   * for when it has none yet); undefined when it has one. The main thread discovers itself.
   */
  whenListed?: (cluster: string) => Promise<void> | undefined;
}

/** The scopes a catalog config watches: one per namespace, or one cluster-wide. */
export function catalogScopes(config: CatalogConfig): Scope[] {
  const { namespaces, kubeconfig } = config.kubernetes;
  const base: Scope = kubeconfig === undefined ? {} : { kubeconfig };
  return namespaces === 'all' ? [base] : namespaces.map((namespace) => ({ ...base, namespace }));
}

const TCP = 'TCP';

export class Catalog {
  private readonly scopes: ServiceScope[] = [];
  /** Built clusters by name (`svc.ns:port`). */
  private readonly built = new Map<string, Built>();
  /** Retires clusters without a request for a whole round (`idleTimeout`). */
  private idleTimer: NodeJS.Timeout | undefined;
  /** Names of the built clusters of each Service, by `namespace/name`. */
  private readonly byService = new Map<string, string[]>();
  private readonly selector: LabelSelector | undefined;
  private readonly reader: ScopeReader;
  private stopped = false;
  /** With `idleTimeout`: clusters that took a request since `takeRecentlyUsed` (a worker reports them). */
  private readonly recent: Set<string> | undefined;

  constructor(
    readonly config: CatalogConfig,
    private readonly node: Config['node'],
    private readonly deps: CatalogDeps,
  ) {
    const { selector } = config.kubernetes;
    const parsed = selector === undefined ? undefined : parseLabelSelector(selector);
    this.selector = parsed && 'selector' in parsed ? parsed.selector : undefined;
    this.recent = config.idleTimeout === undefined ? undefined : new Set();
    this.reader = {
      changed: (ids) => this.changed(ids),
      synced: () => {
        if (this.config.build === 'serviceAdded') this.buildAll();
      },
    };
  }

  start(): void {
    for (const scope of catalogScopes(this.config))
      this.scopes.push(this.deps.watches.watchScope(scope, this.reader));
    const { idleTimeout } = this.config;
    if (idleTimeout !== undefined)
      this.idleTimer = setInterval(() => this.retireIdle(), Math.max(1, ms(idleTimeout))).unref();
  }

  /** Retires every cluster and lets go of the watches (a reload that dropped or changed the catalog; shutdown). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.idleTimer);
    for (const scope of this.scopes) this.deps.watches.unwatchScope(scope, this.reader);
    for (const built of this.built.values()) built.detached.retire();
    this.built.clear();
    this.byService.clear();
  }

  /** Every watch has listed its slices and Services once. */
  get synced(): boolean {
    return this.scopes.every((s) => s.isSynced(true));
  }

  get lastError(): string | undefined {
    for (const scope of this.scopes) if (scope.lastError !== undefined) return scope.lastError;
    return undefined;
  }

  get description(): string {
    const { namespaces, selector } = this.config.kubernetes;
    const where = namespaces === 'all' ? '(all namespaces)' : namespaces.join(',');
    return `kubernetes catalog ${where}${selector ? ` -l ${selector}` : ''}`;
  }

  /** The Service port `host` names, if the catalog has that Service and port. */
  resolve(host: ServiceHost): CatalogTarget | undefined {
    const service = this.serviceInfo(host.namespace, `${host.namespace}/${host.service}`);
    if (!service) return undefined;
    const tcp = service.ports.filter((p) => p.protocol === TCP);
    const { port } = host;
    const match =
      port === undefined
        ? tcp[0]
        : typeof port === 'number'
          ? tcp.find((p) => p.port === port)
          : tcp.find((p) => p.name === port);
    if (!match) return undefined;
    return { namespace: host.namespace, service: host.service, port: match, onlyPort: tcp.length === 1 };
  }

  /** The cluster of a resolved Service port, built now if it was not. */
  cluster(target: CatalogTarget): Cluster {
    const name = clusterName(target.namespace, target.service, target.port.port);
    const built =
      this.built.get(name) ?? this.build(target.namespace, target.service, target.port.port, name);
    built.used = true;
    this.recent?.add(name);
    return built.cluster;
  }

  /**
   * A worker thread uses this cluster (by name): built now if its Service port is still in
   * the catalog, and kept as used for `idleTimeout`. Undefined when the port is gone.
   */
  keep(name: string): Cluster | undefined {
    const colon = name.lastIndexOf(':');
    const dot = name.indexOf('.');
    if (colon < 0 || dot <= 0 || dot > colon) return undefined;
    const target = this.resolve({
      service: name.slice(0, dot),
      namespace: name.slice(dot + 1, colon),
      port: portOf(name),
    });
    return target && this.cluster(target);
  }

  /**
   * With `idleTimeout`, names of the clusters that took a request since the last call: a
   * worker thread reports them so that the main thread keeps them. Empty without idleTimeout.
   */
  takeRecentlyUsed(): string[] {
    if (!this.recent || this.recent.size === 0) return [];
    const names = [...this.recent];
    this.recent.clear();
    return names;
  }

  /** Resolves once a cluster the catalog built has its endpoint list (a worker thread's wait; else undefined). */
  whenListed(cluster: Cluster): Promise<void> | undefined {
    if (this.built.get(cluster.name)?.cluster !== cluster) return undefined;
    return this.deps.whenListed?.(cluster.name);
  }

  /** A cluster built now, by name (`orders.shop:8080`). */
  clusterNamed(name: string): Cluster | undefined {
    return this.built.get(name)?.cluster;
  }

  /** The config a built cluster was made from. */
  clusterConfig(name: string): ClusterConfig | undefined {
    return this.built.get(name)?.config;
  }

  /** Clusters built now. */
  clusters(): Cluster[] {
    return [...this.built.values()].map((b) => b.cluster);
  }

  /** The discovery source of each cluster built now, by cluster name. */
  sources(): [string, DiscoverySource][] {
    return [...this.built].map(([name, b]) => [name, b.detached.source]);
  }

  /** Every Service the catalog holds (watched, matching the selector), with its built clusters. */
  services(): CatalogServiceStatus[] {
    const list: CatalogServiceStatus[] = [];
    for (const scope of this.scopes) {
      for (const [id, entry] of scope.services) {
        const service = entry.service;
        if (!service || !this.selects(service.labels)) continue;
        const namespace = id.slice(0, id.indexOf('/'));
        list.push({
          service: service.name,
          namespace,
          ports: service.ports.filter((p) => p.protocol === TCP).map(({ name, port }) => ({ name, port })),
          clusters: this.byService.get(id) ?? [],
        });
      }
    }
    return list;
  }

  private selects(labels: Readonly<Record<string, string>> | undefined): boolean {
    return this.selector === undefined || this.selector.matches(labels);
  }

  private serviceInfo(namespace: string, id: string) {
    for (const scope of this.scopes) {
      if (scope.scope.namespace !== undefined && scope.scope.namespace !== namespace) continue;
      const service = scope.services.get(id)?.service;
      return service && this.selects(service.labels) ? service : undefined;
    }
    return undefined;
  }

  private build(namespace: string, service: string, port: number, name: string): Built {
    const { kubeconfig, namespaces } = this.config.kubernetes;
    const config: ClusterConfig = {
      name,
      discovery: {
        kubernetes: {
          service,
          namespace,
          port,
          ...(kubeconfig === undefined ? {} : { kubeconfig }),
          // The catalog's own watch serves it: no per-Service watch ever starts.
          watch: namespaces === 'all' ? 'cluster' : 'namespace',
        },
      },
      ...this.config.template,
    };
    const detached = this.deps.build(config, this.node);
    const built: Built = { detached, cluster: detached.cluster, config, used: false };
    this.built.set(name, built);
    const id = `${namespace}/${service}`;
    const names = this.byService.get(id);
    if (names) names.push(name);
    else this.byService.set(id, [name]);
    this.deps.logger.debug({ cluster: name }, 'catalog: cluster built');
    return built;
  }

  /** Services that changed: retire clusters of ports that are gone; build new ones if eager. */
  private changed(ids: readonly string[]): void {
    if (this.stopped) return;
    for (const id of ids) {
      const namespace = id.slice(0, id.indexOf('/'));
      const service = this.serviceInfo(namespace, id);
      const names = this.byService.get(id);
      if (names) {
        const ports = new Set(service?.ports.filter((p) => p.protocol === TCP).map((p) => p.port));
        const keep = names.filter((name) => ports.has(portOf(name)));
        for (const name of names) if (!keep.includes(name)) this.retire(name);
        if (keep.length > 0) this.byService.set(id, keep);
        else this.byService.delete(id);
      }
      if (service && this.config.build === 'serviceAdded') this.buildPorts(namespace, service);
    }
  }

  private buildAll(): void {
    if (this.stopped) return;
    for (const scope of this.scopes)
      for (const [id, entry] of scope.services) {
        const service = entry.service;
        if (service && this.selects(service.labels)) this.buildPorts(id.slice(0, id.indexOf('/')), service);
      }
  }

  private buildPorts(namespace: string, service: { name: string; ports: readonly ServicePortInfo[] }): void {
    for (const port of service.ports) {
      if (port.protocol !== TCP) continue;
      const name = clusterName(namespace, service.name, port.port);
      if (!this.built.has(name)) this.build(namespace, service.name, port.port, name);
    }
  }

  private retire(name: string): void {
    this.built.get(name)?.detached.retire();
    this.built.delete(name);
    this.deps.logger.debug({ cluster: name }, 'catalog: cluster retired');
  }

  /** Clusters that took no request since the last round go; the others start a new round. */
  private retireIdle(): void {
    this.recent?.clear(); // nobody takes them in the main thread
    for (const [name, built] of this.built) {
      if (built.used) {
        built.used = false;
        continue;
      }
      this.retire(name);
      const id = serviceIdOf(name);
      const rest = (this.byService.get(id) ?? []).filter((n) => n !== name);
      if (rest.length > 0) this.byService.set(id, rest);
      else this.byService.delete(id);
    }
  }
}

/** A built cluster, and whether a request used it since the last idle round. */
interface Built {
  readonly detached: DetachedCluster;
  readonly cluster: Cluster;
  readonly config: ClusterConfig;
  used: boolean;
}

/** `orders.shop:8080` → `shop/orders`. */
function serviceIdOf(name: string): string {
  const host = name.slice(0, name.lastIndexOf(':'));
  const dot = host.indexOf('.');
  return `${host.slice(dot + 1)}/${host.slice(0, dot)}`;
}

/** `orders.shop:8080`: no config cluster can have this name (`:` is not allowed there). */
function clusterName(namespace: string, service: string, port: number): string {
  return `${service}.${namespace}:${port}`;
}

function portOf(name: string): number {
  return Number(name.slice(name.lastIndexOf(':') + 1));
}
