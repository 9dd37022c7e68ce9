/**
 * The process-wide set of Kubernetes watches, owned by the cluster manager (it outlives
 * config generations, so a reload that keeps a cluster keeps its watch).
 *
 * Each Service a cluster names gets one ServiceWatch, shared by every cluster naming it. It
 * reads from a scope watch, chosen by the cluster's `watch` setting:
 *
 * - `service`: a list+watch of this Service's slices alone (label selector);
 * - `namespace`: one list+watch of every slice of the namespace, shared by all its Services;
 * - `cluster`: one list+watch of every slice in every namespace;
 * - `auto` (default): per-Service while a namespace has at most `namespaceWatchAbove`
 *   Services named (a sidecar naming two Services does not receive a whole namespace), one
 *   namespace-wide watch beyond that (API requests and connections O(namespaces), not
 *   O(Services)). Once namespace-wide, a namespace stays so until no cluster names it.
 *
 * Sources started together (a config's clusters) are placed together on the next turn, so
 * a config naming many Services of a namespace never starts their per-Service watches.
 */
import type { Logger } from '../../core/log.js';
import type { KubeApi } from './api.js';
import { connectKubernetes } from './client.js';
import { DEFAULT_INFORMER_TUNING, type InformerTuning } from './informer.js';
import { type Scope, ScopeWatch, scopeId } from './scope-watch.js';
import { type ServiceKey, ServiceWatch, serviceKeyId } from './service-watch.js';

export interface WatchTuning extends InformerTuning {
  /** In `auto`, a namespace with more Services named than this gets one namespace-wide watch. */
  namespaceWatchAbove: number;
}

/** Reads a whole scope rather than one Service (the catalog). */
export interface ScopeReader {
  /** These Services (`namespace/name`) changed: slices or the Service object. */
  changed(serviceIds: readonly string[]): void;
  /** The scope listed its slices and Services (again after a restart of the watch). */
  synced(): void;
}

export const DEFAULT_WATCH_TUNING: WatchTuning = { ...DEFAULT_INFORMER_TUNING, namespaceWatchAbove: 3 };

export class KubernetesWatches {
  private readonly handles = new Map<string, ServiceWatch>();
  private readonly scopes = new Map<string, ScopeWatch>();
  /** Readers of each scope, by Service id (`namespace/name`). */
  private readonly readers = new Map<ScopeWatch, Map<string, ServiceWatch[]>>();
  /** Readers of whole scopes (the catalog). */
  private readonly scopeReaders = new Map<ScopeWatch, ScopeReader[]>();
  /** Services named with `watch: auto`, by kubeconfig and namespace. */
  private readonly autoCounts = new Map<string, number>();
  /** One client per kubeconfig, shared by every scope that uses it. */
  private readonly clients = new Map<string, Promise<KubeApi>>();
  private readonly tuning: WatchTuning;
  private placeScheduled = false;
  private stopped = false;

  constructor(
    private readonly logger: Logger,
    tuning: Partial<WatchTuning> = {},
  ) {
    this.tuning = { ...DEFAULT_WATCH_TUNING, ...tuning };
  }

  subscribe(key: ServiceKey, listener: () => void, needsService: boolean): ServiceWatch {
    // After shutdown a late source gets a watch that never starts.
    if (this.stopped) return new ServiceWatch(key, this.logger);
    const id = serviceKeyId(key);
    let handle = this.handles.get(id);
    if (!handle) {
      handle = new ServiceWatch(key, this.logger);
      this.handles.set(id, handle);
      if ((key.watch ?? 'auto') === 'auto') this.count(key, 1);
    }
    if (!handle.listeners.includes(listener)) handle.listeners.push(listener);
    if (needsService && !handle.needsService) {
      handle.needsService = true;
      handle.scope?.needServices();
      handle.next?.needServices();
    }
    if (!handle.scope) {
      // A scope that already runs (another cluster's, or the last generation's) serves at once.
      const running = this.scopes.get(scopeId(this.target(handle)));
      if (running) this.attach(handle, running);
      else this.placeSoon();
    } else if (handle.synced) handle.scheduleNotify();
    return handle;
  }

