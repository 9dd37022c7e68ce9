import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { PickContext } from '../balancing/picker.js';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';
import { isResourceExhaustion } from '../listeners/resource-errors.js';
import type { DropReason, UdpListenerStats } from '../listeners/udp-listener.js';

/** How a UDP session ended; one word in its log line. */
export type UdpEnd =
  | 'idle_timeout' // no datagram either way for idleTimeout
  | 'drain_cut'; // still open when the drain timeout expired

/** Datagrams held while the upstream socket connects; more are dropped (a client retries). */
const MAX_QUEUED = 16;

/** What a session reads from the handler that owns it; a reload moves it to the next handler. */
export interface UdpSessionOwner {
  readonly cluster: Cluster;
  /** The owner's clock, in ticks (see UdpProxyHandler). */
  readonly tick: number;
  readonly replyTimeoutTicks: number | undefined;
  readonly listener: { readonly socket: Socket; readonly stats: UdpListenerStats };
  dropped(reason: DropReason, count?: number): void;
  outOfResources(code: string): void;
}

export interface UdpSessionSummary {
  listener: string;
  client: string;
  /** The last endpoint the session used. */
  endpoint: string | undefined;
  /** Endpoints used in turn: more than 1 when the session moved. */
  endpoints: number;
  datagramsFromClient: number;
  datagramsToClient: number;
  bytesFromClient: number;
  bytesToClient: number;
  /** Datagrams the endpoint did not answer within replyTimeout (only when it is set). */
  unanswered: number;
  durationMs: number;
  end: UdpEnd;
  error: string | undefined;
}

/**
 * One client address and port: a connected upstream socket to the endpoint picked for it,
 * datagrams passed unchanged both ways. The session stays on its endpoint while that is
 * usable; on the first datagram after it stops being usable (health, outlier ejection,
 * discovery removed it, or the kernel said "port unreachable") it picks again.
 */
export class UdpSession {
  /** Tick of the last datagram in either direction. */
  lastTick: number;
  private upstream: Socket | undefined;
  private connected = false;
  private queue: Buffer[] = [];
  private endpoint: Endpoint | undefined;
  /** The cluster's endpoint list when the endpoint was last found in it. */
  private seenEndpoints: readonly Endpoint[] | undefined;
  private readonly pickContext: PickContext;
  /** Endpoints that refused this session; avoided by its next picks. */
  private readonly refused = new Set<Endpoint>();
  /** Tick of the oldest datagram not yet answered (replyTimeout only); -1 when none. */
  private awaitingTick = -1;
  private awaitingSince = 0;
  private readonly startedAt = performance.now();
  private endpointsUsed = 0;
  private datagramsFromClient = 0;
  private datagramsToClient = 0;
  private bytesFromClient = 0;
  private bytesToClient = 0;
  private unanswered = 0;
  private error: string | undefined;

  constructor(
    private readonly client: RemoteInfo,
    public owner: UdpSessionOwner,
  ) {
    this.lastTick = owner.tick;
    // The listener's address (for `destination_hash`) costs a system call: read only when asked.
    const session = this;
    this.pickContext = {
      clientAddress: client.address,
      tried: this.refused,
      get destinationAddress() {
        return session.owner.listener.socket.address().address;
      },
      get destinationPort() {
        return session.owner.listener.socket.address().port;
      },
    };
  }

  /** Forwards one client datagram; false when no endpoint can take it (dropped and counted). */
  fromClient(datagram: Buffer): boolean {
    const owner = this.owner;
    this.lastTick = owner.tick;
    this.datagramsFromClient++;
    this.bytesFromClient += datagram.length;
    if (!this.upstream || !this.endpointUsable()) {
      if (!this.connectNext()) {
        owner.dropped('no_endpoint');
        return false;
      }
    }
    const endpoint = this.endpoint!;
    if (this.connected) this.upstream!.send(datagram);
    else if (this.queue.length < MAX_QUEUED) this.queue.push(datagram);
    else {
      owner.dropped('not_connected');
      return true;
    }
    endpoint.state.bytesToUpstream += datagram.length;
    if (owner.replyTimeoutTicks !== undefined && this.awaitingTick < 0) {
      this.awaitingTick = owner.tick;
      this.awaitingSince = performance.now();
    }
    return true;
  }

  /**
   * Called on every tick of the owner's clock. Counts an unanswered datagram against its
   * endpoint; returns true when the session has been idle for `idleTicks`.
   */
  onTick(tick: number, idleTicks: number): boolean {
    const replyTicks = this.owner.replyTimeoutTicks;
    if (replyTicks !== undefined && this.awaitingTick >= 0 && tick - this.awaitingTick > replyTicks) {
      this.awaitingTick = -1;
      this.unanswered++;
      if (this.endpoint) this.owner.cluster.reportFailure(this.endpoint, 'no-reply');
    }
    return tick - this.lastTick > idleTicks;
  }

  /** A reload moved the session to `owner`: its clock starts from now, its cluster is checked again. */
  adoptedBy(owner: UdpSessionOwner): void {
    this.owner = owner;
    this.lastTick = owner.tick;
    if (this.awaitingTick >= 0) this.awaitingTick = owner.tick;
    this.seenEndpoints = undefined;
  }

