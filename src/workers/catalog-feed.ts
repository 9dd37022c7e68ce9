/**
 * The main thread's side of the workers' Service catalog. The catalog's watches run here
 * only: this feed reads the same scopes (a second reader of each shared watch, so no API
 * request of its own) and posts each scope's Services to the workers (fed-services.ts).
 * Clusters are built here too, when a worker asks for one it lacks the list of or reports
 * one it uses (so `idleTimeout` counts the workers' requests); their lists then reach the
 * workers with the other clusters' (endpoint-lists.ts).
 */
import type { CatalogConfig } from '../config/schema.js';
import { catalogScopes } from '../core/catalog.js';
import type { ProxyServer } from '../core/proxy.js';
import type { ServiceInfo } from '../discovery/kubernetes/objects.js';
import { type ScopeWatch, scopeId } from '../discovery/kubernetes/scope-watch.js';
import type { ScopeReader } from '../discovery/kubernetes/watches.js';
import { endpointList } from './endpoint-lists.js';
import type { EndpointLists, ServiceTable } from './messages.js';

interface Followed {
  watch: ScopeWatch;
  reader: ScopeReader;
  /** What the workers were sent, by Service id (the Service objects are replaced on change). */
  sent: Map<string, ServiceInfo>;
}

export class CatalogFeed {
  private readonly followed = new Map<string, Followed>();

  constructor(
    private readonly proxy: ProxyServer,
    private readonly post: (tables: ServiceTable[]) => void,
  ) {}

  /** Reads the scopes of the applied config's catalog, and no others. */
  follow(catalog: CatalogConfig | undefined): void {
    const watches = this.proxy.clusters.discovery.kubernetes;
    const wanted = new Map((catalog ? catalogScopes(catalog) : []).map((s) => [scopeId(s), s]));
    for (const [id, scope] of wanted) {
      if (this.followed.has(id)) continue;
      const reader: ScopeReader = {
        changed: (ids) => {
          const table = this.changes(followed, ids);
          if (table.services.length > 0) this.post([table]);
        },
        synced: () => this.post([this.whole(followed)]),
      };
      const followed: Followed = { watch: watches.watchScope(scope, reader), reader, sent: new Map() };
      this.followed.set(id, followed);
    }
    for (const [id, { watch, reader }] of this.followed) {
      if (wanted.has(id)) continue;
      watches.unwatchScope(watch, reader);
      this.followed.delete(id);
    }
  }

  /** Every table whole, for a worker's apply. */
  tables(): ServiceTable[] {
    return [...this.followed.values()].map((f) => this.whole(f));
  }

  close(): void {
    this.follow(undefined);
  }

  /** A worker's clusters: built if they are not (and still exist), and marked used. */
  keep(names: readonly string[]): void {
    const catalog = this.proxy.current?.catalog;
    for (const name of names) catalog?.keep(name);
  }

  /**
   * A worker asked for these clusters' lists. One built just now sends its list to every
   * worker when its discovery first delivers (an `endpoints` event); the answer has the
   * others: lists already known, and null for ports the catalog does not have (any more).
   */
  answer(names: readonly string[]): EndpointLists {
    const catalog = this.proxy.current?.catalog;
    const lists: EndpointLists = {};
    for (const name of names) {
      const before = catalog?.clusterNamed(name);
      const cluster = catalog?.keep(name);
      if (!cluster) lists[name] = null;
      else if (before === cluster && this.delivered(name)) lists[name] = endpointList(cluster);
    }
    return lists;
  }

  private delivered(name: string): boolean {
    const source = this.proxy.current?.catalog?.sources().find(([n]) => n === name)?.[1];
    return source !== undefined && this.proxy.clusters.hasDelivered(source);
  }

  private whole(followed: Followed): ServiceTable {
    followed.sent.clear();
    const services: ServiceTable['services'] = [];
    for (const [id, entry] of followed.watch.services) {
      if (!entry.service) continue;
      followed.sent.set(id, entry.service);
      services.push([id, entry.service]);
    }
    return { scope: followed.watch.scope, whole: true, synced: followed.watch.isSynced(true), services };
  }

  /** Only Services whose object changed: slice changes reach the workers as endpoint lists. */
  private changes(followed: Followed, ids: readonly string[]): ServiceTable {
    const services: ServiceTable['services'] = [];
    for (const id of ids) {
      const service = followed.watch.services.get(id)?.service;
      if (service === followed.sent.get(id)) continue;
      if (service) followed.sent.set(id, service);
      else followed.sent.delete(id);
      services.push([id, service ?? null]);
    }
    return { scope: followed.watch.scope, whole: false, synced: followed.watch.isSynced(true), services };
  }
}
