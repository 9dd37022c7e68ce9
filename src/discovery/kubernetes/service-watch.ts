/**
 * Everything Portside watches for one Kubernetes Service: its EndpointSlices (by the label
 * `kubernetes.io/service-name`) and, when some cluster names the Service port by number, the
 * Service itself. One ServiceWatch serves every cluster that names the same Service.
 */
import type { Logger } from '../../core/log.js';
import type { KubeClient } from './client.js';
import { type InformerTuning, ResilientInformer } from './informer.js';
import { type EndpointSliceInfo, parseEndpointSlice, parseService, type ServiceInfo } from './objects.js';

export interface ServiceKey {
  namespace: string;
  service: string;
  /** Explicit kubeconfig file; undefined for the default lookup. */
  kubeconfig?: string;
}

export function serviceKeyId(key: ServiceKey): string {
  return `${key.kubeconfig ?? ''}\u0000${key.namespace}\u0000${key.service}`;
}

type Listener = () => void;

export class ServiceWatch {
  private slices: ResilientInformer<EndpointSliceInfo> | undefined;
  private serviceInformer: ResilientInformer<ServiceInfo> | undefined;
  private readonly listeners = new Set<Listener>();
  private wantService = false;
  private stopped = true;
  private notifyScheduled = false;
  private setupFailures = 0;
  private setupTimer: NodeJS.Timeout | undefined;
  private setupError: string | undefined;
  private client: KubeClient | undefined;
  private readonly log: Logger;

  constructor(
    readonly key: ServiceKey,
    private readonly tuning: InformerTuning,
    /** Shared per kubeconfig by KubernetesWatches; rejects with a reason to log. */
    private readonly connect: () => Promise<KubeClient>,
    logger: Logger,
  ) {
    this.log = logger.child({ kubernetes: `${key.namespace}/${key.service}` });
  }

  /** `needsService`: the listener maps a Service port number, so the Service is read too. */
  subscribe(listener: Listener, needsService: boolean): void {
    this.listeners.add(listener);
    if (needsService && !this.wantService) {
      this.wantService = true;
      this.startServiceInformer();
    }
    if (this.stopped) this.start();
    else if (this.synced) this.scheduleNotify();
  }

  /** Returns how many listeners remain; at zero the watch has stopped. */
  unsubscribe(listener: Listener): number {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stop();
    return this.listeners.size;
  }

  get synced(): boolean {
    return (this.slices?.synced ?? false) && (!this.wantService || (this.serviceInformer?.synced ?? false));
  }

  /** Serving the last known objects while the watch is failing. */
  get stale(): boolean {
    return this.synced && this.lastError !== undefined;
  }

  get lastError(): string | undefined {
    return this.setupError ?? this.slices?.lastError ?? this.serviceInformer?.lastError;
  }

  get endpointSlices(): Iterable<EndpointSliceInfo> {
    return this.slices?.current.values() ?? [];
  }

  get service(): ServiceInfo | undefined {
    return this.serviceInformer?.current.get(this.key.service);
  }

  private start(): void {
    this.stopped = false;
    this.connect().then(
      (client) => this.setUp(client),
      (error) => this.setupFailed((error as Error).message),
    );
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.setupTimer);
    this.slices?.stop();
    this.serviceInformer?.stop();
    this.slices = undefined;
    this.serviceInformer = undefined;
  }

  private setUp(client: KubeClient): void {
    if (this.stopped || this.slices) return;
    this.client = client;
    this.setupError = undefined;
    const { namespace, service } = this.key;
    const labelSelector = `kubernetes.io/service-name=${service}`;
    this.slices = new ResilientInformer(
      client,
      {
        description: `endpointslices ${namespace}/${service}`,
        path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
        labelSelector,
        list: (api) => api.discovery.listNamespacedEndpointSlice({ namespace, labelSelector }),
        parse: parseEndpointSlice,
      },
      this.tuning,
      this.log,
      () => this.scheduleNotify(),
    );
    this.slices.start();
    if (this.wantService) this.startServiceInformer();
  }

  private startServiceInformer(): void {
    if (!this.client || this.serviceInformer || this.stopped) return;
    const { namespace, service } = this.key;
    const fieldSelector = `metadata.name=${service}`;
    this.serviceInformer = new ResilientInformer(
      this.client,
      {
        description: `service ${namespace}/${service}`,
        path: `/api/v1/namespaces/${namespace}/services`,
        fieldSelector,
        list: (api) => api.core.listNamespacedService({ namespace, fieldSelector }),
        parse: parseService,
      },
      this.tuning,
      this.log,
      () => this.scheduleNotify(),
    );
    this.serviceInformer.start();
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
      if (!this.stopped) this.start();
    }, delay);
    this.setupTimer.unref();
  }

  /** Coalesces a burst (a list delivers every object one by one) into one notification. */
  private scheduleNotify(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      if (this.stopped || !this.synced) return;
      for (const listener of this.listeners) {
        try {
          listener();
        } catch (error) {
          this.log.error({ error: (error as Error).message }, 'endpoint listener threw; ignored');
        }
      }
    });
  }
}