  unsubscribe(handle: ServiceWatch, listener: () => void): void {
    if (this.stopped) return; // shutdown: every watch has stopped already
    const at = handle.listeners.indexOf(listener);
    if (at >= 0) handle.listeners.splice(at, 1);
    if (handle.listeners.length > 0) return;
    const id = serviceKeyId(handle.key);
    if (this.handles.get(id) !== handle) return;
    this.handles.delete(id);
    if ((handle.key.watch ?? 'auto') === 'auto') this.count(handle.key, -1);
    if (handle.scope) this.detach(handle, handle.scope);
    if (handle.next) this.release(handle.next);
    handle.scope = handle.next = undefined;
  }

  /**
   * Reads every Service of `scope` (a namespace, or every namespace) with its Service
   * objects, sharing the watch with clusters that name Services there.
   */
  watchScope(scope: Scope, reader: ScopeReader): ScopeWatch {
    // After shutdown a late reader gets a scope that never starts.
    if (this.stopped)
      return new ScopeWatch(scope, this.tuning, () => this.client(scope.kubeconfig), this.logger, {
        changed: () => {},
        synced: () => {},
      });
    const watch = this.scopeFor(scope);
    watch.users++;
    watch.needServices();
    const readers = this.scopeReaders.get(watch);
    if (readers) readers.push(reader);
    else this.scopeReaders.set(watch, [reader]);
    if (watch.isSynced(true)) setImmediate(() => reader.synced());
    return watch;
  }

  unwatchScope(watch: ScopeWatch, reader: ScopeReader): void {
    if (this.stopped) return;
    const rest = (this.scopeReaders.get(watch) ?? []).filter((r) => r !== reader);
    if (rest.length > 0) this.scopeReaders.set(watch, rest);
    else this.scopeReaders.delete(watch);
    this.release(watch);
  }

  /** Stops every watch and closes the connections (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const scope of this.scopes.values()) scope.stop();
    this.scopes.clear();
    this.readers.clear();
    this.scopeReaders.clear();
    for (const client of this.clients.values())
      client.then(
        (api) => api.close(),
        () => {},
      );
    this.clients.clear();
  }

  /** Services watched right now. */
  get size(): number {
    return this.handles.size;
  }

  /** Scope watches running now (each one list+watch of slices, plus one of Services if needed). */
  get scopeWatches(): ScopeWatch[] {
    return [...this.scopes.values()];
  }

  private count(key: ServiceKey, delta: number): void {
    const id = `${key.kubeconfig ?? ''}\u0000${key.namespace}`;
    const count = (this.autoCounts.get(id) ?? 0) + delta;
    if (count > 0) this.autoCounts.set(id, count);
    else this.autoCounts.delete(id);
  }

  private target(handle: ServiceWatch): Scope {
    const { kubeconfig, namespace, service, watch = 'auto' } = handle.key;
    const base = kubeconfig === undefined ? {} : { kubeconfig };
    if (watch === 'cluster') return base;
    const wide = { ...base, namespace };
    if (watch === 'namespace') return wide;
    const own = { ...wide, service };
    if (watch === 'service') return own;
    // A cluster-wide watch already running (the catalog's) serves every namespace.
    if (this.scopes.has(scopeId(base))) return base;
    const many =
      (this.autoCounts.get(`${kubeconfig ?? ''}\u0000${namespace}`) ?? 0) > this.tuning.namespaceWatchAbove;
    return many || this.scopes.has(scopeId(wide)) ? wide : own;
  }

  private placeSoon(): void {
    if (this.placeScheduled) return;
    this.placeScheduled = true;
    setImmediate(() => {
      this.placeScheduled = false;
      this.place();
    });
  }

