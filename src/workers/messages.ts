/**
 * What the main thread and the worker threads say to each other. Everything is plain data
 * (structured clone): configs, endpoint lists, counters and log text.
 */
import type { ListenerStatus } from '../admin/source.js';
import type { UpstreamTotals } from '../admin/upstream-tally.js';
import type { Config } from '../config/schema.js';
import type { ServiceInfo } from '../discovery/kubernetes/objects.js';
import type { Scope } from '../discovery/kubernetes/scope-watch.js';
import type { DiscoveredEndpoint } from '../discovery/source.js';

/**
 * Each cluster's endpoint list as the main thread sees it, availability included, by cluster
 * name; null: the main thread has no such cluster (a catalog cluster it retired, or cannot build).
 */
export type EndpointLists = Record<string, DiscoveredEndpoint[] | null>;

/** The catalog's Services of one scope (the main thread's watch), for the workers' catalogs. */
export interface ServiceTable {
  scope: Scope;
  /** The whole table (replaces the worker's copy), or only the Services that changed. */
  whole: boolean;
  /** The watch has listed once: the catalog routes. */
  synced: boolean;
  /** By `namespace/name`; null: the Service is gone. */
  services: [string, ServiceInfo | null][];
}

/** Set when the worker is created. */
export interface WorkerData {
  id: number;
  logLevel: string;
}

export type ToWorker =
  /** Apply this config; `endpoints` first, so new clusters start with the main thread's lists. */
  | { type: 'apply'; seq: number; config: Config; endpoints: EndpointLists; services: ServiceTable[] }
  | { type: 'endpoints'; endpoints: EndpointLists }
  | { type: 'services'; tables: ServiceTable[] }
  | { type: 'stats' }
  | { type: 'drain' };

/** One endpoint's counters in one worker: cluster, endpoint id, then ENDPOINT_FIELDS in order. */
export type EndpointRow = [string, string, ...number[]];

/** The counters of EndpointState that workers report (`active` is a gauge, the rest count up). */
export const ENDPOINT_FIELDS = [
  'active',
  'connectionsTotal',
  'requestsTotal',
  'failuresTotal',
  'bytesToUpstream',
  'bytesFromUpstream',
] as const;

export interface WorkerStats {
  listeners: ListenerStatus[];
  endpoints: EndpointRow[];
  /** Catalog clusters that took requests since the last stats (with idleTimeout): the main thread keeps them. */
  catalogUsed: string[];
  /** Upstream latency, failures and ejections since the worker started. */
  upstream: UpstreamTotals;
  /** Endpoints this worker's outlier detection ejects now: cluster, endpoint. */
  ejected: [string, string][];
}

export type FromWorker =
  | { type: 'applied'; seq: number; bound: Record<string, string> }
  | { type: 'failed'; seq: number; message: string; bind?: { what: string; address: string; code?: string } }
  | ({ type: 'stats' } & WorkerStats)
  /** Catalog clusters a worker built without the main thread's list: build them, send their lists. */
  | { type: 'catalog'; want: string[] }
  /** Log lines (pino's JSON), written by the main thread so lines of several workers never mix. */
  | { type: 'log'; text: string }
  | { type: 'drained'; cut: number };
