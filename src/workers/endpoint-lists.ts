/**
 * The main thread's side of the workers' discovery: each cluster's endpoint list (config and
 * catalog clusters) with the main thread's availability verdict, posted whenever discovery or
 * health changes it, at most once per event-loop turn however many changes the turn made.
 */
import type { Cluster } from '../core/cluster.js';
import { Unavailable } from '../core/endpoint.js';
import type { ProxyServer } from '../core/proxy.js';
import type { DiscoveredEndpoint } from '../discovery/source.js';
import type { EndpointLists } from './messages.js';

/** What the main thread decides: discovery readiness and active checks. Outlier ejection is each worker's. */
const NOT_READY = Unavailable.DiscoveryNotReady | Unavailable.ActiveCheckFailed;

export function endpointList(cluster: Cluster): DiscoveredEndpoint[] {
  return cluster.endpoints.map((e) => ({
    host: e.host,
    port: e.port,
    weight: e.weight,
    locality: e.locality,
    ...((e.state.flags & NOT_READY) !== 0 ? { ready: false } : {}),
    ...((e.state.flags & Unavailable.Draining) !== 0 ? { terminating: true } : {}),
  }));
}

/** Every cluster of the main thread's live generation, and every catalog cluster built. */
export function allEndpointLists(proxy: ProxyServer): EndpointLists {
  const lists: EndpointLists = {};
  for (const [name, cluster] of proxy.current?.clusters ?? []) lists[name] = endpointList(cluster);
  for (const cluster of proxy.current?.catalog?.clusters() ?? []) lists[cluster.name] = endpointList(cluster);
  return lists;
}

/** Posts the lists of the clusters that changed, once per turn. */
export class EndpointFeed {
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private readonly onChange = (cluster: string | { cluster: string }) => {
    this.dirty.add(typeof cluster === 'string' ? cluster : cluster.cluster);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  };

  constructor(
    private readonly proxy: ProxyServer,
    private readonly post: (lists: EndpointLists) => void,
  ) {
    proxy.events.on('endpoints', this.onChange);
    proxy.events.on('health', this.onChange);
  }

  close(): void {
    this.proxy.events.off('endpoints', this.onChange);
    this.proxy.events.off('health', this.onChange);
  }

  private flush(): void {
    this.scheduled = false;
    const lists: EndpointLists = {};
    const current = this.proxy.current;
    for (const name of this.dirty) {
      const cluster = current?.clusters.get(name) ?? current?.catalog?.clusterNamed(name);
      if (cluster) lists[name] = endpointList(cluster);
      // A catalog cluster retired: workers forget its list (and ask again if they need it).
      else if (current?.catalog) lists[name] = null;
    }
    this.dirty.clear();
    if (Object.keys(lists).length > 0) this.post(lists);
  }
}
