/**
 * Discovery in a worker thread: each cluster's source applies the endpoint lists the main
 * thread posts, so N workers make no API watch, DNS query or health probe of their own.
 * The main thread's health verdict arrives as readiness: an endpoint its active checks
 * failed comes as `ready: false` (DiscoveryNotReady in the worker), which only this
 * source writes, so the worker's own outlier ejections (OutlierEjected) stay its own.
 */
import type { ClusterConfig } from '../config/schema.js';
import type { DiscoveredEndpoint, DiscoverySource } from '../discovery/source.js';
import type { EndpointLists } from './messages.js';

class FedSource implements DiscoverySource {
  synced = false;
  readonly description = 'main thread';
  private deliver: ((endpoints: DiscoveredEndpoint[]) => void) | undefined;

  constructor(
    readonly cluster: string,
    private readonly feed: FedSources,
  ) {}

  start(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void {
    this.deliver = onSnapshot;
    this.feed.live.add(this);
    const latest = this.feed.latest.get(this.cluster);
    if (latest) this.push(latest);
  }

  push(endpoints: DiscoveredEndpoint[]): void {
    if (!this.deliver) return;
    this.deliver(endpoints);
    this.synced = true;
  }

  stop(): void {
    this.deliver = undefined;
    this.feed.live.delete(this);
  }
}

/** How long a request for a catalog cluster waits for the main thread's list before going on without. */
const LIST_WAIT_MS = 5000;

/** The latest list of every cluster, and the sources that apply them. */
export class FedSources {
  readonly latest = new Map<string, DiscoveredEndpoint[]>();
  readonly live = new Set<FedSource>();
  /** Catalog clusters asked of the main thread, and the requests waiting for their list. */
  private readonly waiting = new Map<string, { promise: Promise<void>; done: () => void }>();

  /** `ask`: sends the main thread the name of a catalog cluster whose list this worker lacks. */
  constructor(private readonly ask: (cluster: string) => void = () => {}) {}

  /** For ProxyServer's `createSource`. */
  readonly create = (cluster: ClusterConfig): DiscoverySource => new FedSource(cluster.name, this);

  /** `replace`: the lists of every cluster (an apply), so clusters a reload removed are forgotten. */
  update(lists: EndpointLists, replace = false): void {
    if (replace) this.latest.clear();
    for (const [cluster, endpoints] of Object.entries(lists)) {
      // null: the main thread has no such cluster (any more); its sources keep their last list.
      if (endpoints === null) this.latest.delete(cluster);
      else {
        this.latest.set(cluster, endpoints);
        for (const source of this.live) if (source.cluster === cluster) source.push(endpoints);
      }
      this.waiting.get(cluster)?.done();
    }
  }

  /**
   * Undefined when the cluster has the main thread's list, else a promise that resolves when
   * it arrives (asked for once, however many requests wait) or after LIST_WAIT_MS.
   */
  whenListed(cluster: string): Promise<void> | undefined {
    if (this.latest.has(cluster)) return undefined;
    let wait = this.waiting.get(cluster);
    if (!wait) {
      let done = () => {};
      const promise = new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), LIST_WAIT_MS);
        done = () => {
          clearTimeout(timer);
          this.waiting.delete(cluster);
          resolve();
        };
      });
      wait = { promise, done };
      this.waiting.set(cluster, wait);
      this.ask(cluster);
    }
    return wait.promise;
  }
}
