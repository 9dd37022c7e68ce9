/**
 * What the clusters naming one Kubernetes Service read: that Service's slices (and Service
 * object) from whichever scope watch serves it now — its own per-Service watch, or the
 * shared watch of its namespace or of the whole cluster. One ServiceWatch serves every
 * cluster that names the same Service; moving it to another scope happens only once the
 * new scope has listed, so its readers never see an empty moment.
 */
import type { Logger } from '../../core/log.js';
import type { EndpointSliceInfo, ServiceInfo } from './objects.js';
import type { ScopeWatch } from './scope-watch.js';

/** How a Service is watched: `auto` picks per-Service or namespace-wide by how many are named. */
export type WatchMode = 'auto' | 'service' | 'namespace' | 'cluster';

export interface ServiceKey {
  namespace: string;
  service: string;
  /** Explicit kubeconfig file; undefined for the default lookup. */
  kubeconfig?: string;
  /** Default `auto`. */
  watch?: WatchMode;
}

export function serviceKeyId(key: ServiceKey): string {
  return `${key.kubeconfig ?? ''}\u0000${key.namespace}\u0000${key.service}\u0000${key.watch ?? 'auto'}`;
}

type Listener = () => void;

const NO_SLICES: readonly EndpointSliceInfo[] = [];

export class ServiceWatch {
  /** `namespace/name`, the key of this Service in every scope. */
  readonly id: string;
  /** An array, not a Set: one or two listeners per Service, thousands of Services. */
  readonly listeners: Listener[] = [];
  needsService = false;
  /** The scope read now. */
  scope: ScopeWatch | undefined;
  /** A scope this Service moves to once it has synced. */
  next: ScopeWatch | undefined;
  private notifyScheduled = false;

  constructor(
    readonly key: ServiceKey,
    private readonly log: Logger,
  ) {
    this.id = `${key.namespace}/${key.service}`;
  }

  get synced(): boolean {
    return this.scope?.isSynced(this.needsService) ?? false;
  }

  /** Serving the last known objects while the watch is failing. */
  get stale(): boolean {
    return this.synced && this.lastError !== undefined;
  }

  get lastError(): string | undefined {
    return this.scope?.lastError;
  }

  get endpointSlices(): Iterable<EndpointSliceInfo> {
    return this.scope?.services.get(this.id)?.slices ?? NO_SLICES;
  }

  get service(): ServiceInfo | undefined {
    return this.scope?.services.get(this.id)?.service;
  }

  /** Coalesces a burst into one call of each listener, on the next turn. */
  scheduleNotify(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      this.notify();
    });
  }

  notify(): void {
    if (!this.synced) return;
    // A listener may let go while being told (its cluster stopped): iterate a copy.
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.log.error(
          { service: this.id, error: (error as Error).message },
          'endpoint listener threw; ignored',
        );
      }
    }
  }
}
