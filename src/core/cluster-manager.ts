/**
 * The one owner of clusters across config generations, as Envoy's cluster manager is for
 * CDS. A cluster lives as long as its name is in the config: a reload that leaves a
 * cluster's config alone keeps its `Cluster`, discovery source and health checker running
 * untouched, and a reload that changes it replaces only the part that changed:
 *
 * - discovery (`endpoints`, `discovery`): a new source starts beside the old one and warms
 *   up without writing anything; it takes over (the old one stops) at the swap, or at its
 *   first snapshot if it has none by then, so the cluster is never empty meanwhile;
 * - `balancing` (and `node`): the picker is replaced at the swap;
 * - health (`healthCheck`, `outlierDetection`, `panicThreshold`): the old checker stops and
 *   the new one starts at the swap, continuing the counters kept in the HealthRegistry.
 *
 * So each piece of mutable state has one writer at any moment: one source applies snapshots,
 * one checker probes, and discovery and health write availability through the cluster's one
 * HealthReporter. A generation (`Runtime`) only holds references to what this manager owns.
 */
import {
  AffinityRegistry,
  balancingObservers,
  createPicker,
  type Picker,
  resolveSelfLocality,
} from '../balancing/index.js';
import type { ClusterConfig, Config } from '../config/schema.js';
import { createDiscoverySource, SharedDiscovery } from '../discovery/index.js';
import type { DiscoveredEndpoint, DiscoverySource } from '../discovery/source.js';
import { DiscoverySyncCounts } from '../discovery/sync-counts.js';
import { ClusterHealth } from '../health/cluster-health.js';
import { HealthRegistry } from '../health/registry.js';
import { HealthReporter } from '../health/reporter.js';
import { Catalog, type CatalogDeps } from './catalog.js';
import { Cluster, type OutcomeObserver } from './cluster.js';
import { EndpointStateRegistry } from './endpoint.js';
import type { ProxyEvents } from './events.js';
import type { Logger } from './log.js';

export interface ClusterManagerDeps {
  logger: Logger;
  events: ProxyEvents;
  /** Makes each cluster's discovery source; tests inject sources they control. */
  createSource?: typeof createDiscoverySource;
  /** How often health re-reads endpoint lists and re-counts for panic mode (default 1s). */
  healthRefreshMs?: number;
  /** Discovery is the main thread's verdict relayed (a worker thread): its changes are logged at debug. */
  relayedDiscovery?: boolean;
  /** Called with every cluster built, config or catalog (a worker thread counts their outcomes). */
  onCluster?: (cluster: Cluster) => void;
  /** A worker thread's catalog: Services and endpoint lists from the main thread (default: its own watches). */
  catalogFeed?: Pick<CatalogDeps, 'watches' | 'whenListed'>;
}

/** What one generation sees of one cluster: the parts that serve it while that generation is current. */
export interface ClusterView {
  readonly cluster: Cluster;
  readonly source: DiscoverySource;
  readonly health: ClusterHealth;
}

/** A cluster's config cut into the parts a reload can replace one by one (as JSON, to compare). */
interface Parts {
  discovery: string;
  balancing: string;
  /** Everything else (healthCheck, outlierDetection, panicThreshold, and any later key). */
  health: string;
}

function partsOf(c: ClusterConfig, node: Config['node']): Parts {
  // Validated configs are plain data with keys in schema order, so JSON compares them exactly.
  const { name: _, endpoints, discovery, balancing, upstreamProtocol: __, tls: ___, ...health } = c;
  return {
    discovery: JSON.stringify({ endpoints, discovery }),
    balancing: JSON.stringify({ balancing, node }),
    health: JSON.stringify(health),
  };
}

/** What a cluster built outside the config's list (the catalog's) needs no reload comparison for. */
const NO_PARTS: Parts = { discovery: '', balancing: '', health: '' };

/** A cluster outside the config's list, owned by whoever built it (the catalog). */
export interface DetachedCluster {
  readonly cluster: Cluster;
  readonly source: DiscoverySource;
  /** Stops its discovery and health and releases its endpoint states. */
  retire(): void;
}

/** A source that started for a changed cluster and has not taken over yet. */
interface Incoming {
  source: DiscoverySource;
  /** Its latest snapshot, applied when it takes over. */
  snapshot: DiscoveredEndpoint[] | undefined;
  /** The swap happened: take over at the first snapshot. */
  committed: boolean;
}

/** One cluster, for as long as its name is in the config. */
class ManagedCluster {
  readonly cluster: Cluster;
  /** The cluster's one availability writer; its change callback re-checks the current panic guard. */
  readonly reporter: HealthReporter;
  health: ClusterHealth | undefined;
  incoming: Incoming | undefined;
  balancingObservers: OutcomeObserver[] = [];

