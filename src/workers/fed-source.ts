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

/** The latest list of every cluster, and the sources that apply them. */
export class FedSources {
  readonly latest = new Map<string, DiscoveredEndpoint[]>();
  readonly live = new Set<FedSource>();

  /** For ProxyServer's `createSource`. */
  readonly create = (cluster: ClusterConfig): DiscoverySource => new FedSource(cluster.name, this);

  /** `replace`: the lists of every cluster (an apply), so clusters a reload removed are forgotten. */
  update(lists: EndpointLists, replace = false): void {
    if (replace) this.latest.clear();
    for (const [cluster, endpoints] of Object.entries(lists)) {
      this.latest.set(cluster, endpoints);
      for (const source of this.live) if (source.cluster === cluster) source.push(endpoints);
    }
  }
}