  /** Closes the upstream socket and describes the session for its log line. */
  finish(end: UdpEnd, listener: string): UdpSessionSummary {
    const endpoint = this.endpoint;
    this.closeUpstream();
    return {
      listener,
      client: `${this.client.address}:${this.client.port}`,
      endpoint: endpoint?.id,
      endpoints: this.endpointsUsed,
      datagramsFromClient: this.datagramsFromClient,
      datagramsToClient: this.datagramsToClient,
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.bytesToClient,
      unanswered: this.unanswered,
      durationMs: Math.round(performance.now() - this.startedAt),
      end,
      error: this.error,
    };
  }

  /** Still in the cluster (as of its current endpoint list) and not excluded by health or discovery. */
  private endpointUsable(): boolean {
    const endpoint = this.endpoint!;
    const cluster = this.owner.cluster;
    if ((endpoint.state.flags & cluster.excludeFlags) !== 0) return false;
    const list = cluster.endpoints;
    if (list === this.seenEndpoints) return true;
    // The list changed (discovery, reload): look once, not on every datagram.
    if (!list.some((e) => e.id === endpoint.id)) return false;
    this.seenEndpoints = list;
    return true;
  }

  private pick(): Endpoint | undefined {
    const cluster = this.owner.cluster;
    this.pickContext.excludeFlags = undefined;
    const endpoint = cluster.pick(this.pickContext);
    if (endpoint || this.refused.size === 0) return endpoint;
    // Every endpoint refused once; one may be back, so try them all again.
    this.refused.clear();
    this.pickContext.excludeFlags = undefined;
    return cluster.pick(this.pickContext);
  }

  private connectNext(): boolean {
    const endpoint = this.pick();
    if (!endpoint) return false;
    if (this.upstream && endpoint.id === this.endpoint?.id) {
      this.endpoint = endpoint;
      this.seenEndpoints = this.owner.cluster.endpoints;
      return true;
    }
    this.closeUpstream();
    this.endpoint = endpoint;
    this.seenEndpoints = this.owner.cluster.endpoints;
    this.endpointsUsed++;
    endpoint.state.active++;
    endpoint.state.connectionsTotal++;
    const upstream = createSocket(isIPv6(endpoint.host) ? 'udp6' : 'udp4');
    this.upstream = upstream;
    upstream.on('message', (datagram) => this.fromUpstream(upstream, endpoint, datagram));
    upstream.on('error', (error: NodeJS.ErrnoException) => this.upstreamError(upstream, endpoint, error));
    upstream.connect(endpoint.port, endpoint.host, (error?: Error) => {
      if (error) this.upstreamError(upstream, endpoint, error as NodeJS.ErrnoException);
      else if (upstream === this.upstream) this.onConnected(upstream);
    });
    return true;
  }

  private onConnected(upstream: Socket): void {
    this.connected = true;
    for (const datagram of this.queue) upstream.send(datagram);
    this.queue = [];
  }

  private fromUpstream(upstream: Socket, endpoint: Endpoint, datagram: Buffer): void {
    if (upstream !== this.upstream) return;
    const owner = this.owner;
    this.lastTick = owner.tick;
    this.datagramsToClient++;
    this.bytesToClient += datagram.length;
    endpoint.state.bytesFromUpstream += datagram.length;
    const { socket, stats } = owner.listener;
    stats.datagramsSent++;
    stats.bytesSent += datagram.length;
    socket.send(datagram, this.client.port, this.client.address);
    if (this.awaitingTick >= 0) {
      this.awaitingTick = -1;
      owner.cluster.reportSuccess(endpoint, performance.now() - this.awaitingSince);
    }
  }

  /**
   * ECONNREFUSED: the endpoint's host answered "port unreachable" to an earlier datagram, so
   * nothing listens there. The session picks another endpoint for its next datagram.
   */
  private upstreamError(upstream: Socket, endpoint: Endpoint, error: NodeJS.ErrnoException): void {
    if (upstream !== this.upstream) return;
    const code = error.code ?? 'error';
    this.error = code;
    const queued = this.queue.length;
    this.closeUpstream();
    if (isResourceExhaustion(error)) {
      // The proxy is out of sockets: not the endpoint's fault, so nothing counts against it.
      this.owner.outOfResources(code);
      if (queued > 0) this.owner.dropped('out_of_resources', queued);
      return;
    }
    if (queued > 0) this.owner.dropped('no_endpoint', queued);
    this.refused.add(endpoint);
    this.owner.cluster.reportFailure(endpoint, code === 'ECONNREFUSED' ? 'refused' : code);
  }

  private closeUpstream(): void {
    const upstream = this.upstream;
    if (!upstream) return;
    this.upstream = undefined;
    this.connected = false;
    this.queue = [];
    this.awaitingTick = -1;
    this.endpoint!.state.active--;
    try {
      upstream.close();
    } catch {
      // Already closed by a failed bind: nothing is left to release.
    }
  }
}
