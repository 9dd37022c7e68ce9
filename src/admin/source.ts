/**
 * What the admin API reads from the running proxy. The proxy (or a small adapter over it)
 * implements this; the admin code never reaches into listeners or generations directly,
 * and reads everything at request or scrape time so the proxy's hot path stays untouched.
 */
import type { Config } from '../config/schema.js';
import type { Cluster } from '../core/cluster.js';
import type { ProxyEvents, ReloadResult } from '../core/events.js';
import type { ExplainWorld } from '../explain/world.js';
import type { ResourceErrorCount } from '../listeners/resource-errors.js';
import type { CertificateInUse } from '../tls/tls-registry.js';
import type { UpstreamTotals } from './upstream-tally.js';

export interface RouteStatus {
  /** Route name, or a description of its match when unnamed. */
  name: string;
  cluster: string;
  requestsTotal?: number;
  errorsTotal?: number;
  retriesTotal?: number;
  /** gRPC requests by grpc-status ("0", "14"…), statuses seen only. */
  grpcStatus?: Record<string, number>;
  /** Responses by status code and method: [code, method, count] (code 0: no response). */
  responses?: [number, string, number][];
}

export interface ListenerStatus {
  name: string;
  protocol: string;
  /** The configured address. */
  address: string;
  /** The address actually bound (port 0 resolved); absent until bound. */
  boundAddress?: string;
  bound: boolean;
  /** The cluster an L4 listener forwards to. */
  cluster?: string;
  activeConnections: number;
  connectionsTotal?: number;
  /** Connections closed because no endpoint could take them. */
  rejectedTotal?: number;
  bytesReceived?: number;
  bytesSent?: number;
  /** UDP listeners: datagrams from and to clients, and client datagrams dropped, by reason. */
  datagramsReceived?: number;
  datagramsSent?: number;
  droppedDatagrams?: Record<string, number>;
  /** Removed by a reload (or the proxy is draining): no longer accepting, finishing open work. */
  draining?: boolean;
  routes?: RouteStatus[];
  /** HTTP listeners: responses by status code and method, route misses included. */
  responses?: [number, string, number][];
  /** HTTP listeners: request durations per bucket (bounds in seconds; the last count is above them). */
  requestDurations?: {
    bounds: readonly number[];
    counts: readonly number[];
    sumSeconds: number;
    count: number;
  };
  /** TLS listeners: failed handshakes and refused clients, by reason. */
  tlsErrors?: Record<string, number>;
}

export interface DiscoveryStatus {
  cluster: string;
  description: string;
  synced: boolean;
  /** Whether /ready waits for this source; defaults to true. */
  required?: boolean;
  syncsTotal?: number;
  errorsTotal?: number;
  /** Milliseconds since the epoch of the last snapshot delivered. */
  lastSyncAt?: number;
  /** Serving its last good snapshot because refreshing fails (`lastError` says why). */
  stale?: boolean;
  lastError?: string;
}

/** The Service catalog as GET /clusters shows it. */
export interface CatalogStatus {
  description: string;
  synced: boolean;
  lastError?: string;
  /** Every Service it holds, with the clusters built for its ports. */
  services: {
    service: string;
    namespace: string;
    ports: { name: string; port: number }[];
    clusters: string[];
  }[];
}

/** One `register` entry this node announces in etcd. */
export interface RegistrationStatus {
  service: string;
  key: string;
  /** waiting-for-check, registered, withdrawn (its check fails) or etcd-unreachable. */
  state: string;
  ttl: string;
  lastError?: string;
}

export interface AdminSource {
  readonly events: ProxyEvents;
  /** The effective config of the live generation; undefined before the first one is applied. */
  config(): Config | undefined;
  /** Bumped by every applied reload; 1 for the first config. */
  version(): number;
  lastReload(): ReloadResult | undefined;
  /** Live listeners first, then ones still draining after removal. */
  listeners(): ListenerStatus[];
  clusters(): readonly Cluster[];
  discovery(): DiscoveryStatus[];
  /** The Service catalog, when the config has one. */
  catalog?(): CatalogStatus | undefined;
  /** Accept and upstream-connect errors for lack of the proxy's own resources (resource-errors.ts). */
  resourceErrors?(): ResourceErrorCount[];
  /** The live generation as `GET /explain` reads it; undefined before the first config. */
  explainWorld?(): ExplainWorld | undefined;
  /** Certificates in use by TLS listeners and clusters (expiry metric). */
  certificates?(): CertificateInUse[];
  /** Certificate files whose last change was refused (the old ones still serve), and why. */
  tlsErrors?(): { owners: string[]; error: string }[];
  /** The `register` entries and their state; absent where nothing registers. */
  registrations?(): RegistrationStatus[];
  /** Worker threads (`workers: N`): each one's number, whether it runs, and its restarts. */
  workers?(): { id: number; alive: boolean; restarts: number }[];
  /** Worker threads' upstream outcomes (latency, failures, ejections), each worker's totals. */
  workerUpstream?(): UpstreamTotals[];
  /** Endpoints outlier detection has ejected in some worker thread now: worker numbers by `cluster\0endpoint`. */
  workerEjected?(): ReadonlyMap<string, number[]>;
  /** Gathers fresh counters before a scrape (worker threads report theirs); resolves quickly either way. */
  refresh?(): Promise<void>;
  /** True once drain() was called (or the process is shutting down). */
  draining(): boolean;
  /** Stop accepting everywhere and resolve once open work has finished (bounded by drainTimeout). */
  drain(): Promise<void>;
}