  /** Gives every Service the scope it should read, moving those whose namespace went wide. */
  private place(): void {
    for (const handle of this.handles.values()) {
      const target = this.target(handle);
      const current = handle.next ?? handle.scope;
      if (current && scopeId(current.scope) === scopeId(target)) continue;
      const scope = this.scopeFor(target);
      if (!handle.scope) {
        this.attach(handle, scope);
        continue;
      }
      if (handle.next) this.release(handle.next);
      handle.next = scope;
      scope.users++;
      if (handle.needsService) scope.needServices();
      if (scope.isSynced(handle.needsService)) this.promote(handle);
    }
  }

  private scopeFor(scope: Scope): ScopeWatch {
    const id = scopeId(scope);
    let watch = this.scopes.get(id);
    if (!watch) {
      watch = new ScopeWatch(scope, this.tuning, () => this.client(scope.kubeconfig), this.logger, {
        changed: (ids) => this.changed(watch!, ids),
        synced: (synced) => this.synced(synced),
      });
      this.scopes.set(id, watch);
      this.readers.set(watch, new Map());
      // A shared watch is news for an operator; one per Service (a sidecar's few) is not.
      const level = scope.service === undefined ? 'info' : 'debug';
      this.logger[level]({ kubernetes: watch.description }, 'Kubernetes watch started');
      watch.start();
    }
    return watch;
  }

  private attach(handle: ServiceWatch, scope: ScopeWatch): void {
    handle.scope = scope;
    scope.users++;
    if (handle.needsService) scope.needServices();
    const readers = this.readers.get(scope)!;
    const list = readers.get(handle.id);
    if (list) list.push(handle);
    else readers.set(handle.id, [handle]);
    if (handle.synced) handle.scheduleNotify();
  }

  private detach(handle: ServiceWatch, scope: ScopeWatch): void {
    const readers = this.readers.get(scope);
    const list = readers?.get(handle.id);
    if (list) {
      const rest = list.filter((h) => h !== handle);
      if (rest.length > 0) readers!.set(handle.id, rest);
      else readers!.delete(handle.id);
    }
    this.release(scope);
  }

  private release(scope: ScopeWatch): void {
    if (--scope.users > 0) return;
    scope.stop();
    this.scopes.delete(scopeId(scope.scope));
    this.readers.delete(scope);
    this.scopeReaders.delete(scope);
  }

  /** The new scope has listed: its waiting Services move over, its readers hear of it. */
  private promote(handle: ServiceWatch): void {
    const next = handle.next!;
    handle.next = undefined;
    if (handle.scope) this.detach(handle, handle.scope);
    handle.scope = undefined;
    this.attach(handle, next);
    // attach took a second use of `next`; the one taken when it was chosen is handed back.
    next.users--;
  }

  private synced(scope: ScopeWatch): void {
    for (const handle of this.handles.values()) {
      if (handle.next === scope && scope.isSynced(handle.needsService)) this.promote(handle);
    }
    for (const list of this.readers.get(scope)?.values() ?? [])
      for (const handle of list) handle.scheduleNotify();
    if (scope.isSynced(true)) for (const reader of this.scopeReaders.get(scope) ?? []) reader.synced();
  }

  private changed(scope: ScopeWatch, ids: readonly string[]): void {
    const readers = this.readers.get(scope);
    if (readers) for (const id of ids) for (const handle of readers.get(id) ?? []) handle.notify();
    for (const reader of this.scopeReaders.get(scope) ?? []) reader.changed(ids);
  }

  private client(kubeconfig: string | undefined): Promise<KubeApi> {
    const id = kubeconfig ?? '';
    let client = this.clients.get(id);
    if (!client) {
      client = connectKubernetes(kubeconfig);
      // A failure (no kubeconfig yet) is retried by the watch; do not keep it.
      client.catch(() => {
        if (this.clients.get(id) === client) this.clients.delete(id);
      });
      this.clients.set(id, client);
    }
    return client;
  }
}
