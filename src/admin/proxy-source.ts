/**
 * The AdminSource of a running ProxyServer: reads its live generation, listeners and
 * reload history at request time.
 */

import { resolveSelfLocality } from '../balancing/locality.js';
import { routeLabel } from '../config/route-label.js';
import type { ListenerConfig } from '../config/schema.js';
import type { Cluster } from '../core/cluster.js';
import type { ReloadResult } from '../core/events.js';
import type { AnyListener, ProxyServer } from '../core/proxy.js';
import { redactUrls } from '../core/secrets.js';
import type { ExplainWorld } from '../explain/world.js';
import { DURATION_BOUNDS_S } from '../listeners/duration-histogram.js';
import type { ListenerStats } from '../listeners/listener.js';
import { resourceErrors } from '../listeners/resource-errors.js';
import { UdpListener } from '../listeners/udp-listener.js';
import type { Registration } from '../registry/registration.js';
import type {
  AdminSource,
  CatalogStatus,
  DiscoveryStatus,
  ListenerStatus,
  RegistrationStatus,
  RouteStatus,
} from './source.js';

/** What /registrations reads: the registrar of `portside run`. */
export interface RegistrationsSource {
  readonly entries: readonly Registration[];
}

export class ProxyAdminSource implements AdminSource {
  /** The config each listener last served, so one that a reload removed is still described while it drains. */
  private readonly lastConfig = new WeakMap<AnyListener, ListenerConfig>();

  constructor(
    private readonly proxy: ProxyServer,
    private readonly reloads: { readonly lastResult: ReloadResult | undefined },
    private readonly registrar?: RegistrationsSource,
  ) {
    this.rememberListenerConfigs();
    proxy.events.on('reload', () => this.rememberListenerConfigs());
  }

  get events() {
    return this.proxy.events;
  }

  config() {
    return this.proxy.current?.config;
  }

  version() {
    return this.proxy.version;
  }

  lastReload() {
    return this.reloads.lastResult;
  }

  listeners(): ListenerStatus[] {
    this.rememberListenerConfigs();
    const live = this.proxy.activeListeners.map((l) => this.describe(l, false));
    return live.concat(this.proxy.drainingListeners.map((l) => this.describe(l, true)));
  }

  clusters(): readonly Cluster[] {
    const runtime = this.proxy.current;
    return [...(runtime?.clusters.values() ?? []), ...(runtime?.catalog?.clusters() ?? [])];
  }

  catalog(): CatalogStatus | undefined {
    const catalog = this.proxy.current?.catalog;
    if (!catalog) return undefined;
    const lastError = catalog.lastError;
    return {
      description: catalog.description,
      synced: catalog.synced,
      ...(lastError !== undefined ? { lastError: redactUrls(lastError) } : {}),
      services: catalog.services(),
    };
  }

  discovery(): DiscoveryStatus[] {
    const runtime = this.proxy.current;
    const sources = new Map(runtime?.discoverySources());
    for (const [name, source] of runtime?.catalog?.sources() ?? []) sources.set(name, source);
    const catalog = runtime?.catalog;
    // The catalog's own watches: /ready waits for their first list.
    const statuses: DiscoveryStatus[] = catalog
      ? [
          {
            cluster: 'catalog',
            description: catalog.description,
            synced: catalog.synced,
            ...(catalog.lastError !== undefined
              ? { stale: catalog.synced, lastError: redactUrls(catalog.lastError) }
              : {}),
          },
        ]
      : [];
    return statuses.concat(
      [...sources].map(([cluster, source]) => {
        const syncs = runtime?.snapshotStats(cluster);
        return {
          cluster,
          description: redactUrls(source.description),
          synced: source.synced,
          syncsTotal: syncs?.count ?? 0,
          lastSyncAt: syncs?.lastAt,
          ...(source.stale !== undefined ? { stale: source.stale } : {}),
          ...(source.lastError !== undefined ? { lastError: redactUrls(source.lastError) } : {}),
        };
      }),
    );
  }

  explainWorld(): ExplainWorld | undefined {
    const runtime = this.proxy.current;
    if (!runtime) return undefined;
    return {
      mode: 'live',
      config: runtime.config,
      now: Date.now(),
      self: resolveSelfLocality(runtime.config.node),
      cluster: (name) => runtime.clusters.get(name) ?? runtime.catalog?.clusterNamed(name),
      catalogCluster: (host) => runtime.catalogCluster(host),
      catalogClusterConfig: (name) => runtime.catalog?.clusterConfig(name),
      healthMemory: (endpoint) => this.proxy.clusters.health.memoryFor(endpoint),
      boundAddress: (name) => {
        const listener = this.proxy.listener(name);
        return listener?.bound ? listener.boundAddress : undefined;
      },
    };
  }

