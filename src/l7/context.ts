/**
 * What every request (and tunnel) of one HTTP handler shares: the compiled routes, the
 * upstream pools, the cluster lookup of its config generation, logging and drain state.
 * HttpProxyHandler implements it; exchanges and tunnels only read it.
 */
import type { Cluster } from '../core/cluster.js';
import type { Logger } from '../core/log.js';
import type { Deadlines } from './deadlines.js';
import type { ClientConnection } from './http-connection.js';
import type { RouteTable } from './route-table.js';
import type { UpstreamPools } from './upstream-pools.js';

/** What every exchange of one handler shares. */
export interface ExchangeContext {
  readonly routes: RouteTable;
  readonly pools: UpstreamPools;
  /** Route timeouts of the handler's requests. */
  readonly deadlines: Deadlines;
  readonly clusters: (name: string) => Cluster | undefined;
  readonly log: Logger;
  /** Evaluated once per request: access log on and the level lets it through. */
  accessLogOn(): boolean;
  /** Set by drain(): answer with `connection: close`. */
  readonly draining: boolean;
  /** A request got no usable endpoint (503) or could not connect to any (502). */
  rejected(): void;
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
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  connectionClosed(connection: ClientConnection): void;
  badRequest(reason: string): void;
}
