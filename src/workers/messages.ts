/**
 * What the main thread and the worker threads say to each other. Everything is plain data
 * (structured clone): configs, endpoint lists, counters and log text.
 */
import type { ListenerStatus } from '../admin/source.js';
import type { Config } from '../config/schema.js';
import type { DiscoveredEndpoint } from '../discovery/source.js';

/** Each cluster's endpoint list as the main thread sees it, availability included, by cluster name. */
export type EndpointLists = Record<string, DiscoveredEndpoint[]>;

/** Set when the worker is created. */
export interface WorkerData {
  id: number;
  logLevel: string;
}

export type ToWorker =
  /** Apply this config; `endpoints` first, so new clusters start with the main thread's lists. */
  | { type: 'apply'; seq: number; config: Config; endpoints: EndpointLists }
  | { type: 'endpoints'; endpoints: EndpointLists }
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
}

export type FromWorker =
  | { type: 'applied'; seq: number; bound: Record<string, string> }
  | { type: 'failed'; seq: number; message: string; bind?: { what: string; address: string; code?: string } }
  | ({ type: 'stats' } & WorkerStats)
  /** Log lines (pino's JSON), written by the main thread so lines of several workers never mix. */
  | { type: 'log'; text: string }
  | { type: 'drained'; cut: number };
