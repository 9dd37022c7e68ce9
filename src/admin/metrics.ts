/**
 * Prometheus metrics on a registry of our own (never prom-client's global one, so two
 * proxies in one process or a library user's metrics do not collide).
 *
 * Counters the proxy already keeps (EndpointState, listener stats) are read in `collect()`
 * at scrape time: the proxy's hot path never touches prom-client. Only things that are
 * events rather than state (latency samples, health transitions, reloads) are recorded
 * as they happen, and none of them is per-byte or per-chunk.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Cluster, OutcomeObserver } from '../core/cluster.js';
import { Unavailable } from '../core/endpoint.js';
import type { HealthTransition, ReloadResult } from '../core/events.js';
import type { AdminSource } from './source.js';

export interface AdminMetrics {
  readonly registry: Registry;
  /** Adds the latency observer to clusters of a new generation (idempotent). */
  observeClusters(): void;
  close(): void;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(source: AdminSource, options: { processMetrics?: boolean } = {}): AdminMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  // A counter whose value is read from the proxy's own bookkeeping at scrape time.
  const readCounter = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    read: (set: (labels: Record<L, string>, value: number) => void) => void,
  ) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read((labels, value) => this.inc(labels, value));
      },
    });
  const readGauge = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    read: (set: (labels: Record<L, string>, value: number) => void) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read((labels, value) => this.set(labels, value));
      },
    });

  const eachEndpoint = (fn: (cluster: string, endpoint: string, e: Cluster['endpoints'][number]) => void) => {
    for (const cluster of source.clusters()) for (const e of cluster.endpoints) fn(cluster.name, e.id, e);
  };
  const endpointCounter = (
    name: string,
    help: string,
    field: 'connectionsTotal' | 'requestsTotal' | 'failuresTotal' | 'bytesToUpstream' | 'bytesFromUpstream',
  ) =>
    readCounter(name, help, ['cluster', 'endpoint'], (set) =>
      eachEndpoint((cluster, endpoint, e) => set({ cluster, endpoint }, e.state[field])),
    );

  // Listeners and routes.
  readGauge(
    'portside_listener_bound',
    'Whether the listener socket is bound (1) or not (0).',
    ['listener', 'address'],
    (set) => {
      for (const l of source.listeners())
        set({ listener: l.name, address: l.boundAddress ?? l.address }, l.bound ? 1 : 0);
    },
  );
  readGauge(
    'portside_listener_active_connections',
    'Client connections open on the listener now.',
    ['listener'],
    (set) => {
      for (const l of source.listeners()) set({ listener: l.name }, l.activeConnections);
    },
  );
  const listenerCounter = (
    name: string,
    help: string,
    field: 'connectionsTotal' | 'rejectedTotal' | 'bytesReceived' | 'bytesSent',
  ) =>
    readCounter(name, help, ['listener'], (set) => {
      for (const l of source.listeners()) if (l[field] !== undefined) set({ listener: l.name }, l[field]);
    });
  listenerCounter('portside_listener_connections_total', 'Client connections accepted.', 'connectionsTotal');
  listenerCounter(
    'portside_listener_rejected_total',
    'Client connections closed because no endpoint could take them.',
    'rejectedTotal',
  );
  listenerCounter('portside_listener_received_bytes_total', 'Bytes received from clients.', 'bytesReceived');
  listenerCounter('portside_listener_sent_bytes_total', 'Bytes sent to clients.', 'bytesSent');
  const routeCounter = (
    name: string,
    help: string,
    field: 'requestsTotal' | 'errorsTotal' | 'retriesTotal',
  ) =>
    readCounter(name, help, ['listener', 'route', 'cluster'], (set) => {
      for (const l of source.listeners()) {
        for (const r of l.routes ?? []) {
          if (r[field] !== undefined) set({ listener: l.name, route: r.name, cluster: r.cluster }, r[field]);
        }
      }
    });
  routeCounter('portside_route_requests_total', 'HTTP requests matched by the route.', 'requestsTotal');
  routeCounter(
    'portside_route_errors_total',
    'HTTP requests on the route answered with an error.',
    'errorsTotal',
  );
  routeCounter('portside_route_retries_total', 'Upstream retries made for the route.', 'retriesTotal');

  // Endpoints and clusters.
  readGauge(
    'portside_endpoint_active',
    'Open connections (L4) or in-flight requests (L7) on the endpoint.',
    ['cluster', 'endpoint'],
    (set) => eachEndpoint((cluster, endpoint, e) => set({ cluster, endpoint }, e.state.active)),
  );
  endpointCounter(
    'portside_endpoint_connections_total',
    'Upstream connections made to the endpoint.',
    'connectionsTotal',
  );
  endpointCounter('portside_endpoint_requests_total', 'Requests forwarded to the endpoint.', 'requestsTotal');
  endpointCounter(
    'portside_endpoint_failures_total',
    'Connect failures, resets and 5xx answers from the endpoint.',
    'failuresTotal',
  );
  endpointCounter('portside_endpoint_sent_bytes_total', 'Bytes sent to the endpoint.', 'bytesToUpstream');
  endpointCounter(
    'portside_endpoint_received_bytes_total',
    'Bytes received from the endpoint.',
    'bytesFromUpstream',
  );
  readGauge(
    'portside_endpoint_weight',
    'Configured or discovered weight of the endpoint.',
    ['cluster', 'endpoint'],
    (set) => eachEndpoint((cluster, endpoint, e) => set({ cluster, endpoint }, e.weight)),
  );
  readGauge(
    'portside_endpoint_available',
    'Whether the endpoint may take new traffic (1) or not (0).',
    ['cluster', 'endpoint'],
    (set) => eachEndpoint((cluster, endpoint, e) => set({ cluster, endpoint }, e.state.flags === 0 ? 1 : 0)),
  );
  readGauge(
    'portside_endpoint_unavailable',
    'Each reason the endpoint is unavailable (1 when set).',
    ['cluster', 'endpoint', 'reason'],
    (set) =>
      eachEndpoint((cluster, endpoint, e) => {
        for (const [reason, bit] of Object.entries(Unavailable))
          set({ cluster, endpoint, reason }, e.state.flags & bit ? 1 : 0);
      }),
  );
  readGauge(
    'portside_cluster_endpoints',
    'Endpoints in the cluster by availability.',
    ['cluster', 'state'],
    (set) => {
      for (const c of source.clusters()) {
        const available = c.endpoints.filter((e) => e.state.flags === 0).length;
        set({ cluster: c.name, state: 'available' }, available);
        set({ cluster: c.name, state: 'unavailable' }, c.endpoints.length - available);
      }
    },
  );

  // Discovery.
  readGauge(
    'portside_discovery_synced',
    'Whether the discovery source delivered its first snapshot.',
    ['cluster', 'source'],
    (set) => {
      for (const d of source.discovery())
        set({ cluster: d.cluster, source: d.description }, d.synced ? 1 : 0);
    },
  );
  readCounter(
    'portside_discovery_syncs_total',
    'Snapshots delivered by the discovery source.',
    ['cluster', 'source'],
    (set) => {
      for (const d of source.discovery())
        if (d.syncsTotal !== undefined) set({ cluster: d.cluster, source: d.description }, d.syncsTotal);
    },
  );
  readCounter(
    'portside_discovery_errors_total',
    'Errors reported by the discovery source.',
    ['cluster', 'source'],
    (set) => {
      for (const d of source.discovery())
        if (d.errorsTotal !== undefined) set({ cluster: d.cluster, source: d.description }, d.errorsTotal);
    },
  );
  readGauge(
    'portside_discovery_staleness_seconds',
    'Seconds since the discovery source last delivered a snapshot.',
    ['cluster', 'source'],
    (set) => {
      const now = Date.now();
      for (const d of source.discovery()) {
        if (d.lastSyncAt !== undefined)
          set({ cluster: d.cluster, source: d.description }, (now - d.lastSyncAt) / 1000);
      }
    },
  );

  // Config.
  readGauge(
    'portside_config_version',
    'Version of the live config; bumped by every applied reload.',
    [],
    (set) => set({}, source.version()),
  );
  readGauge(
    'portside_config_last_reload_success',
    'Whether the last reload attempt applied (1) or was rejected (0).',
    [],
    (set) => {
      const last = source.lastReload();
      if (last) set({}, last.ok ? 1 : 0);
    },
  );
  readGauge('portside_draining', 'Whether the proxy is draining (1) or serving (0).', [], (set) =>
    set({}, source.draining() ? 1 : 0),
  );

  // Events: counted as they happen.
  const reloads = new Counter({
    name: 'portside_config_reloads_total',
    help: 'Config reload attempts by result.',
    labelNames: ['result'],
    registers,
  });
  reloads.inc({ result: 'success' }, 0);
  reloads.inc({ result: 'failure' }, 0);
  const transitions = new Counter({
    name: 'portside_health_transitions_total',
    help: 'Endpoint availability changes, by the state entered.',
    labelNames: ['cluster', 'endpoint', 'to'],
    registers,
  });
  const ejections = new Counter({
    name: 'portside_outlier_ejections_total',
    help: 'Times outlier detection ejected the endpoint.',
    labelNames: ['cluster', 'endpoint'],
    registers,
  });
  const latency = new Histogram({
    name: 'portside_upstream_latency_seconds',
    help: 'Upstream connect time (L4) or response time (L7) of successful attempts.',
    labelNames: ['cluster'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const upstreamFailures = new Counter({
    name: 'portside_upstream_failures_total',
    help: 'Failed upstream attempts by reason code.',
    labelNames: ['cluster', 'reason'],
    registers,
  });

  const onReload = (result: ReloadResult) => {
    reloads.inc({ result: result.ok ? 'success' : 'failure' });
    if (result.ok) observeClusters();
  };
  const onHealth = (t: HealthTransition) => {
    const labels = { cluster: t.cluster, endpoint: t.endpoint };
    transitions.inc({ ...labels, to: t.to.length === 0 ? 'available' : 'unavailable' });
    if (t.to.includes('OutlierEjected') && !t.from.includes('OutlierEjected')) ejections.inc(labels);
  };
  source.events.on('reload', onReload);
  source.events.on('health', onHealth);

  const observed = new WeakSet<Cluster>();
  function observeClusters(): void {
    for (const cluster of source.clusters()) {
      if (observed.has(cluster)) continue;
      observed.add(cluster);
      const name = cluster.name;
      const observer: OutcomeObserver = {
        success: (_endpoint, latencyMs) => latency.observe({ cluster: name }, latencyMs / 1000),
        failure: (_endpoint, reason) => upstreamFailures.inc({ cluster: name, reason }),
      };
      cluster.observers.push(observer);
    }
  }
  observeClusters();

  return {
    registry,
    observeClusters,
    close() {
      source.events.off('reload', onReload);
      source.events.off('health', onHealth);
      registry.clear();
    },
  };
}
