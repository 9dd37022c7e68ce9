import { connect, type Socket } from 'node:net';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';

/**
 * Upstream bytes are read into a per-session buffer that is reused while writes to the
 * client complete at once, instead of a fresh 64 KiB Buffer per read: in the bulk benchmark
 * that cut CPU per MB from ~2.2 ms to ~0.9 ms (the garbage collector had a quarter of the
 * time). 16 KiB, like HAProxy's buffers, bounds what an idle connection keeps resident.
 */
const READ_BUFFER_BYTES = 16 * 1024;

/** How a proxied TCP connection ended; one word in the connection log line. */
export type TcpEnd =
  | 'closed' // both sides finished normally
  | 'idle_timeout'
  | 'no_endpoint' // nothing usable in the cluster
  | 'connect_failed' // every usable endpoint refused or timed out
  | 'client_error'
  | 'upstream_error'
  | 'client_gone' // client left before an upstream connection was made
  | 'drain_cut'; // still open when the drain timeout expired

export interface TcpSessionSettings {
  listener: string;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
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
  private readonly startedAt = performance.now();
  private connectTimer: NodeJS.Timeout | undefined;
  private connectedAt = 0;
  private ended: TcpEnd | undefined;
  private error: string | undefined;
  private upstreamFailed = false;
  private openSockets = 1;
  private readBuffer: Buffer | undefined;
  private readBufferBusy = false;

  constructor(
    private readonly client: Socket,
    private readonly cluster: Cluster,
    private readonly settings: TcpSessionSettings,
    private readonly onDone: (session: TcpSession, summary: TcpSessionSummary) => void,
  ) {
    // Hold client bytes in the kernel until an upstream connection exists.
    client.pause();
    client.on('error', (e: NodeJS.ErrnoException) => this.fail('client_error', e.code ?? e.message));
    client.once('close', () => this.onClientClose());
    this.connectNext();
  }

  /** Destroy both sockets now (drain timeout, process exit). */
  cut(): void {
    this.finish('drain_cut');
  }

  private connectNext(): void {
    const endpoint = this.cluster.pick({ clientAddress: this.client.remoteAddress, tried: this.tried });
    if (!endpoint) {
      this.finish(this.tried.size === 0 ? 'no_endpoint' : 'connect_failed');
      return;
    }
    this.tried.add(endpoint);
    this.endpoint = endpoint;
    endpoint.state.active++;
    const upstream = connect({
      host: endpoint.host,
      port: endpoint.port,
      allowHalfOpen: true,
      noDelay: true,
      onread: { buffer: this.nextReadBuffer, callback: this.fromUpstream },
    });
    this.upstream = upstream;
    this.connectTimer = setTimeout(
      () => this.connectFailed(upstream, endpoint, 'connect-timeout'),
      this.settings.connectTimeoutMs,
    );
    upstream.once('connect', () => this.onConnected(upstream, endpoint));
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (this.connectedAt === 0)
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

  /** Node asks for the buffer of the next upstream read after each one. */
  private readonly nextReadBuffer = (): Buffer => {
    if (this.readBuffer === undefined || this.readBufferBusy) {
      this.readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      this.readBufferBusy = false;
    }
    return this.readBuffer;
  };

  private readonly fromUpstream = (length: number, buffer: Buffer): boolean => {
    const client = this.client;
    if (client.destroyed) return true;
    const more = client.write(length === buffer.length ? buffer : buffer.subarray(0, length));
    // Anything still queued may point into `buffer`: the next read must not overwrite it.
    if (client.writableLength > 0) this.readBufferBusy = true;
    if (!more) {
      this.upstream!.pause();
      client.once('drain', this.resumeUpstream);
    }
    return true;
  };

  private readonly resumeUpstream = (): void => {
    this.upstream?.resume();
  };

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
      client.setTimeout(this.settings.idleTimeoutMs, () => this.finish('idle_timeout'));
      upstream.setTimeout(this.settings.idleTimeoutMs, () => this.finish('idle_timeout'));
    }
    // Ending the destination when the source ends is the half-close, in both directions
    // (pipe() does it client → upstream; upstream → client goes through fromUpstream).
    client.pipe(upstream);
    upstream.on('end', () => client.end());
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
    const upstream = this.upstream;
    const endpoint = this.endpoint;
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
        else this.cluster.reportSuccess(endpoint, this.connectedAt - this.startedAt);
      }
    }
    this.onDone(this, {
      listener: this.settings.listener,
      client: `${this.client.remoteAddress}:${this.client.remotePort}`,
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