  constructor(
    readonly name: string,
    public parts: Parts,
    picker: Picker,
    /** The one source applying snapshots to the cluster. */
    public source: DiscoverySource,
    manager: ClusterManager,
    deps: ClusterManagerDeps,
  ) {
    this.reporter = new HealthReporter(
      name,
      deps.events,
      deps.logger,
      () => this.health?.panic.evaluate(),
      deps.relayedDiscovery,
    );
    this.cluster = new Cluster(name, picker, manager.states, this.reporter);
    deps.onCluster?.(this.cluster);
  }

  retire(): void {
    this.source.stop();
    this.incoming?.source.stop();
    this.incoming = undefined;
    this.health?.stop();
    this.cluster.release();
  }
}

/** One cluster's share of a reload: what is built for it and waits for the swap. */
interface Change {
  entry: ManagedCluster;
  added: boolean;
  parts: Parts;
  /** A new source that must deliver before the cluster counts as warm. */
  source?: DiscoverySource;
  /** An earlier reload's source still waiting for its first snapshot, replaced by `source` at the swap. */
  replaces?: Incoming;
  picker?: { picker: Picker; observers: OutcomeObserver[] };
  health?: ClusterHealth;
}

/**
 * A reload's clusters, prepared beside the running ones. Nothing running changes until
 * `commit` (new clusters, which nothing else writes, discover right away); `abandon`
 * stops what was built.
 */
export class ClusterUpdate {
  private done = false;

  constructor(
    private readonly manager: ClusterManager,
    readonly config: Config,
    /** What the new generation sees, by cluster name. */
    readonly views: ReadonlyMap<string, ClusterView>,
    private readonly changes: readonly Change[],
    private readonly removed: readonly string[],
    /** The catalog the new generation routes with: the running one, or one built for it. */
    readonly catalog: Catalog | undefined,
  ) {}

  /** Names of the clusters that get a new source, an added cluster or a changed discovery. */
  get discovering(): string[] {
    return this.changes.filter((c) => c.source).map((c) => c.entry.name);
  }

  /**
   * Resolves once every new source has delivered its first snapshot, or after `timeoutMs`,
   * with the names of the clusters still waiting. Unchanged clusters are warm already.
   */
  whenWarm(timeoutMs: number): Promise<string[]> {
    const waiting = () =>
      this.changes.filter((c) => c.source && !this.manager.hasDelivered(c.source)).map((c) => c.entry.name);
    if (waiting().length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const check = () => {
        if (waiting().length > 0) return;
        finish();
      };
      const finish = () => {
        clearTimeout(timer);
        this.manager.deliveries.delete(check);
        resolve(waiting());
      };
      const timer = setTimeout(finish, timeoutMs);
      this.manager.deliveries.add(check);
    });
  }

  commit(): void {
    if (this.done) return;
    this.done = true;
    this.manager.commit(this.config, this.changes, this.removed, this.catalog);
  }

  abandon(): void {
    if (this.done) return;
    this.done = true;
    this.manager.abandon(this.changes, this.catalog);
  }
}

export class ClusterManager {
  readonly states = new EndpointStateRegistry();
  /** Session-affinity bindings by cluster name: clients keep their endpoint across reloads. */
  readonly affinity = new AffinityRegistry();
  /** Health counters and ejections, keyed by endpoint state. */
  readonly health = new HealthRegistry();
  /** Snapshots delivered per cluster and source, across reloads. */
  readonly syncs = new DiscoverySyncCounts();
  /** DNS answers and Kubernetes watches shared by the sources of every cluster. */
  readonly discovery: SharedDiscovery;
  private readonly live = new Map<string, ManagedCluster>();
  /** Sources that delivered at least one snapshot (warm). */
  private readonly delivered = new WeakSet<DiscoverySource>();
  /** Called after every snapshot (ClusterUpdate.whenWarm). */
  readonly deliveries = new Set<() => void>();
  private preparing: ClusterUpdate | undefined;
  /** The running catalog, and what its config was (with `node`, which its pickers read). */
  private catalog: { catalog: Catalog; key: string } | undefined;
  private readonly log: Logger;

  constructor(private readonly deps: ClusterManagerDeps) {
    this.log = deps.logger;
    this.discovery = new SharedDiscovery(deps.logger);
  }

  /** Clusters running now, by name. */
  get size(): number {
    return this.live.size;
  }

  hasDelivered(source: DiscoverySource): boolean {
    return this.delivered.has(source);
  }

