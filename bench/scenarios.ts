/**
 * The scenarios, in the order they run. `layer` says which targets they apply to: L7
 * scenarios go to the HTTP proxies, h2 ones to the same proxies set up for HTTP/2 on both
 * sides, tls ones to the HTTP proxies terminating TLS, L4 ones to the TCP proxies; `direct`
 * is in all but tls (the upstream speaks plain HTTP) and the ones below. `*-default` ones go
 * to the proxies logging as they do out of the box, and to quiet Portside (l7-log, l4-log);
 * `*-workers` ones to Portside with its `workers` key (l7-workers, l4-workers).
 */
import { GRPC_PATH } from './grpc-frames.js';
import type { Layer } from './launch.js';
import { UPLOAD_BYTES } from './payloads.js';

export interface HttpLoad {
  path: string;
  method: 'GET' | 'POST';
  bodyBytes?: number;
  connections: number;
  newConnection?: boolean;
  /** Requests per second offered in all: an open loop below saturation (bench/paced-load.ts). */
  ratePerSec?: number;
  /**
   * Over TLS (the bench's certificate). With `newConnection`, `full` makes every connection a
   * full handshake and `resumed` offers the newest session ticket the target gave.
   */
  tls?: 'full' | 'resumed';
}

/** HTTP/2 load with h2load: `connections` × `streams` requests in flight. */
export interface H2Load {
  path: string;
  /** A gRPC unary call (POST of a framed message, gRPC headers) instead of a GET. */
  grpc: boolean;
  connections: number;
  streams: number;
}

export type Scenario =
  | {
      name: string;
      title: string;
      kind: 'http';
      layer: Layer;
      load: HttpLoad;
      /** The report sets this target's figures against every other target's of the scenario. */
      subject?: string;
    }
  | { name: string; title: string; kind: 'h2'; layer: 'h2'; load: H2Load }
  | { name: string; title: string; kind: 'bulk'; layer: 'l4' }
  /** RSS idle, under the 50-connection load, and per held-open connection; proxies only. */
  | { name: string; title: string; kind: 'memory'; load: HttpLoad; hold: number };

