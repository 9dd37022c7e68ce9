/**
 * The JSON documents of the admin API, built from an `AdminSource` at request time.
 */
import type { Cluster } from '../core/cluster.js';
import { ALL_UNAVAILABLE_REASONS, describeFlags, type Endpoint } from '../core/endpoint.js';
import type { AdminSource, DiscoveryStatus } from './source.js';

export interface EndpointView {
  address: string;
  /** Unavailability reasons; empty means available. */
  flags: string[];
  available: boolean;
  weight: number;
  locality: { node?: string; zone?: string };
  active: number;
  connectionsTotal: number;
  requestsTotal: number;
  failuresTotal: number;
  bytesToUpstream: number;
  bytesFromUpstream: number;
  lastError: string | null;
  /** ISO time it was first seen or last became available. */
  availableSince: string;
  /**
   * Worker threads (`workers: N`) whose outlier detection ejects it now: each worker ejects on
   * what it saw, and `flags` are the main thread's (discovery, active checks). Absent when none.
   */
  ejectedByWorkers?: number[];
}

export interface ClusterView {
  name: string;
  /** Reasons that keep an endpoint out of rotation right now. */
  excludeFlags: string[];
  /** Panic mode: too few endpoints available, so health no longer excludes any. */
  panic: boolean;
  discovery: DiscoveryView[];
  endpoints: EndpointView[];
  tlsLastFailure?: { endpoint: string; reason: string; at: number };
}

/** A discovery source's status with its last sync as RFC 3339, as every admin time is. */
export type DiscoveryView = Omit<DiscoveryStatus, 'lastSyncAt'> & { lastSyncAt?: string };

export function endpointView(endpoint: Endpoint): EndpointView {
  const s = endpoint.state;
  return {
    address: endpoint.id,
    flags: describeFlags(s.flags),
    available: s.flags === 0,
    weight: endpoint.weight,
    locality: { ...endpoint.locality },
    active: s.active,
    connectionsTotal: s.connectionsTotal,
    requestsTotal: s.requestsTotal,
    failuresTotal: s.failuresTotal,
    bytesToUpstream: s.bytesToUpstream,
    bytesFromUpstream: s.bytesFromUpstream,
    lastError: s.lastError ?? null,
    availableSince: new Date(s.availableSince).toISOString(),
  };
}

export function clusterViews(source: AdminSource): ClusterView[] {
  const discovery = source.discovery();
  const ejected = source.workerEjected?.();
  return source.clusters().map((cluster: Cluster) => ({
    name: cluster.name,
    excludeFlags: describeFlags(cluster.excludeFlags),
    panic: isPanicking(cluster),
    discovery: discovery
      .filter((d) => d.cluster === cluster.name)
      .map(({ lastSyncAt, ...d }) =>
        lastSyncAt === undefined ? d : { ...d, lastSyncAt: new Date(lastSyncAt).toISOString() },
      ),
    endpoints: cluster.endpoints.map((e) => {
      const view = endpointView(e);
      const workers = ejected?.get(`${cluster.name}\u0000${e.id}`);
      return workers ? { ...view, ejectedByWorkers: workers } : view;
    }),
    // The last failed TLS handshake with an endpoint (cluster `tls:`), with its reason.
    ...(cluster.tls?.lastFailure ? { tlsLastFailure: cluster.tls.lastFailure } : {}),
  }));
}

/** Health relaxed the cluster's exclusions because too few endpoints were available. */
export function isPanicking(cluster: Cluster): boolean {
  return cluster.excludeFlags !== ALL_UNAVAILABLE_REASONS;
}

/** Traffic an endpoint has taken: requests for L7, connections for L4. */
export function trafficOf(endpoint: Endpoint): number {
  return endpoint.state.requestsTotal || endpoint.state.connectionsTotal;
}

export interface Readiness {
  ready: boolean;
  /** Why not ready; empty when ready. */
  reasons: string[];
}

/** Ready once a config is live, every listener is bound and every required discovery source has synced. */
export function readiness(source: AdminSource): Readiness {
  const reasons: string[] = [];
  if (source.draining()) reasons.push('draining');
  if (!source.config()) reasons.push('no configuration applied yet');
  for (const listener of source.listeners()) {
    if (!listener.bound && !listener.draining) {
      reasons.push(`listener ${listener.name} (${listener.address}) is not bound`);
    }
  }
  for (const d of source.discovery()) {
    if (d.required !== false && !d.synced)
      reasons.push(`cluster ${d.cluster}: discovery ${d.description} has not synced`);
  }
  return { ready: reasons.length === 0, reasons };
}
