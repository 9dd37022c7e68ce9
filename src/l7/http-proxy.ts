/**
 * The L7 handler of one `protocol: http` listener in one config generation. The listener
 * hands it accepted sockets; each becomes a ClientConnection speaking Portside's own
 * HTTP/1.1 (src/l7/h1), whose requests become Exchanges forwarded through per-endpoint
 * pools of raw upstream connections, and whose upgrades become tunnels. A reload swaps
 * handlers without closing the listening socket or the keep-alive connections.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { HttpListenerConfig } from '../config/http-schema.js';
import { ms } from '../config/values.js';
import type { Cluster } from '../core/cluster.js';
import type { Logger } from '../core/log.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import { type AccessLogConfig, AccessLogWriter, accessLogEnabled } from './access-log.js';
import type {
  CatalogRouting,
  ClientTimeouts,
  ConnectionOwner,
  HandledConnection,
  Http2Limits,
  HttpHandlerContext,
  UpgradeSettings,
} from './context.js';
import { Deadlines } from './deadlines.js';
import { H2ClientSession } from './h2/client-session.js';
import { ClientConnection } from './http-connection.js';
import { catalogRoute, type RoutePolicyConfig, RouteTable } from './route-table.js';
import { UpstreamPoolOwner, type UpstreamPools } from './upstream-pools.js';

export { UpstreamPoolOwner };

export type ClusterLookup = (name: string) => Cluster | undefined;

/** What a listener named in `catalog.listeners` is given: the catalog's route policy and its lookup by Host. */
export interface CatalogListenerSettings {
  route: RoutePolicyConfig;
  cluster: (host: string | undefined) => Cluster | undefined;
  whenListed: (cluster: Cluster) => Promise<void> | undefined;
}

export class HttpProxyHandler implements ConnectionHandler, HttpHandlerContext, ConnectionOwner {
  readonly routes: RouteTable;
  readonly pools: UpstreamPools;
  readonly deadlines = new Deadlines();
  readonly maxHeaders: number;
  readonly maxHeaderBytes: number;
  readonly upgradeSettings: UpgradeSettings;
  draining = false;
  /** Clients speak TLS to this listener (x-forwarded-proto: https). */
  readonly secure: boolean;
  /** Set by a reload: the handler that serves the next requests of this one's connections. */
  private successor: HttpProxyHandler | undefined;
  /**
   * Replaced handlers that handed over to this one and still have connections: their next
   * requests run on this handler (or a later one), so its pools must outlive them.
   */
  private predecessors = 0;
  private isDrained = false;
  private readonly connections = new Set<HandledConnection>();
  readonly http2Limits: Http2Limits;
  /** nghttp2 sessions for h2c connections come from this server (never listening itself). */
  private http2Server: Http2Server | undefined;
  /** The socket being handed to http2Server ('session' is emitted during the hand-over). */
  private http2Socket: Socket | undefined;
  private readonly drainWaiters: (() => void)[] = [];
  private poolsReleased = false;
  private readonly accessLogConfig: AccessLogConfig;
  readonly accessLog: AccessLogWriter;
  private readonly timeouts: ClientTimeouts;
  readonly catalog: CatalogRouting | undefined;
  /** Checks the client timeouts of every connection (one timer, not one per socket). */
  private readonly clock: NodeJS.Timeout;

  constructor(
    config: HttpListenerConfig,
    readonly clusters: ClusterLookup,
    readonly log: Logger,
    private readonly stats?: ListenerStats,
    /** The proxy's, so pools outlive a reload; by default this handler's own. */
    private readonly poolOwner = new UpstreamPoolOwner(),
    catalog?: CatalogListenerSettings,
  ) {
    this.routes = new RouteTable(config.routes, stats, config.paths);
    this.catalog = catalog && {
      route: catalogRoute(catalog.route, config.routes.length, stats),
      cluster: catalog.cluster,
      whenListed: catalog.whenListed,
    };
    this.maxHeaders = config.limits.maxHeaders;
    this.maxHeaderBytes = config.limits.maxHeaderBytes;
    this.accessLogConfig = config.accessLog;
    this.accessLog = new AccessLogWriter(log, config.accessLog);
    this.secure = config.tls !== undefined;
    this.upgradeSettings = { idleTimeoutMs: ms(config.limits.tunnelIdleTimeout) };
    this.http2Limits = config.http2;
    const maxConnections = config.upstream.maxConnectionsPerEndpoint;
    this.pools = poolOwner.acquire(config.name, {
      connectTimeoutMs: ms(config.upstream.connectTimeout),
      maxConnections,
      maxConnectionsPerClient: config.upstream.maxConnectionsPerClient ?? Math.ceil(maxConnections / 2),
      idleTimeoutMs: ms(config.upstream.idleTimeout),
      bodyTimeoutMs: ms(config.upstream.bodyTimeout),
      maxStreamsPerConnection: config.upstream.maxStreamsPerConnection,
    });
    const timeouts: ClientTimeouts = {
      headersMs: ms(config.limits.headersTimeout),
      keepAliveMs: ms(config.limits.keepAliveTimeout),
      bodyMs: ms(config.limits.bodyTimeout),
    };
    this.timeouts = timeouts;
    // Often enough to close slow clients close to on time.
    const shortest = Math.min(timeouts.headersMs, timeouts.bodyMs);
    const tick = Math.min(1000, Math.max(50, Math.floor(shortest / 4)));
    this.clock = setInterval(() => this.checkTimeouts(), tick).unref();
  }