  /**
   * Builds what `config` adds or changes beside what runs, and starts discovery for it.
   * One update at a time: the proxy applies configs one after another.
   */
  prepare(config: Config): ClusterUpdate {
    if (this.preparing) throw new Error('a cluster update is already in progress');
    const views = new Map<string, ClusterView>();
    const changes: Change[] = [];
    try {
      this.build(config, views, changes);
    } catch (error) {
      this.abandon(changes);
      throw error;
    }
    const wanted = new Set(config.clusters.map((c) => c.name));
    const removed = [...this.live.keys()].filter((name) => !wanted.has(name));
    this.preparing = new ClusterUpdate(this, config, views, changes, removed, this.catalogFor(config));
    return this.preparing;
  }

  /** The running catalog when the config keeps it as it is, else a new one, started (it shares the watches). */
  private catalogFor(config: Config): Catalog | undefined {
    if (!config.catalog) return undefined;
    const key = JSON.stringify({ catalog: config.catalog, node: config.node });
    if (this.catalog?.key === key) return this.catalog.catalog;
    const catalog = new Catalog(config.catalog, config.node, {
      watches: this.discovery.kubernetes,
      ...this.deps.catalogFeed,
      build: (c, node) => this.buildDetached(c, node),
      logger: this.log,
    });
    catalog.start();
    return catalog;
  }

  private build(config: Config, views: Map<string, ClusterView>, changes: Change[]): void {
    const self = resolveSelfLocality(config.node);
    for (const c of config.clusters) {
      const parts = partsOf(c, config.node);
      const existing = this.live.get(c.name);
      if (existing?.health && JSON.stringify(existing.parts) === JSON.stringify(parts)) {
        views.set(c.name, { cluster: existing.cluster, source: existing.source, health: existing.health });
        continue;
      }
      const picker = () => {
        const built = createPicker(c.balancing, { cluster: c.name, affinity: this.affinity, self });
        return { picker: built, observers: balancingObservers(c.balancing) };
      };
      let change: Change;
      if (!existing) {
        const built = picker();
        const source = this.createSource(c);
        const entry = new ManagedCluster(c.name, parts, built.picker, source, this, this.deps);
        entry.balancingObservers = built.observers;
        entry.cluster.observers.push(...built.observers);
        this.live.set(c.name, entry);
        change = { entry, added: true, parts, source };
        // Nothing else writes a new cluster's endpoints: its source applies at once.
        this.startSource(entry, source);
      } else {
        change = { entry: existing, added: false, parts };
        if (existing.parts.discovery !== parts.discovery) {
          const source = this.createSource(c);
          change.replaces = existing.incoming;
          existing.incoming = { source, snapshot: undefined, committed: false };
          change.source = source;
          this.startSource(existing, source);
        }
        if (existing.parts.balancing !== parts.balancing) change.picker = picker();
      }
      const entry = change.entry;
      if (change.added || entry.parts.health !== parts.health) {
        change.health = new ClusterHealth(entry.cluster, c, {
          registry: this.health,
          events: this.deps.events,
          log: this.log,
          reporter: entry.reporter,
          refreshIntervalMs: this.deps.healthRefreshMs,
        });
      }
      changes.push(change);
      views.set(c.name, {
        cluster: entry.cluster,
        source: change.source ?? entry.source,
        health: change.health ?? entry.health!,
      });
    }
  }

  /** The swap: replaced parts take over, removed clusters stop. */
  commit(
    config: Config,
    changes: readonly Change[],
    removed: readonly string[],
    catalog: Catalog | undefined,
  ): void {
    this.preparing = undefined;
    if (this.catalog?.catalog !== catalog) {
      this.catalog?.catalog.stop();
      this.catalog = catalog && {
        catalog,
        key: JSON.stringify({ catalog: config.catalog, node: config.node }),
      };
    }
    for (const change of changes) {
      const entry = change.entry;
      const incoming = entry.incoming;
      change.replaces?.source.stop();
      if (!change.added && change.source && incoming?.source === change.source) {
        incoming.committed = true;
        if (incoming.snapshot) this.takeOver(entry, incoming);
      }
      if (change.picker) {
        entry.cluster.replacePicker(change.picker.picker);
        const observers = entry.cluster.observers;
        for (const old of entry.balancingObservers) {
          const at = observers.indexOf(old);
          if (at >= 0) observers.splice(at, 1);
        }
        observers.push(...change.picker.observers);
        entry.balancingObservers = change.picker.observers;
      }
      if (change.health) {
        entry.health?.stop();
        entry.health = change.health;
        change.health.start();
      }
      entry.parts = change.parts;
    }
    for (const c of config.clusters) {
      const entry = this.live.get(c.name);
      if (entry) entry.cluster.upstreamProtocol = c.upstreamProtocol;
    }
    for (const name of removed) {
      this.live.get(name)?.retire();
      this.live.delete(name);
    }
    this.affinity.retainOnly([
      ...config.clusters.filter((c) => c.balancing.affinity).map((c) => c.name),
      ...(catalog?.clusters().map((c) => c.name) ?? []),
    ]);
  }

