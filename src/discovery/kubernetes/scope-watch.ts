/**
 * One list+watch of EndpointSlices (and, when some cluster maps a Service port number, of
 * Services) over one scope: a whole namespace, every namespace, or one Service. Slices are
 * split into per-Service entries by their `kubernetes.io/service-name` label; a slice that
 * is relabelled moves to its new Service, and an entry with no slice and no Service left is
 * dropped, so memory follows the cluster.
 */
import type { Logger } from '../../core/log.js';
import type { KubeApi } from './api.js';
import { type InformerSink, type InformerTuning, ResilientInformer } from './informer.js';
import {
  type EndpointSliceInfo,
  parseEndpointSlice,
  parseService,
  SERVICE_LABEL,
  type ServiceInfo,
} from './objects.js';

export interface Scope {
  /** Explicit kubeconfig file; undefined for the default lookup. */
  kubeconfig?: string;
  /** Undefined: every namespace (a cluster-wide watch). */
  namespace?: string;
  /** Set: this Service only (a per-Service watch). */
  service?: string;
}

export function scopeId(scope: Scope): string {
  return `${scope.kubeconfig ?? ''}\u0000${scope.namespace ?? '*'}\u0000${scope.service ?? '*'}`;
}

/** What a scope knows of one Service, by `namespace/name`. */
export interface ServiceEntry {
  /**
   * Its slices, by name (all in the Service's namespace). An array, not a Map: most Services
   * have one to three slices, and a Map's table per Service costs more than a scan.
   */
  readonly slices: EndpointSliceInfo[];
  service: ServiceInfo | undefined;
}

export interface ScopeEvents {
  /** These Services' slices or Service changed (after the scope first synced). */
  changed(serviceIds: readonly string[]): void;
  /** An informer of the scope completed its first list. */
  synced(scope: ScopeWatch): void;
}

export class ScopeWatch {
  readonly services = new Map<string, ServiceEntry>();
  /** Handles reading this scope, or waiting for it to sync to move over. */
  users = 0;
  readonly description: string;
  private readonly sliceOwners = new Map<string, string>();
  private slices: ResilientInformer<EndpointSliceInfo> | undefined;
  private serviceInformer: ResilientInformer<ServiceInfo> | undefined;
  private wantServices = false;
  private stopped = true;
  private api: KubeApi | undefined;
  private setupFailures = 0;
  private setupTimer: NodeJS.Timeout | undefined;
  private setupError: string | undefined;
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private readonly log: Logger;

  constructor(
    readonly scope: Scope,
    private readonly tuning: InformerTuning,
    /** Shared per kubeconfig by KubernetesWatches; rejects with a reason to log. */
    private readonly connect: () => Promise<KubeApi>,
    logger: Logger,
    private readonly events: ScopeEvents,
  ) {
    const where = scope.namespace ?? '(all namespaces)';
    this.description = scope.service ? `${where}/${scope.service}` : where;
    this.log = logger.child({ kubernetes: this.description });
  }

  get slicesSynced(): boolean {
    return this.slices?.synced ?? false;
  }

  /** Synced for a reader that needs the Service objects too, or not. */
  isSynced(withServices: boolean): boolean {
    return this.slicesSynced && (!withServices || (this.serviceInformer?.synced ?? false));
  }

  get lastError(): string | undefined {
    return this.setupError ?? this.slices?.lastError ?? this.serviceInformer?.lastError;
  }

  /** The informers, for tests: resume versions, list outcomes. */
  get informers(): {
    slices?: ResilientInformer<EndpointSliceInfo>;
    services?: ResilientInformer<ServiceInfo>;
  } {
    return { slices: this.slices, services: this.serviceInformer };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect().then(
      (api) => this.setUp(api),
      (error) => this.setupFailed((error as Error).message),
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.setupTimer);
    this.slices?.stop();
    this.serviceInformer?.stop();
    this.slices = undefined;
    this.serviceInformer = undefined;
    this.services.clear();
    this.sliceOwners.clear();
  }

  /** Some reader maps Service port numbers: watch the Services as well. */
  needServices(): void {
    if (this.wantServices) return;
    this.wantServices = true;
    this.startServiceInformer();
  }

  private collection(group: string, resource: string): string {
    const { namespace } = this.scope;
    return `${group}${namespace === undefined ? '' : `/namespaces/${namespace}`}/${resource}`;
  }