  get openConnections(): number {
    return this.connections.size;
  }

  accessLogOn(): boolean {
    return accessLogEnabled(this.log, this.accessLogConfig);
  }

  handle(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.connections.add(new ClientConnection(this, socket));
  }

  startHttp2(connection: ClientConnection, bytes: Buffer): void {
    this.connections.delete(connection);
    // The bytes read so far go back to the socket: nghttp2 reads them first.
    connection.socket.unshift(bytes);
    this.handleHttp2(connection.socket);
  }

  /** A socket that speaks HTTP/2 from its first byte (the preface was sniffed, or TLS ALPN chose h2). */
  handleHttp2(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.http2Server ??= this.createHttp2Server();
    this.http2Socket = socket;
    this.http2Server.emit('connection', socket);
    this.http2Socket = undefined;
  }

  /** node:http2 is loaded by the first HTTP/2 client, not at start (see test/unit/start-imports.test.ts). */
  private createHttp2Server(): Http2Server {
    const server = process.getBuiltinModule('node:http2').createServer({
      settings: {
        maxConcurrentStreams: this.http2Limits.maxConcurrentStreams,
        maxHeaderListSize: this.maxHeaderBytes,
        enablePush: false,
      },
      // Pseudo-headers count as pairs too.
      maxHeaderListPairs: this.maxHeaders + 8,
      maxSessionRejectedStreams: 100,
      maxSessionInvalidFrames: 1000,
      maxOutstandingPings: 10,
      maxSettings: 32,
    });
    server.on('session', (session: ServerHttp2Session) => {
      const socket = this.http2Socket;
      if (socket === undefined) {
        session.destroy();
        return;
      }
      this.connections.add(new H2ClientSession(this, socket, session));
    });
    return server;
  }

  /** The newest generation's handler for this listener (itself unless a reload replaced it). */
  get current(): HttpProxyHandler {
    let handler: HttpProxyHandler = this;
    while (handler.successor && !handler.draining) handler = handler.successor;
    return handler;
  }

  connectionClosed(connection: HandledConnection): void {
    this.connections.delete(connection);
    if (this.stats) {
      this.stats.bytesReceived += connection.socket.bytesRead;
      this.stats.bytesSent += connection.socket.bytesWritten;
    }
    if (this.draining || this.successor) this.drainedIfIdle();
  }

  /** Drained once none of its own connections and no predecessor's can run a request here. */
  private drainedIfIdle(): boolean {
    if (this.connections.size > 0 || this.predecessors > 0) return false;
    this.drained();
    return true;
  }

  badRequest(reason: string): void {
    if (this.log.isLevelEnabled('debug')) this.log.debug({ reason }, 'bad client request');
  }

  private checkTimeouts(): void {
    const now = performance.now();
    const timeouts = this.timeouts;
    for (const connection of this.connections) connection.checkTimeouts(now, timeouts);
  }

  /**
   * A reload replaced this handler. Closing idle keep-alive connections would race with
   * clients sending their next request on them, so they stay open and their next requests
   * are served by `successor` (the new routes); requests in flight finish here.
   */
  handOver(successor: ConnectionHandler): Promise<void> | undefined {
    if (!(successor instanceof HttpProxyHandler)) return undefined;
    this.successor = successor;
    successor.predecessors++;
    if (this.drainedIfIdle()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  rejected(): void {
    if (this.stats) this.stats.rejectedTotal++;
  }

  responded(status: number, method: string, durationMs: number): void {
    const stats = this.stats;
    if (stats === undefined) return;
    stats.responses.count(status, method);
    stats.requestDurations.observe(durationMs);
  }

  drain(): Promise<void> {
    this.draining = true;
    for (const connection of this.connections) connection.goAway();
    if (this.drainedIfIdle()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private drained(): void {
    if (this.isDrained) return;
    this.isDrained = true;
    this.releasePools(false);
    clearInterval(this.clock);
    this.deadlines.stop();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    const successor = this.successor;
    if (successor) {
      successor.predecessors--;
      if (successor.draining || successor.successor) successor.drainedIfIdle();
    }
  }

  close(): void {
    this.draining = true;
    for (const connection of this.connections) connection.close();
    this.releasePools(true);
    clearInterval(this.clock);
    this.deadlines.stop();
  }

  /** Once per handler: drained() and close() may both run (a shutdown after a hand-over). */
  private releasePools(cut: boolean): void {
    if (this.poolsReleased) return;
    this.poolsReleased = true;
    void this.poolOwner.release(this.pools, cut);
  }
}
