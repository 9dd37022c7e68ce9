/**
 * A cluster's endpoints from one Kubernetes Service port, through the shared ServiceWatch.
 * Every change to any slice of the Service yields a whole snapshot for this port.
 */
import type { Logger } from '../../core/log.js';
import type { DiscoveredEndpoint, DiscoverySource } from '../source.js';
import { type PortSelector, selectEndpoints } from './endpoints.js';
import type { ServiceKey, ServiceWatch } from './service-watch.js';
import type { KubernetesWatches } from './watches.js';

export class KubernetesSource implements DiscoverySource {
  synced = false;
  readonly description: string;
  private watch: ServiceWatch | undefined;
  private lastProblem: string | undefined;
  private readonly listener = () => this.update();
  private onSnapshot: ((endpoints: DiscoveredEndpoint[]) => void) | undefined;

  constructor(
    private readonly key: ServiceKey,
    private readonly port: PortSelector,
    private readonly watches: KubernetesWatches,
    /** The cluster's logger; no child per source (thousands of Services, one logger each). */
    private readonly log: Logger,
  ) {
    this.description = `kubernetes ${key.namespace}/${key.service}${port === undefined ? '' : `:${port}`}`;
  }

  get stale(): boolean {
    return this.watch?.stale ?? false;
  }

  get lastError(): string | undefined {
    return this.watch?.lastError ?? this.lastProblem;
  }

  start(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void {
    this.onSnapshot = onSnapshot;
    this.watch = this.watches.subscribe(this.key, this.listener, typeof this.port === 'number');
    // A watch another cluster (or the previous config generation) already synced answers now,
    // so a reload never leaves the new generation's cluster empty for a moment.
    this.update();
  }

  stop(): void {
    if (this.watch) this.watches.unsubscribe(this.watch, this.listener);
    this.watch = undefined;
    this.onSnapshot = undefined;
  }

  private update(): void {
    const watch = this.watch;
    if (!watch || !this.onSnapshot || !watch.synced) return;
    const { endpoints, problem } = selectEndpoints(watch.endpointSlices, watch.service, this.port);
    if (problem !== this.lastProblem) {
      if (problem)
        this.log.warn(
          { discovery: this.description, problem },
          'some EndpointSlices give no endpoint for this port',
        );
      this.lastProblem = problem;
    }
    this.onSnapshot(endpoints);
    this.synced = true;
  }
}