  /** The reload failed: stop what it built; the running clusters never saw it. */
  abandon(changes: readonly Change[], catalog?: Catalog): void {
    this.preparing = undefined;
    if (catalog && catalog !== this.catalog?.catalog) catalog.stop();
    for (const change of changes) {
      const entry = change.entry;
      if (change.added) {
        entry.retire();
        this.live.delete(entry.name);
      } else if (change.source && entry.incoming?.source === change.source) {
        change.source.stop();
        entry.incoming = change.replaces;
      }
    }
  }

  /**
   * Builds and starts a cluster that no config lists (a catalog Service port): discovery,
   * picker and health as `c` says. It is not in `live`, so reloads leave it alone; its owner
   * retires it.
   */
  buildDetached(c: ClusterConfig, node: Config['node']): DetachedCluster {
    const picker = createPicker(c.balancing, {
      cluster: c.name,
      affinity: this.affinity,
      self: resolveSelfLocality(node),
    });
    const source = this.createSource(c);
    const entry = new ManagedCluster(c.name, NO_PARTS, picker, source, this, this.deps);
    entry.cluster.observers.push(...balancingObservers(c.balancing));
    entry.cluster.upstreamProtocol = c.upstreamProtocol;
    const health = new ClusterHealth(entry.cluster, c, {
      registry: this.health,
      events: this.deps.events,
      log: this.log,
      reporter: entry.reporter,
      refreshIntervalMs: this.deps.healthRefreshMs,
    });
    entry.health = health;
    this.startSource(entry, source);
    health.start();
    return {
      cluster: entry.cluster,
      source,
      retire: () => {
        entry.retire();
        this.syncs.forget(c.name, source.description);
        this.affinity.forget(c.name);
        // Its list is gone (worker threads forget their copy).
        this.deps.events.emit('endpoints', c.name);
      },
    };
  }

  /** Stops every cluster (shutdown). */
  stop(): void {
    // Every watch is aborted at once first; the clusters then let go of stopped watches.
    this.discovery.stop();
    this.catalog?.catalog.stop();
    this.catalog = undefined;
    for (const entry of this.live.values()) entry.retire();
    this.live.clear();
  }

  private createSource(c: ClusterConfig): DiscoverySource {
    const create = this.deps.createSource ?? createDiscoverySource;
    return create(c, this.discovery.depsFor(c, this.log.child({ cluster: c.name })));
  }

  private startSource(entry: ManagedCluster, source: DiscoverySource): void {
    source.start((endpoints) => this.deliver(entry, source, endpoints));
  }

  /** Every snapshot of every source: applied by the cluster's active source, kept by an incoming one. */
  private deliver(entry: ManagedCluster, source: DiscoverySource, endpoints: DiscoveredEndpoint[]): void {
    const incoming = entry.incoming;
    if (source === entry.source) this.apply(entry, source, endpoints);
    else if (source === incoming?.source) {
      incoming.snapshot = endpoints;
      if (incoming.committed) this.takeOver(entry, incoming);
    } else return; // a source that was replaced or abandoned, delivering late
    this.syncs.record(entry.name, source.description);
    if (!this.delivered.has(source)) {
      this.delivered.add(source);
      for (const check of [...this.deliveries]) check();
    }
  }

  private takeOver(entry: ManagedCluster, incoming: Incoming): void {
    entry.incoming = undefined;
    entry.source.stop();
    entry.source = incoming.source;
    this.apply(entry, incoming.source, incoming.snapshot!);
  }

  private apply(
    entry: ManagedCluster,
    source: DiscoverySource,
    endpoints: readonly DiscoveredEndpoint[],
  ): void {
    // A source's first list counts as a change even when empty: worker threads wait for it.
    if (!entry.cluster.setEndpoints(endpoints) && this.delivered.has(source)) return;
    this.deps.events.emit('endpoints', entry.name);
    this.log.debug(
      { cluster: entry.name, endpoints: entry.cluster.endpoints.length, source: source.description },
      'endpoints updated',
    );
    entry.health?.refresh();
  }
}
