/**
 * The process-wide set of Kubernetes watches: one ServiceWatch per (kubeconfig, namespace,
 * service), shared by every cluster that names it and stopped when the last one lets go.
 * It lives outside any config generation, so a reload that keeps a cluster keeps its watch.
 */
import type { Logger } from '../../core/log.js';
import { connectKubernetes, type KubeClient } from './client.js';
import { DEFAULT_INFORMER_TUNING, type InformerTuning } from './informer.js';
import { type ServiceKey, ServiceWatch, serviceKeyId } from './service-watch.js';

export class KubernetesWatches {
  private readonly watches = new Map<string, ServiceWatch>();
  private readonly tuning: InformerTuning;
  /** One library client per kubeconfig, shared by every watch that uses it. */
  private readonly clients = new Map<string, Promise<KubeClient>>();

  constructor(
    private readonly logger: Logger,
    tuning: Partial<InformerTuning> = {},
  ) {
    this.tuning = { ...DEFAULT_INFORMER_TUNING, ...tuning };
  }

  subscribe(key: ServiceKey, listener: () => void, needsService: boolean): ServiceWatch {
    const id = serviceKeyId(key);
    let watch = this.watches.get(id);
    if (!watch) {
      watch = new ServiceWatch(key, this.tuning, () => this.client(key.kubeconfig), this.logger);
      this.watches.set(id, watch);
    }
    watch.subscribe(listener, needsService);
    return watch;
  }

  unsubscribe(watch: ServiceWatch, listener: () => void): void {
    if (watch.unsubscribe(listener) === 0) this.watches.delete(serviceKeyId(watch.key));
  }

  private client(kubeconfig: string | undefined): Promise<KubeClient> {
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

  /** Services watched right now. */
  get size(): number {
    return this.watches.size;
  }
}