  draining() {
    return this.proxy.isDraining;
  }

  resourceErrors() {
    return resourceErrors.snapshot();
  }

  certificates() {
    return this.proxy.tls.certificates();
  }

  tlsErrors() {
    return this.proxy.tls.errors;
  }

  registrations(): RegistrationStatus[] {
    return (this.registrar?.entries ?? []).map((r) => ({
      service: r.entry.service,
      key: r.key,
      state: r.state,
      ttl: r.entry.ttl,
      ...(r.lastError !== undefined ? { lastError: redactUrls(r.lastError) } : {}),
    }));
  }

  async drain() {
    await this.proxy.shutdown();
  }

  private rememberListenerConfigs(): void {
    const config = this.proxy.current?.config;
    if (!config) return;
    for (const listener of this.proxy.activeListeners) {
      const l = config.listeners.find((c) => c.name === listener.name);
      if (l) this.lastConfig.set(listener, l);
    }
  }

  private describe(listener: AnyListener, draining: boolean): ListenerStatus {
    const config = this.lastConfig.get(listener) as (ListenerConfig & { routes?: unknown }) | undefined;
    return {
      name: listener.name,
      protocol: config?.protocol ?? 'tcp',
      address: listener.configuredAddress,
      boundAddress: listener.bound ? listener.boundAddress : undefined,
      bound: listener.bound,
      cluster: config && 'cluster' in config ? config.cluster : undefined,
      activeConnections: listener.openConnections,
      connectionsTotal: listener.stats.connectionsTotal,
      rejectedTotal: listener.stats.rejectedTotal,
      draining: draining || this.proxy.isDraining,
      bytesReceived: listener.stats.bytesReceived,
      bytesSent: listener.stats.bytesSent,
      ...(listener.stats.tlsErrors.size > 0
        ? { tlsErrors: Object.fromEntries(listener.stats.tlsErrors) }
        : {}),
      // A tls (passthrough) listener's routes are server names, not HTTP routes with counters.
      routes:
        config?.protocol === 'http'
          ? this.withCatalog(listener, routesOf(config.routes, listener.stats))
          : undefined,
      ...(config?.protocol === 'http'
        ? {
            responses: listener.stats.responses.entries(),
            requestDurations: { bounds: DURATION_BOUNDS_S, ...listener.stats.requestDurations },
          }
        : {}),
      ...(listener instanceof UdpListener
        ? {
            datagramsReceived: listener.stats.datagramsReceived,
            datagramsSent: listener.stats.datagramsSent,
            droppedDatagrams: { ...listener.stats.dropped },
          }
        : {}),
    };
  }

  /** A listener the catalog routes on lists it as its last route, `catalog`, with its counters. */
  private withCatalog(listener: AnyListener, routes: RouteStatus[] | undefined): RouteStatus[] | undefined {
    const catalog = this.proxy.current?.catalog;
    if (!routes || !catalog?.config.listeners.includes(listener.name)) return routes;
    const counters = listener.stats.routeCounters('catalog');
    return routes.concat({
      name: 'catalog',
      cluster: catalog.description,
      requestsTotal: counters.requestsTotal,
      errorsTotal: counters.errorsTotal,
      retriesTotal: counters.retriesTotal,
    });
  }
}

/** HTTP routes as the admin API lists them (L7 listeners only), with their counters. */
function routesOf(routes: unknown, stats: ListenerStats): RouteStatus[] | undefined {
  if (!Array.isArray(routes)) return undefined;
  return routes.map((r: RouteLike, i) => {
    const name = routeLabel(r, i);
    const counters = stats.routeCounters(name);
    return {
      name,
      cluster: r.cluster ?? (r.weightedClusters ?? []).map((w) => `${w.cluster}:${w.weight}`).join(', '),
      requestsTotal: counters.requestsTotal,
      errorsTotal: counters.errorsTotal,
      retriesTotal: counters.retriesTotal,
      grpcStatus: grpcStatusCounts(counters.grpcStatus),
      responses: counters.responses.entries(),
    };
  });
}

function grpcStatusCounts(counts: readonly number[] | undefined): Record<string, number> | undefined {
  if (counts === undefined) return undefined;
  const out: Record<string, number> = {};
  counts.forEach((count, status) => {
    if (count > 0) out[status] = count;
  });
  return out;
}

interface RouteLike {
  name?: string;
  match?: Record<string, unknown>;
  cluster?: string;
  weightedClusters?: { cluster: string; weight: number }[];
}
