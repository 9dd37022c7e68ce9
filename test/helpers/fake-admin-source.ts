/**
 * An AdminSource over real Cluster objects and real ProxyEvents, with listener and
 * discovery status the test sets directly: for admin API and dashboard tests that do not
 * need a whole proxy.
 */
import type { AdminSource, DiscoveryStatus, ListenerStatus } from '../../src/admin/source.js';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { Cluster } from '../../src/core/cluster.js';
import { describeFlags, type Endpoint, EndpointStateRegistry } from '../../src/core/endpoint.js';
import { ProxyEvents, type ReloadResult } from '../../src/core/events.js';
import type { ExplainWorld } from '../../src/explain/world.js';
import { HealthRegistry } from '../../src/health/registry.js';

export class FakeAdminSource implements AdminSource {
  readonly events = new ProxyEvents();
  readonly states = new EndpointStateRegistry();
  /** Health memory behind the flags (ejection end times), as the proxy's health code keeps it. */
  readonly health = new HealthRegistry();
  readonly clusterList: Cluster[] = [];
  listenerList: ListenerStatus[] = [];
  discoveryList: DiscoveryStatus[] = [];
  currentConfig: Config | undefined;
  currentVersion = 1;
  last: ReloadResult | undefined;
  isDraining = false;
  drainCalls = 0;

  constructor(yaml?: string) {
    if (yaml) {
      const loaded = loadConfigText(yaml, 'fake.yaml');
      if (!loaded.config) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
      this.currentConfig = loaded.config;
    }
  }

  addCluster(
    name: string,
    endpoints: { host?: string; port: number; weight?: number; zone?: string; node?: string }[],
  ): Cluster {
    const cluster = new Cluster(name, new RoundRobinPicker(), this.states);
    cluster.setEndpoints(
      endpoints.map((e) => ({
        host: e.host ?? '127.0.0.1',
        port: e.port,
        weight: e.weight ?? 1,
        locality: { zone: e.zone, node: e.node },
      })),
    );
    this.clusterList.push(cluster);
    return cluster;
  }

  endpoint(cluster: string, id: string): Endpoint {
    const found = this.clusterList.find((c) => c.name === cluster)?.endpoints.find((e) => e.id === id);
    if (!found) throw new Error(`no endpoint ${cluster}/${id}`);
    return found;
  }

  /** Sets or clears a health flag and emits the transition, as the health checker would. */
  setHealth(cluster: string, id: string, bit: number, on: boolean, reason = 'test'): void {
    const state = this.endpoint(cluster, id).state;
    const from = describeFlags(state.flags);
    if (state.setFlag(bit, on)) {
      this.events.emit('health', {
        cluster,
        endpoint: id,
        from,
        to: describeFlags(state.flags),
        reason,
        at: Date.now(),
      });
    }
  }

  reload(result: Omit<ReloadResult, 'at'>): void {
    this.last = { ...result, at: Date.now() };
    if (result.ok) this.currentVersion = result.version;
    this.events.emit('reload', this.last);
  }

  config() {
    return this.currentConfig;
  }
  version() {
    return this.currentVersion;
  }
  lastReload() {
    return this.last;
  }
  listeners() {
    return this.listenerList;
  }
  clusters() {
    return this.clusterList;
  }
  discovery() {
    return this.discoveryList;
  }
  /** The fake's config and clusters, for `/explain`; undefined without a config. */
  explainWorld(): ExplainWorld | undefined {
    const config = this.currentConfig;
    if (!config) return undefined;
    const clusters = this.clusterList;
    return {
      mode: 'live',
      config,
      now: Date.now(),
      self: {},
      cluster: (n) => clusters.find((c) => c.name === n),
      healthMemory: (endpoint) => this.health.memoryFor(endpoint),
    };
  }
  draining() {
    return this.isDraining;
  }
  async drain() {
    this.drainCalls++;
    this.isDraining = true;
  }
}