  private setUp(api: KubeApi): void {
    if (this.stopped || this.slices) return;
    this.api = api;
    this.setupError = undefined;
    const { service } = this.scope;
    this.slices = new ResilientInformer(
      api,
      {
        description: `endpointslices ${this.description}`,
        path: this.collection('/apis/discovery.k8s.io/v1', 'endpointslices'),
        // Slices without the label belong to no Service (custom controllers); skip them.
        labelSelector: service ? `${SERVICE_LABEL}=${service}` : SERVICE_LABEL,
        parse: parseEndpointSlice,
      },
      this.tuning,
      this.log,
      this.sliceSink(),
    );
    this.slices.start();
    if (this.wantServices) this.startServiceInformer();
  }

  private startServiceInformer(): void {
    if (!this.api || this.serviceInformer || this.stopped) return;
    const { service } = this.scope;
    this.serviceInformer = new ResilientInformer(
      this.api,
      {
        description: `services ${this.description}`,
        path: this.collection('/api/v1', 'services'),
        ...(service ? { fieldSelector: `metadata.name=${service}` } : {}),
        parse: parseService,
      },
      this.tuning,
      this.log,
      this.serviceSink(),
    );
    this.serviceInformer.start();
  }

  private sliceSink(): InformerSink<EndpointSliceInfo> {
    let listedOnce = false;
    return {
      upsert: (key, slice) => {
        const namespace = key.slice(0, key.indexOf('/'));
        const owner = slice.service === undefined ? undefined : `${namespace}/${slice.service}`;
        const previous = this.sliceOwners.get(key);
        if (previous !== undefined && previous !== owner) this.removeSlice(previous, key);
        if (owner === undefined) {
          this.sliceOwners.delete(key);
          return;
        }
        const slices = this.entry(owner).slices;
        const at = slices.findIndex((s) => s.name === slice.name);
        if (at >= 0) slices[at] = slice;
        else slices.push(slice);
        this.sliceOwners.set(key, owner);
        this.mark(owner);
      },
      remove: (key) => {
        const owner = this.sliceOwners.get(key);
        if (owner === undefined) return;
        this.sliceOwners.delete(key);
        this.removeSlice(owner, key);
      },
      listed: () => {
        if (listedOnce) return;
        listedOnce = true;
        this.dirty.clear();
        this.events.synced(this);
      },
    };
  }

  private serviceSink(): InformerSink<ServiceInfo> {
    let listedOnce = false;
    return {
      upsert: (key, service) => {
        this.entry(key).service = service;
        this.mark(key);
      },
      remove: (key) => {
        const entry = this.services.get(key);
        if (!entry) return;
        entry.service = undefined;
        this.prune(key, entry);
        this.mark(key);
      },
      listed: () => {
        if (listedOnce) return;
        listedOnce = true;
        this.events.synced(this);
      },
    };
  }

  private entry(id: string): ServiceEntry {
    let entry = this.services.get(id);
    if (!entry) {
      entry = { slices: [], service: undefined };
      this.services.set(id, entry);
    }
    return entry;
  }

  private removeSlice(owner: string, key: string): void {
    const entry = this.services.get(owner);
    const name = key.slice(key.indexOf('/') + 1);
    const at = entry ? entry.slices.findIndex((s) => s.name === name) : -1;
    if (!entry || at < 0) return;
    entry.slices.splice(at, 1);
    this.prune(owner, entry);
    this.mark(owner);
  }

  /** A Service with nothing left is forgotten (its readers then see no slices). */
  private prune(id: string, entry: ServiceEntry): void {
    if (entry.slices.length === 0 && entry.service === undefined) this.services.delete(id);
  }

  /** Coalesces a burst (a list page, a rollout) into one notification per Service. */
  private mark(id: string): void {
    if (!this.slicesSynced) return; // the first list's end notifies everyone
    this.dirty.add(id);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.stopped || this.dirty.size === 0) return;
      const ids = [...this.dirty];
      this.dirty.clear();
      this.events.changed(ids);
    });
  }

  private setupFailed(reason: string): void {
    this.setupError = reason;
    this.setupFailures++;
    const delay = Math.min(
      this.tuning.maxBackoffMs,
      this.tuning.initialBackoffMs * 2 ** Math.min(this.setupFailures - 1, 20),
    );
    this.log.error({ error: reason, retryInMs: delay }, 'Kubernetes discovery cannot start; retrying');
    this.setupTimer = setTimeout(() => {
      if (this.stopped) return;
      this.stopped = true;
      this.start();
    }, delay);
    this.setupTimer.unref();
  }
}