const small = (connections: number, extra: Partial<HttpLoad> = {}): HttpLoad => ({
  path: '/small',
  method: 'GET',
  connections,
  ...extra,
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'l7-small-1',
    title: 'L7 small responses, 1 connection',
    kind: 'http',
    layer: 'l7',
    load: small(1),
  },
  {
    name: 'l7-small-50',
    title: 'L7 small responses, 50 connections',
    kind: 'http',
    layer: 'l7',
    load: small(50),
  },
  {
    // At 50 connections with no rate, p99 measures queueing on the proxy's saturated core;
    // at a fixed rate well below every target's capacity it is the latency a request gets.
    name: 'l7-rate-50',
    title: 'L7 small responses, 50 connections at a fixed 5,000 req/s',
    kind: 'http',
    layer: 'l7',
    load: small(50, { ratePerSec: 5000 }),
  },
  {
    name: 'l7-64k',
    title: 'L7 64 KiB responses, 10 connections',
    kind: 'http',
    layer: 'l7',
    load: { path: '/64k', method: 'GET', connections: 10 },
  },
  {
    name: 'l7-upload',
    title: 'L7 1 MiB uploads, 10 connections',
    kind: 'http',
    layer: 'l7',
    load: { path: '/upload', method: 'POST', bodyBytes: UPLOAD_BYTES, connections: 10 },
  },
  {
    name: 'l7-newconn',
    title: 'L7 new connection per request, 10 connections',
    kind: 'http',
    layer: 'l7',
    load: small(10, { newConnection: true }),
  },
  {
    // wrk opens its 1,000 connections in one burst: the tails show how fast they are accepted.
    name: 'l7-conns-1000',
    title: 'L7 small responses, 1,000 concurrent connections',
    kind: 'http',
    layer: 'l7',
    load: small(1000),
  },
  {
    name: 'h2-small',
    title: 'HTTP/2 (h2c) small responses, 10 connections × 10 streams',
    kind: 'h2',
    layer: 'h2',
    load: { path: '/small', grpc: false, connections: 10, streams: 10 },
  },
  {
    name: 'h2-grpc',
    title: 'gRPC unary calls, 10 connections × 10 streams',
    kind: 'h2',
    layer: 'h2',
    load: { path: GRPC_PATH, grpc: true, connections: 10, streams: 10 },
  },
  {
    name: 'tls-keepalive-50',
    title: 'TLS keep-alive small responses, 50 connections',
    kind: 'http',
    layer: 'tls',
    load: small(50, { tls: 'full' }),
  },
  {
    name: 'tls-handshake',
    title: 'TLS new connection per request, full handshake, 10 connections',
    kind: 'http',
    layer: 'tls',
    load: small(10, { newConnection: true, tls: 'full' }),
  },
  {
    name: 'tls-resumed',
    title: 'TLS new connection per request, resumed session, 10 connections',
    kind: 'http',
    layer: 'tls',
    load: small(10, { newConnection: true, tls: 'resumed' }),
  },
  {
    name: 'l4-small-50',
    title: 'L4 small responses, 50 connections',
    kind: 'http',
    layer: 'l4',
    load: small(50),
  },
  {
    name: 'l4-conns-1000',
    title: 'L4 small responses, 1,000 concurrent connections',
    kind: 'http',
    layer: 'l4',
    load: small(1000),
  },
  {
    name: 'l4-newconn',
    title: 'L4 new connection per request, 10 connections',
    kind: 'http',
    layer: 'l4',
    load: small(10, { newConnection: true }),
  },
  { name: 'l4-bulk', title: 'L4 bulk throughput, one connection', kind: 'bulk', layer: 'l4' },
  // As users run them: Portside at its default log level (info, access log on) and nginx and
  // HAProxy with their access logs, every one of them writing to a file, beside quiet Portside.
  {
    name: 'l7-default',
    title: 'L7 default logging to a file, small responses, 50 connections',
    kind: 'http',
    layer: 'l7-log',
    load: small(50),
    subject: 'portside-l7-default',
  },
  {
    name: 'l7-default-newconn',
    title: 'L7 default logging to a file, new connection per request, 10 connections',
    kind: 'http',
    layer: 'l7-log',
    load: small(10, { newConnection: true }),
    subject: 'portside-l7-default',
  },
  {
    // An L4 proxy logs a line per connection, when it closes: keep-alive load writes next to
    // nothing while it runs; the new-connection load below is where the L4 log costs.
    name: 'l4-default',
    title: 'L4 default logging to a file, small responses, 50 connections',
    kind: 'http',
    layer: 'l4-log',
    load: small(50),
    subject: 'portside-l4-default',
  },
  {
    name: 'l4-default-newconn',
    title: 'L4 default logging to a file, new connection per request, 10 connections',
    kind: 'http',
    layer: 'l4-log',
    load: small(10, { newConnection: true }),
    subject: 'portside-l4-default',
  },
  {
    name: 'l7-workers',
    title: 'L7 small responses, 50 connections, Portside with workers',
    kind: 'http',
    layer: 'l7-workers',
    load: small(50),
    subject: 'portside-l7-w2',
  },
  {
    name: 'l4-workers',
    title: 'L4 small responses, 50 connections, Portside with workers',
    kind: 'http',
    layer: 'l4-workers',
    load: small(50),
    subject: 'portside-l4-w2',
  },
  { name: 'memory', title: 'Memory (RSS)', kind: 'memory', load: small(50), hold: 1000 },
];

/** `--only a,b` keeps scenarios whose name starts with any of the given prefixes. */
export function selectScenarios(only: string[] | undefined): Scenario[] {
  if (!only || only.length === 0) return SCENARIOS;
  return SCENARIOS.filter((s) => only.some((prefix) => s.name.startsWith(prefix)));
}
