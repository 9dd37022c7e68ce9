/**
 * What every request (and tunnel) of one HTTP handler shares: the compiled routes, the
 * upstream pools, the cluster lookup of its config generation, logging and drain state.
 * HttpProxyHandler implements it; exchanges and tunnels only read it.
 */
import type { Cluster } from '../core/cluster.js';
import type { Logger } from '../core/log.js';
import type { AccessLogWriter } from './access-log.js';
import type { Deadlines } from './deadlines.js';
import type { ClientConnection } from './http-connection.js';
import type { CompiledRoute, RouteTable } from './route-table.js';
import type { UpstreamPools } from './upstream-pools.js';

/** What every exchange of one handler shares. */
export interface ExchangeContext {
  readonly routes: RouteTable;
  readonly pools: UpstreamPools;
  /** Route timeouts of the handler's requests. */
  readonly deadlines: Deadlines;
  readonly clusters: (name: string) => Cluster | undefined;
  /** The Service catalog, on listeners it routes: asked when no route matches. */
  readonly catalog: CatalogRouting | undefined;
  readonly log: Logger;
  /** Where access log lines go (batched per event-loop turn). */
  readonly accessLog: AccessLogWriter;
  /** Evaluated once per request: access log on and the level lets it through. */
  accessLogOn(): boolean;
  /** Set by drain(): answer with `connection: close`. */
  readonly draining: boolean;
  /** A request got no usable endpoint (503) or could not connect to any (502). */
  rejected(): void;
  /** A request ended with this status (0: no response) after `durationMs`: the listener's counts. */
  responded(status: number, method: string, durationMs: number): void;
  /** The listener terminates TLS: upstreams get `x-forwarded-proto: https`. */
  readonly secure?: boolean;
}

/** How a listener routes the catalog's Hosts (`svc.ns`, `svc.ns.svc.cluster.local:port`…). */
export interface CatalogRouting {
  /** The route every catalog request takes: `catalog.route`'s timeouts, retries and header edits. */
  readonly route: CompiledRoute;
  /** The cluster of the Service port `host` names; undefined when the catalog has none. */
  cluster(host: string | undefined): Cluster | undefined;
  /**
   * In a worker thread, a catalog cluster built for this request waits for the main thread's
   * endpoint list: resolves when it has it (or gave up waiting). Undefined: nothing to wait for.
   */
  whenListed(cluster: Cluster): Promise<void> | undefined;
}

export interface UpgradeSettings {
  /** `limits.tunnelIdleTimeout`: a tunnel with no byte either way this long is closed. */
  idleTimeoutMs: number;
}

/** What a client connection needs from the handler serving its current request. */
export interface HttpHandlerContext extends ExchangeContext {
  readonly upgradeSettings: UpgradeSettings;
}

/** The client-side timeouts the handler's clock enforces (`limits.*`, in ms). */
export interface ClientTimeouts {
  readonly headersMs: number;
  readonly keepAliveMs: number;
  readonly bodyMs: number;
}

/** The handler that accepted a client connection (it keeps owning it across reloads). */
export interface ConnectionOwner {
  /** The handler serving the connection's next request (a reload's successor, or itself). */
  readonly current: HttpHandlerContext;
  /** The listener's HTTP/2 settings. */
  readonly http2Limits: Http2Limits;
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  connectionClosed(connection: HandledConnection): void;
  badRequest(reason: string): void;
  /** The connection began with the HTTP/2 preface: `bytes` (read so far) and its socket go to HTTP/2. */
  startHttp2(connection: ClientConnection, bytes: Buffer): void;
}

/** A client connection as its handler sees it, HTTP/1.1 or HTTP/2. */
export interface HandledConnection {
  readonly socket: import('node:net').Socket;
  /** Nothing in progress: safe to close when draining. */
  readonly idle: boolean;
  checkTimeouts(now: number, timeouts: ClientTimeouts): void;
  /** Closes now. */
  close(): void;
  /** Draining: finish what is in progress, take nothing new (HTTP/2: GOAWAY). */
  goAway(): void;
}

/** A listener's `http2` settings and the header limits they share with HTTP/1.1. */
export interface Http2Limits {
  readonly maxConcurrentStreams: number;
  readonly maxResetsPerSecond: number;
}
