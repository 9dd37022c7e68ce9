import { type AddressInfo, createServer, type ListenOptions, type Server, type Socket } from 'node:net';
import { formatAddress } from '../config/values.js';
import type { Logger } from '../core/log.js';
import { defaultAcceptors } from './acceptors.js';
import { DurationHistogram } from './duration-histogram.js';
import type { ConnectionHandler } from './handler.js';
import { ListenerBase } from './listener-base.js';
import { resourceErrors } from './resource-errors.js';
import { ResponseCounts } from './response-counts.js';

/** Counters for one HTTP route, kept by its listener under the route's label. */
export class RouteCounters {
  requestsTotal = 0;
  /** Requests answered with Portside's own error, or whose response was cut. */
  errorsTotal = 0;
  retriesTotal = 0;
  /**
   * gRPC requests by the grpc-status their client got (index 0–16; a status outside the
   * spec counts as 2, UNKNOWN, as gRPC clients read it). Created by the first gRPC request.
   */
  grpcStatus: number[] | undefined;
  /** Responses to the route's requests by status code and method. */
  readonly responses = new ResponseCounts();

  countGrpc(status: number): void {
    this.grpcStatus ??= new Array<number>(17).fill(0);
    this.grpcStatus[status >= 0 && status <= 16 ? status : 2]!++;
  }
}

/** Counters for one listener; they live as long as its socket, across config generations. */
export class ListenerStats {
  connectionsTotal = 0;
  /** Connections closed because no endpoint could be used. */
  rejectedTotal = 0;
  /** Bytes from and to clients, counted when each connection closes. */
  bytesReceived = 0;
  bytesSent = 0;
  /** HTTP listeners: every response by status code and method, route misses included. */
  readonly responses = new ResponseCounts();
  /** HTTP listeners: how long requests took, from the complete head to the end of the response. */
  readonly requestDurations = new DurationHistogram();
  /** TLS listeners: failed handshakes and refused clients, by reason (OpenSSL's code, `client-refused`). */
  readonly tlsErrors = new Map<string, number>();
  private readonly routes = new Map<string, RouteCounters>();

  /** The counters of the route with this label (see config/route-label.ts), created on first use. */
  routeCounters(label: string): RouteCounters {
    let counters = this.routes.get(label);
    if (!counters) {
      counters = new RouteCounters();
      this.routes.set(label, counters);
    }
    return counters;
  }
}

/**
 * Binds one address and owns its listening sockets: `acceptors` `net.Server`s on the same
 * address where Node can share one (see acceptors.ts), all feeding the same handler and
 * stats. Each accepted socket goes to the current `handler`; a reload assigns a new handler
 * (one assignment, atomic on the event loop) without closing the sockets, so there is no
 * accept gap.
 */
export class Listener extends ListenerBase<ConnectionHandler> {
  readonly stats = new ListenerStats();
  private readonly servers: Server[] = [];

  constructor(
    name: string,
    configuredAddress: string,
    /** Where accept errors (EMFILE…) are reported, at most once a second. */
    private readonly log?: Logger,
    /** Listening sockets on the address; above 1 only where `reusePort` works. */
    private readonly acceptors = defaultAcceptors(),
  ) {
    super(name, configuredAddress);
  }

  private readonly onConnection = (socket: Socket): void => {
    this.stats.connectionsTotal++;
    const handler = this.handler;
    if (handler) handler.handle(socket);
    else socket.destroy();
  };

  /**
   * Binds the first socket (resolving port 0), then the others on its port. With several
   * sockets, a port held by another process is first checked without `reusePort`: with it,
   * a second Portside of the same user would silently share the port instead of failing.
   * `reusePort`: this listener joins other worker threads' sockets on the port (SO_REUSEPORT),
   * so the port is expected to be held already and is not checked.
   */
  async bind(options: { reusePort?: boolean } = {}): Promise<void> {
    const { host, port } = this.bindAddress();
    const joins = options.reusePort === true;
    const shared = this.acceptors > 1 || joins;
    try {
      if (shared && !joins && port !== 0) await this.listenOne(host, port, false).then(closeServer);
      const first = await this.listenOne(host, port, shared);
      this.servers.push(first);
      const boundPort = (first.address() as AddressInfo).port;
      for (let i = 1; i < this.acceptors; i++) this.servers.push(await this.listenOne(host, boundPort, true));
    } catch (error) {
      this.stopAccepting();
      this.servers.length = 0;
      throw this.bindFailed(error as NodeJS.ErrnoException);
    }
    // Accept errors after bind (EMFILE: libuv has already accepted and closed the
    // connection to keep the backlog moving) must not crash the process; they are counted.
    for (const server of this.servers) {
      server.on('error', (error: NodeJS.ErrnoException) => {
        resourceErrors.record('accept', error.code ?? 'unknown', this.log, { listener: this.name });
      });
    }
  }

  private listenOne(host: string, port: number, reusePort: boolean): Promise<Server> {
    // Sockets arrive unread, so a handler can make one read into its own buffers
    // (see adopt-socket.ts); a handler that does not starts reading with resume().
    const server = createServer(
      { allowHalfOpen: true, noDelay: true, pauseOnConnect: true },
      this.onConnection,
    );
    // `reusePort` is in Node's ListenOptions from 22.12; these types are Node 20's.
    const options: ListenOptions & { reusePort?: boolean } = { host, port, backlog: 4096 };
    if (reusePort) options.reusePort = true;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** True while the sockets are bound and accepting. */
  get bound(): boolean {
    return this.servers[0]?.listening ?? false;
  }

  /** The address actually bound (resolves port 0). */
  get boundAddress(): string {
    const a = this.servers[0]?.address();
    if (!a || typeof a === 'string') return this.configuredAddress;
    return formatAddress({ host: a.address, port: a.port });
  }

  get port(): number {
    const a = this.servers[0]?.address();
    return a && typeof a !== 'string' ? a.port : 0;
  }

  /** Stop accepting (the port is released at once); open connections are untouched. */
  stopAccepting(): void {
    for (const server of this.servers) if (server.listening) server.close();
  }

  /**
   * Stop accepting, let every handler finish its connections for up to `timeoutMs`,
   * then destroy what is left. Resolves with the number of connections cut.
   */
  drain(timeoutMs: number): Promise<number> {
    this.stopAccepting();
    return this.drainHandlers(timeoutMs);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
