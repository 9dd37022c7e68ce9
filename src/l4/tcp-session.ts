import { connect, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { PickContext } from '../balancing/picker.js';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';
import { adoptWithReadBuffer } from '../listeners/adopt-socket.js';
import { isResourceExhaustion } from '../listeners/resource-errors.js';
import { IdleWatch } from './idle-watch.js';
import { OneWayCopy } from './one-way-copy.js';

/** How a proxied TCP connection ended; one word in the connection log line. */
export type TcpEnd =
  | 'closed' // both sides finished normally
  | 'idle_timeout'
  | 'no_endpoint' // nothing usable in the cluster
  | 'connect_failed' // every usable endpoint refused or timed out
  | 'client_error'
  | 'upstream_error'
  | 'client_gone' // client left before an upstream connection was made
  | 'out_of_resources' // the proxy could not open an upstream socket (EMFILE...): no endpoint's fault
  | 'drain_cut'; // still open when the drain timeout expired

export interface TcpSessionSettings {
  listener: string;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Whether every connection is logged (else only rejections): names the client only then. */
  logsEachConnection: () => boolean;
}

export interface TcpSessionSummary {
  listener: string;
  client: string;
  endpoint: string | undefined;
  attempts: number;
  bytesFromClient: number;
  bytesToClient: number;
  durationMs: number;
  end: TcpEnd;
  error: string | undefined;
}

/**
 * One client connection: pick an endpoint, connect (trying each usable endpoint at most
 * once while connects fail), then pipe both ways with backpressure and half-close.
 */
export class TcpSession {
  private upstream: Socket | undefined;
  private endpoint: Endpoint | undefined;
  private readonly tried = new Set<Endpoint>();
  private readonly pickContext: PickContext;
  /** `address:port` of the client, read at the start when every connection is logged. */
  private readonly clientName: string | undefined;
  private readonly startedAt = performance.now();
  private connectTimer: NodeJS.Timeout | undefined;
  private connectedAt = 0;
  private ended: TcpEnd | undefined;
  private error: string | undefined;
  private upstreamFailed = false;
  private openSockets = 1;
  private idleWatch: IdleWatch | undefined;
  private readonly client: Socket;
  private readonly toUpstream = new OneWayCopy();
  private readonly toClient = new OneWayCopy();
  /** False when the client socket could not take a read buffer and delivers 'data' events. */
  private readonly clientReadsIntoBuffer: boolean;

  constructor(
    accepted: Socket,
    private readonly cluster: Cluster,
    private readonly settings: TcpSessionSettings,
    private readonly onDone: (session: TcpSession, summary: TcpSessionSummary) => void,
  ) {
    const adopted = adoptWithReadBuffer(accepted, {
      buffer: this.toUpstream.nextBuffer,
      callback: this.toUpstream.onRead,
    });
    const client = adopted ?? accepted;
    this.client = client;
    this.clientName = settings.logsEachConnection() ? nameOf(client) : undefined;
    // The client address costs a system call (getpeername): only pickers that hash on it ask.
    this.pickContext = {
      tried: this.tried,
      get clientAddress() {
        return client.remoteAddress;
      },
      get destinationAddress() {
        return client.localAddress;
      },
      get destinationPort() {
        return client.localPort;
      },
    };
    this.clientReadsIntoBuffer = adopted !== undefined;
    this.toUpstream.source = client;
    this.toClient.destination = client;
    // Hold client bytes in the kernel until an upstream connection exists.
    client.pause();
    client.on('error', (e: NodeJS.ErrnoException) => this.fail('client_error', e.code ?? e.message));
    client.once('close', () => this.onClientClose());
    this.connectNext();
  }

  /** True once the session has ended (possibly inside its constructor, when no endpoint is usable). */
  get finished(): boolean {
    return this.ended !== undefined;
  }

  /** Destroy both sockets now (drain timeout, process exit). */
  cut(): void {
    this.finish('drain_cut');
  }

  private connectNext(): void {
    const endpoint = this.cluster.pick(this.pickContext);
    if (!endpoint) {
      this.finish(this.tried.size === 0 ? 'no_endpoint' : 'connect_failed');
      return;
    }
    this.tried.add(endpoint);
    this.endpoint = endpoint;
    endpoint.state.active++;
    const tls = this.cluster.tls;
    let upstream: Socket;
    let tcpConnected = false;
    if (tls === undefined) {
      upstream = connect({
        host: endpoint.host,
        port: endpoint.port,
        allowHalfOpen: true,
        noDelay: true,
        onread: { buffer: this.toClient.nextBuffer, callback: this.toClient.onRead },
      });
      upstream.once('connect', () => this.onConnected(upstream, endpoint));
    } else {
      // The cluster originates TLS: the pipe starts once the handshake is done.
      // allowHalfOpen reaches the TLSSocket (node:tls passes it on; its types omit it).
      const options = { ...tls.connectOptions(endpoint.host, endpoint.port, undefined), allowHalfOpen: true };
      // node:tls is loaded by the first TLS connection (see test/unit/start-imports.test.ts).
      const secure = process.getBuiltinModule('node:tls').connect(options as ConnectionOptions);
      secure.setNoDelay(true);
      tls.rememberSessions(secure, endpoint.host, endpoint.port);
      secure.once('connect', () => {
        tcpConnected = true;
      });
      secure.once('secureConnect', () => this.onConnected(secure, endpoint));
      upstream = secure;
    }
    this.upstream = upstream;
    this.connectTimer = setTimeout(
      () => this.connectFailed(upstream, endpoint, 'connect-timeout'),
      this.settings.connectTimeoutMs,
    );
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (this.connectedAt === 0 && isResourceExhaustion(e)) this.outOfResources(upstream, endpoint, e.code!);
      else if (this.connectedAt === 0 && tcpConnected && tls !== undefined) {
        const failure = tls.handshakeFailed(e, endpoint.host, endpoint.port);
        this.connectFailed(upstream, endpoint, `tls: ${failure.reason}`);
      } else if (this.connectedAt === 0)
        this.connectFailed(
          upstream,
          endpoint,
          e.code === 'ECONNREFUSED' ? 'connect-refused' : `connect-${e.code ?? 'error'}`,
        );
      else {
        this.upstreamFailed = true;
        this.fail('upstream_error', e.code ?? e.message);
      }
    });
  }

  private connectFailed(upstream: Socket, endpoint: Endpoint, reason: string): void {
    if (upstream !== this.upstream || this.ended) return;
    clearTimeout(this.connectTimer);
    upstream.destroy();
    endpoint.state.active--;
    this.upstream = undefined;
    this.cluster.reportFailure(endpoint, reason);
    this.error = reason;
    this.connectNext();
  }

  /**
   * The proxy is out of file descriptors (or socket buffers): not the endpoint's failure, so
   * nothing is reported against it, and no other endpoint is tried (it would fail the same).
   */
  private outOfResources(upstream: Socket, endpoint: Endpoint, code: string): void {
    if (upstream !== this.upstream || this.ended) return;
    clearTimeout(this.connectTimer);
    upstream.destroy();
    endpoint.state.active--;
    this.upstream = undefined;
    this.error = code;
    this.finish('out_of_resources');
  }

  private onConnected(upstream: Socket, endpoint: Endpoint): void {
    if (upstream !== this.upstream || this.ended) return;
    clearTimeout(this.connectTimer);
    this.connectedAt = performance.now();
    this.error = undefined;
    endpoint.state.connectionsTotal++;
    this.openSockets = 2;
    const client = this.client;
    upstream.once('close', () => this.onSocketClosed());
    if (this.settings.idleTimeoutMs > 0) {
      this.idleWatch = new IdleWatch(
        this.settings.idleTimeoutMs,
        () => this.toUpstream.reads + this.toClient.reads,
        () => this.finish('idle_timeout'),
      );
    }
    this.toClient.source = upstream;
    this.toUpstream.destination = upstream;
    if (!this.clientReadsIntoBuffer) client.on('data', this.toUpstream.onData);
    // A TLS upstream (no `onread` in node:tls) delivers its decrypted bytes as events.
    if (this.cluster.tls !== undefined) upstream.on('data', this.toClient.onData);
    // Ending the destination when the source ends is the half-close, in both directions.
    client.on('end', () => passEnd(upstream));
    upstream.on('end', () => passEnd(client));
    client.resume();
  }

  private onClientClose(): void {
    if (!this.upstream || this.connectedAt === 0) {
      // The client left while we were still connecting.
      this.finish('client_gone');
      return;
    }
    this.onSocketClosed();
  }

  private onSocketClosed(): void {
    this.openSockets--;
    if (this.openSockets > 0) {
      // One side is fully closed; if the other still waits on it (e.g. it reset), close it too.
      if (this.client.destroyed && this.upstream && !this.upstream.writableEnded) this.upstream.end();
      if (this.upstream?.destroyed && !this.client.writableEnded) this.client.end();
      return;
    }
    this.finish('closed');
  }

  private fail(end: TcpEnd, error: string): void {
    this.error ??= error;
    this.finish(end);
  }

  private finish(end: TcpEnd): void {
    if (this.ended) return;
    this.ended = end;
    clearTimeout(this.connectTimer);
    this.idleWatch?.stop();
    const upstream = this.upstream;
    const endpoint = this.endpoint;
    // Rejections are always logged; the client is still connected when they happen.
    const rejected = end === 'no_endpoint' || end === 'connect_failed';
    const client = this.clientName ?? (rejected ? nameOf(this.client) : '');
    // A reset on one side is passed on as a reset, so the peer sees an abnormal end, not a clean FIN.
    if (end === 'upstream_error' && !this.client.destroyed) this.client.resetAndDestroy();
    else this.client.destroy();
    if (end === 'client_error' && upstream && !upstream.destroyed && upstream.readyState === 'open')
      upstream.resetAndDestroy();
    else upstream?.destroy();
    if (endpoint && upstream) {
      endpoint.state.active--;
      if (this.connectedAt > 0) {
        endpoint.state.bytesToUpstream += upstream.bytesWritten;
        endpoint.state.bytesFromUpstream += upstream.bytesRead;
        if (this.upstreamFailed) this.cluster.reportFailure(endpoint, 'reset');
        else this.cluster.reportSuccess(endpoint, this.connectedAt - this.startedAt, 'connect');
      }
    }
    this.onDone(this, {
      listener: this.settings.listener,
      client,
      endpoint: this.connectedAt > 0 ? endpoint?.id : undefined,
      attempts: this.tried.size,
      bytesFromClient: this.client.bytesRead,
      bytesToClient: this.client.bytesWritten,
      durationMs: Math.round(performance.now() - this.startedAt),
      end,
      error: this.error,
    });
  }
}

function nameOf(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

/**
 * The other side ended: send `socket` our FIN. When `socket` has already ended its own side
 * and Node holds nothing more to write, the connection is over both ways, and closing it
 * sends the same FIN as shutdown(2) would before the close: one system call and Node's
 * shutdown round trip less per proxied connection. TLS sockets end, to send close_notify.
 */
function passEnd(socket: Socket): void {
  if (socket.readableEnded && socket.writableLength === 0 && !(socket as { encrypted?: boolean }).encrypted)
    socket.destroy();
  else socket.end();
}
