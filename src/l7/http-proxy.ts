/**
 * The L7 handler of one `protocol: http` listener in one config generation. It owns a
 * `node:http` server that never listens: the listener hands it accepted sockets, so a
 * reload can swap handlers without closing the listening socket. Requests become
 * Exchanges (forwarded through per-endpoint undici pools); upgrades become tunnels.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpListenerConfig } from '../config/http-schema.js';
import { ms } from '../config/values.js';
import type { Cluster } from '../core/cluster.js';
import type { Logger } from '../core/log.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import { accessLogEnabled } from './access-log.js';
import type { ExchangeContext } from './context.js';
import { HTTP_ERRORS, type HttpError, writeRawError } from './errors.js';
import { Exchange } from './exchange.js';
import { RouteTable } from './route-table.js';
import { type UpgradeSettings, UpgradeTunnel } from './upgrade.js';
import { UpstreamPools } from './upstream-pools.js';

export type ClusterLookup = (name: string) => Cluster | undefined;

/** Node's parser error codes → what the client is told. */
function clientErrorFor(code: string | undefined): HttpError {
  if (code === 'HPE_HEADER_OVERFLOW') return HTTP_ERRORS.headersTooLarge;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return HTTP_ERRORS.headersTimeout;
  return HTTP_ERRORS.badRequest;
}

export class HttpProxyHandler implements ConnectionHandler, ExchangeContext {
  readonly routes: RouteTable;
  readonly pools: UpstreamPools;
  readonly maxHeaders: number;
  draining = false;
  /** Set by a reload: the handler that serves the next requests of this one's connections. */
  private successor: HttpProxyHandler | undefined;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly drainWaiters: (() => void)[] = [];
  private readonly upgradeSettings: UpgradeSettings;
  private readonly accessLog: boolean;

  constructor(
    config: HttpListenerConfig,
    readonly clusters: ClusterLookup,
    readonly log: Logger,
    private readonly stats?: ListenerStats,
  ) {
    this.routes = new RouteTable(config.routes);
    this.maxHeaders = config.limits.maxHeaders;
    this.accessLog = config.accessLog;
    const connectTimeoutMs = ms(config.upstream.connectTimeout);
    this.upgradeSettings = { connectTimeoutMs };
    this.pools = new UpstreamPools({
      connectTimeoutMs,
      maxConnections: config.upstream.maxConnectionsPerEndpoint,
      idleTimeoutMs: ms(config.upstream.idleTimeout),
      bodyTimeoutMs: ms(config.upstream.bodyTimeout),
    });
    const headersTimeout = ms(config.limits.headersTimeout);
    this.server = createServer(
      {
        maxHeaderSize: config.limits.maxHeaderBytes,
        headersTimeout,
        // Bodies may stream for as long as they flow; the route timeout covers the upstream.
        requestTimeout: 0,
        keepAliveTimeout: ms(config.limits.keepAliveTimeout),
        // How often Node checks headersTimeout: often enough to close slow clients on time.
        connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(headersTimeout / 4))),
        noDelay: true,
      },
      this.onRequest,
    );
    // One more than the limit so that going over it is visible (Node drops the excess silently).
    this.server.maxHeadersCount = this.maxHeaders + 1;
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', this.onClientError);
    // Node starts connection tracking (headersTimeout, closeIdleConnections) on 'listening';
    // this server never listens itself, so it is started here.
    this.server.emit('listening');
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  accessLogOn(): boolean {
    return accessLogEnabled(this.log, this.accessLog);
  }

  handle(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0 && (this.draining || this.successor)) this.drained();
    });
    this.server.emit('connection', socket);
    socket.resume();
  }

  /** The newest generation's handler for this listener (itself unless a reload replaced it). */
  private get current(): HttpProxyHandler {
    let handler: HttpProxyHandler = this;
    while (handler.successor && !handler.draining) handler = handler.successor;
    return handler;
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    new Exchange(this.current, req, res).start();
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const handler = this.current;
    new UpgradeTunnel(handler, handler.upgradeSettings, req, socket, head).start();
  };

  /**
   * A reload replaced this handler. Closing idle keep-alive connections would race with
   * clients sending their next request on them, so they stay open and their next requests
   * are served by `successor` (the new routes); requests in flight finish here.
   */
  handOver(successor: ConnectionHandler): Promise<void> | undefined {
    if (!(successor instanceof HttpProxyHandler)) return undefined;
    this.successor = successor;
    if (this.sockets.size === 0) {
      this.drained();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Parse errors (incl. CL+TE smuggling), oversized headers, headers timeout. */
  private readonly onClientError = (error: Error & { code?: string }, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const answer = clientErrorFor(error.code);
    if (this.log.isLevelEnabled('debug'))
      this.log.debug({ code: error.code, answer: answer.code }, 'bad client request');
    writeRawError(socket, answer);
  };

  rejected(): void {
    if (this.stats) this.stats.rejectedTotal++;
  }

  exchangeDone(socket: Socket): void {
    // While draining, a keep-alive connection closes once its response is written.
    if (this.draining && !socket.destroyed) socket.end();
  }

  drain(): Promise<void> {
    this.draining = true;
    this.server.closeIdleConnections();
    if (this.sockets.size === 0) {
      this.drained();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private drained(): void {
    void this.pools.close();
    this.server.close(() => {});
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  close(): void {
    this.draining = true;
    for (const socket of this.sockets) socket.destroy();
    this.pools.destroy();
    this.server.close(() => {});
  }
}
