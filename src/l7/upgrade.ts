/**
 * The byte tunnel of an HTTP/1.1 upgrade (WebSocket and any other protocol). An upgrade
 * request is routed, edited and forwarded like any other request (exchange.ts); only when
 * the upstream answers with a parsed `101 Switching Protocols` does the connection manager
 * hand the client socket and that upstream connection (out of its pool for good) to a
 * Tunnel, which copies bytes both ways until either side closes or the tunnel is idle for
 * `limits.tunnelIdleTimeout`. Any other answer is an ordinary response.
 */
import type { UpstreamConnection } from './h1/upstream-connection.js';
import type { TunnelSink } from './h1/upstream-user.js';

/** The client side of a tunnel (the client connection manager). */
export interface TunnelClient {
  /** Writes upstream bytes to the client; false when the client is slower. */
  writeTunnel(buf: Buffer): boolean;
  /** Whether bytes are still queued for the client (a buffer given to writeTunnel may be held). */
  readonly writingTunnel: boolean;
  /** Ends the client side after the upstream ended its own. */
  endTunnel(): void;
  /** Cuts the client connection. */
  close(): void;
  pauseReading(): void;
  resumeReading(): void;
  /** A write still queued points into the client's read buffer: its next read uses another. */
  readBufferRetained(): void;
  readonly bytesBorrowed: boolean;
}

/** Told when the tunnel is over, with the bytes it carried each way (access log). */
export interface TunnelOwner {
  tunnelClosed(bytesIn: number, bytesOut: number): void;
}

export class Tunnel implements TunnelSink {
  private bytesIn = 0;
  private bytesOut = 0;
  private closed = false;

  constructor(
    private readonly client: TunnelClient,
    private readonly upstream: UpstreamConnection,
    private readonly owner: TunnelOwner,
  ) {
    upstream.tunnel(this);
  }

  /** Client bytes (borrowed from the client's read buffer when `bytesBorrowed`). */
  fromClient(chunk: Buffer): void {
    if (this.closed) return;
    this.bytesIn += chunk.length;
    const more = this.upstream.writeBody(chunk);
    if (this.client.bytesBorrowed && this.upstream.writing) this.client.readBufferRetained();
    if (!more) this.client.pauseReading();
  }

  /** The client ended its side: so does the tunnel towards the upstream. */
  clientEnded(): void {
    this.upstream.endWrites();
  }

  /** The client's socket drained: read the upstream again. */
  clientDrained(): void {
    if (!this.closed) this.upstream.resume();
  }

  /** The client connection closed. */
  clientClosed(): void {
    this.finish();
    this.upstream.close();
  }

  tunnelData(buf: Buffer, start: number, end: number): void {
    if (this.closed) return;
    this.bytesOut += end - start;
    const more = this.client.writeTunnel(buf.subarray(start, end));
    if (this.client.writingTunnel) this.upstream.readBufferRetained();
    if (!more) this.upstream.pause();
  }

  tunnelEnd(): void {
    this.client.endTunnel();
  }

  tunnelClosed(clean: boolean): void {
    if (clean) this.client.endTunnel();
    else this.client.close();
    this.finish();
  }

  tunnelDrained(): void {
    this.client.resumeReading();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.tunnelClosed(this.bytesIn, this.bytesOut);
  }
}
