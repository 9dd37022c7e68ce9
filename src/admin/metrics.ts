/**
 * Prometheus metrics on a registry of our own (never prom-client's global one, so two
 * proxies in one process or a library user's metrics do not collide).
 *
 * Counters the proxy already keeps (EndpointState, listener stats) are read in `collect()`
 * at scrape time: the proxy's hot path never touches prom-client. Things that are events
 * rather than state are recorded as they happen, in event-metrics.ts.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Cluster } from '../core/cluster.js';
import { Unavailable } from '../core/endpoint.js';
import { packageVersion } from '../core/package-info.js';
import { DURATION_BOUNDS_S } from '../listeners/duration-histogram.js';
import { registerEventMetrics } from './event-metrics.js';
import { registerReadHistogram } from './read-histogram.js';
import type { AdminSource, DiscoveryStatus } from './source.js';
import { isPanicking } from './status.js';

export interface AdminMetrics {
  readonly registry: Registry;
  /** Adds the latency observer to clusters of a new generation (idempotent). */
  observeClusters(): void;
  close(): void;
}

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
    field:
      | 'connectionsTotal'
      | 'rejectedTotal'
      | 'bytesReceived'
      | 'bytesSent'
      | 'datagramsReceived'
      | 'datagramsSent',
  ) =>
    readCounter(name, help, ['listener'], (set) => {
      for (const l of source.listeners()) if (l[field] !== undefined) set({ listener: l.name }, l[field]);
    });
  listenerCounter('portside_listener_connections_total', 'Client connections accepted.', 'connectionsTotal');
  readCounter(
    'portside_tls_handshake_errors_total',
    'TLS listeners: handshakes that failed (old version, unknown CA, timeout…) and clients refused after one (client-refused).',
    ['listener', 'reason'],
    (set) => {
      for (const l of source.listeners()) {
        for (const [reason, count] of Object.entries(l.tlsErrors ?? {}))
          set({ listener: l.name, reason }, count);
      }
    },
  );
  listenerCounter(
    'portside_listener_rejected_total',
    'Client connections closed because no endpoint could take them.',
    'rejectedTotal',
  );
  // Process-wide: the file descriptor table is per process, whichever listener hits the limit.
  const resourceCounter = (name: string, help: string, side: 'accept' | 'connect') =>
    readCounter(name, help, ['code'], (set) => {
      for (const c of source.resourceErrors?.() ?? []) if (c.side === side) set({ code: c.code }, c.count);
    });
  resourceCounter(
    'portside_accept_errors_total',
    'Client connections the proxy could not accept (EMFILE, ENFILE: out of file descriptors).',
    'accept',
  );
  resourceCounter(
    'portside_connect_local_errors_total',
    'Upstream connections the proxy could not open for lack of its own resources (EMFILE, ENFILE, ENOBUFS, ENOMEM); never counted against an endpoint.',
    'connect',
  );
  listenerCounter('portside_listener_received_bytes_total', 'Bytes received from clients.', 'bytesReceived');
  listenerCounter('portside_listener_sent_bytes_total', 'Bytes sent to clients.', 'bytesSent');
  // UDP listeners only; a session counts in connections_total and active_connections.
  listenerCounter(
    'portside_listener_received_datagrams_total',
    'Datagrams received from clients (udp listeners).',
    'datagramsReceived',
  );
  listenerCounter(
    'portside_listener_sent_datagrams_total',
    'Datagrams sent to clients (udp listeners).',
    'datagramsSent',
  );
  readCounter(
    'portside_listener_dropped_datagrams_total',
    'Client datagrams not forwarded (udp listeners), by reason: session_limit, no_endpoint, not_connected, out_of_resources, draining.',
    ['listener', 'reason'],
    (set) => {
      for (const l of source.listeners())
        for (const [reason, count] of Object.entries(l.droppedDatagrams ?? {}))
          set({ listener: l.name, reason }, count);
    },
  );
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
  readCounter(
    'portside_route_grpc_requests_total',
    "gRPC requests on the route by the grpc-status their client got (Portside's own answers and resets included).",
    ['listener', 'route', 'cluster', 'grpc_status'],
    (set) => {
      for (const l of source.listeners()) {
        for (const r of l.routes ?? []) {
          for (const [status, count] of Object.entries(r.grpcStatus ?? {}))
            set({ listener: l.name, route: r.name, cluster: r.cluster, grpc_status: status }, count);
        }
      }
    },
  );

  readCounter(
    'portside_http_requests_total',
    'HTTP requests the listener answered, by status code (0: the client left before a response) and method; route misses included.',
    ['listener', 'code', 'method'],
    (set) => {
      for (const l of source.listeners())
        for (const [code, method, count] of l.responses ?? [])
          set({ listener: l.name, code: String(code), method }, count);
    },
  );
  readCounter(
    'portside_route_responses_total',
    'HTTP requests on the route by status code (0: no response) and method.',
    ['listener', 'route', 'cluster', 'code', 'method'],
    (set) => {
      for (const l of source.listeners())
        for (const r of l.routes ?? [])
          for (const [code, method, count] of r.responses ?? [])
            set({ listener: l.name, route: r.name, cluster: r.cluster, code: String(code), method }, count);
    },
  );

  registerReadHistogram(
    registry,
    'portside_http_request_duration_seconds',
    'HTTP requests by how long they took, from the complete request head to the end of the response.',
    DURATION_BOUNDS_S,
    () =>
      source.listeners().flatMap((l) => {
        const d = l.requestDurations;
        return d === undefined ? [] : [{ labels: { listener: l.name }, counts: d.counts, sum: d.sumSeconds }];
      }),
  );

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

  readGauge(
    'portside_cluster_panic',
    'Whether the cluster is in panic mode (1): too few endpoints available, health no longer excludes any.',
    ['cluster'],
    (set) => {
      for (const c of source.clusters()) set({ cluster: c.name }, isPanicking(c) ? 1 : 0);
    },
  );

  // Discovery: one series per (cluster, source); a source without the figure has no series.
  const perDiscoverySource =
    (value: (d: DiscoveryStatus, now: number) => number | undefined) =>
    (set: (labels: Record<'cluster' | 'source', string>, value: number) => void) => {
      const now = Date.now();
      for (const d of source.discovery()) {
        const v = value(d, now);
        if (v !== undefined) set({ cluster: d.cluster, source: d.description }, v);
      }
    };
  const discoveryLabels: ('cluster' | 'source')[] = ['cluster', 'source'];
  readGauge(
    'portside_discovery_synced',
    'Whether the discovery source delivered its first snapshot.',
    discoveryLabels,
    perDiscoverySource((d) => (d.synced ? 1 : 0)),
  );
  readGauge(
    'portside_discovery_stale',
    'Whether the source serves its last good snapshot because refreshing fails.',
    discoveryLabels,
    perDiscoverySource((d) => (d.stale === undefined ? undefined : d.stale ? 1 : 0)),
  );
  readCounter(
    'portside_discovery_syncs_total',
    'Snapshots delivered by the discovery source.',
    discoveryLabels,
    perDiscoverySource((d) => d.syncsTotal),
  );
  readCounter(
    'portside_discovery_errors_total',
    'Errors reported by the discovery source.',
    discoveryLabels,
    perDiscoverySource((d) => d.errorsTotal),
  );
  readGauge(
    'portside_discovery_staleness_seconds',
    'Seconds since the discovery source last delivered a snapshot.',
    discoveryLabels,
    perDiscoverySource((d, now) => (d.lastSyncAt === undefined ? undefined : (now - d.lastSyncAt) / 1000)),
  );

  // Registration: what this node announces in etcd.
  readGauge(
    'portside_registration_registered',
    'Whether the register entry is in etcd now (1) or not (0: its check fails, etcd is unreachable, or not yet).',
    ['service', 'key'],
    (set) => {
      for (const r of source.registrations?.() ?? [])
        set({ service: r.service, key: r.key }, r.state === 'registered' ? 1 : 0);
    },
  );

  // Config.
  new Gauge({
    name: 'portside_build_info',
    help: 'Always 1; the labels say which Portside and which Node.js run.',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version: packageVersion(), node_version: process.versions.node }, 1);
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
  readGauge(
    'portside_tls_certificate_expiry_timestamp_seconds',
    'When each certificate in use by a TLS listener or cluster expires (Unix seconds); the current one after a rotation.',
    ['owner', 'file', 'serial'],
    (set) => {
      for (const c of source.certificates?.() ?? []) {
        set({ owner: c.owner, file: c.file, serial: c.serial }, Math.floor(c.expiresAt / 1000));
      }
    },
  );
  // Worker threads (workers: N); a single process serves on its one thread and restarts none.
  readGauge(
    'portside_workers',
    'Threads serving the listeners now: the worker threads running (workers: N), 1 in a single process.',
    [],
    (set) => {
      const workers = source.workers?.();
      set({}, workers ? workers.filter((w) => w.alive).length : 1);
    },
  );
  readCounter(
    'portside_worker_restarts_total',
    'Times the worker thread died (uncaught exception, exit) and was started again.',
    ['worker'],
    (set) => {
      for (const w of source.workers?.() ?? []) set({ worker: String(w.id) }, w.restarts);
    },
  );
  readGauge('portside_draining', 'Whether the proxy is draining (1) or serving (0).', [], (set) =>
    set({}, source.draining() ? 1 : 0),
  );

  const events = registerEventMetrics(source, registry);

  return {
    registry,
    observeClusters: events.observeClusters,
    close() {
      events.close();
      registry.clear();
    },
  };
}
