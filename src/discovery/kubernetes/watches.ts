/**
 * The process-wide set of Kubernetes watches: one ServiceWatch per (kubeconfig, namespace,
 * service), shared by every cluster that names it and stopped when the last one lets go.
 * It lives outside any config generation, so a reload that keeps a cluster keeps its watch.
 */
import type { Logger } from '../../core/log.js';
import { DEFAULT_INFORMER_TUNING, type InformerTuning } from './informer.js';
import { type ServiceKey, ServiceWatch, serviceKeyId } from './service-watch.js';

export class KubernetesWatches {
  private readonly watches = new Map<string, ServiceWatch>();
  private readonly tuning: InformerTuning;

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
      watch = new ServiceWatch(key, this.tuning, this.logger);
      this.watches.set(id, watch);
    }
    watch.subscribe(listener, needsService);
    return watch;
  }

  unsubscribe(watch: ServiceWatch, listener: () => void): void {
    if (watch.unsubscribe(listener) === 0) this.watches.delete(serviceKeyId(watch.key));
  }

  /** Services watched right now. */
  get size(): number {
    return this.watches.size;
  }
}
