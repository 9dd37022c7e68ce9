/**
 * One endpoint's HTTP/2 connections: requests become streams on the connection with room
 * (the most loaded first, so idle connections can time out), a new connection opens only
 * when every open one is full (up to `maxConnections`), and requests beyond that wait in a
 * queue. Every request picked its endpoint before it got here: one client connection's
 * requests spread over all endpoints, each endpoint multiplexing them on few connections.
 */
import type { Endpoint } from '../../core/endpoint.js';
import type { TlsDialer } from '../h1/upstream-connection.js';
import { upstreamError } from '../h1/upstream-user.js';
import type { SessionPool } from './upstream-session.js';
import { H2UpstreamSession } from './upstream-session.js';
import { type H2StreamUser, H2UpstreamStream, type StreamPool } from './upstream-stream.js';

export interface H2PoolSettings {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Streams per connection at most (the peer's limit may be lower). */
  maxStreams: number;
  maxConnections: number;
}

export class H2EndpointPool implements SessionPool, StreamPool {
  private readonly sessions: H2UpstreamSession[] = [];
  private readonly waiting: H2StreamUser[] = [];
  private closing = false;
  private onEmpty: (() => void) | undefined;

  constructor(
    readonly endpoint: Endpoint,
    readonly settings: H2PoolSettings,
    /** The cluster's TLS, when it originates TLS. */
    readonly tls?: TlsDialer,
  ) {}

  /** Connections open or connecting. */
  get open(): number {
    return this.sessions.length;
  }

  get queued(): number {
    return this.waiting.length;
  }

  get idle(): boolean {
    return this.waiting.length === 0 && this.sessions.every((s) => s.active === 0);
  }

  /**
   * A stream for `user`: returned (after upstreamReady was called) when a connection has
   * room now; undefined when it waits for a connection (`fresh`: not on one that exists).
   */
  acquire(user: H2StreamUser, _client: string, fresh = false): H2UpstreamStream | undefined {
    if (this.closing) {
      user.upstreamFailed(upstreamError('PORTSIDE_POOL_CLOSED', 'pool closed'));
      return undefined;
    }
    if (!fresh) {
      const session = this.withRoom();
      if (session !== undefined) return this.start(session, user);
    }
    this.waiting.push(user);
    if (fresh || !this.connecting) this.grow();
    return undefined;
  }

  /** A connection is on its way that will take streams once connected. */
  private get connecting(): boolean {
    return this.sessions.some((s) => !s.connected && s.usable);
  }

  cancel(user: H2StreamUser): void {
    const i = this.waiting.indexOf(user);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private withRoom(): H2UpstreamSession | undefined {
    let best: H2UpstreamSession | undefined;
    for (const s of this.sessions) if (s.hasRoom && (best === undefined || s.active > best.active)) best = s;
    return best;
  }

  private start(session: H2UpstreamSession, user: H2StreamUser): H2UpstreamStream {
    session.take();
    const link = new H2UpstreamStream(this, session, user);
    user.upstreamReady(link);
    return link;
  }

  private grow(): void {
    if (this.sessions.length >= this.settings.maxConnections) return;
    this.sessions.push(new H2UpstreamSession(this));
  }

  sessionReady(session: H2UpstreamSession): void {
    while (this.waiting.length > 0 && session.hasRoom) this.start(session, this.waiting.shift()!);
    // Still more waiting than this connection takes: another one.
    if (this.waiting.length > 0 && !this.connecting) this.grow();
  }

  sessionClosed(session: H2UpstreamSession, error: Error | undefined): void {
    const i = this.sessions.indexOf(session);
    if (i >= 0) this.sessions.splice(i, 1);
    if (this.closing) {
      if (this.sessions.length === 0) this.onEmpty?.();
      return;
    }
    if (this.waiting.length === 0) return;
    if (error !== undefined && !this.sessions.some((s) => s.connected)) {
      // The endpoint cannot be reached: every waiting request fails (and may retry elsewhere).
      for (const user of this.waiting.splice(0)) user.upstreamFailed(error as never);
      return;
    }
    const other = this.withRoom();
    if (other !== undefined) this.sessionReady(other);
    else if (!this.connecting) this.grow();
  }

  streamEnded(session: H2UpstreamSession): void {
    session.release();
    if (this.waiting.length > 0 && session.hasRoom) this.sessionReady(session);
  }

  /** Closes every connection (`cut`: now; else once their streams end). Resolves when all closed. */
  close(cut: boolean): Promise<void> {
    this.closing = true;
    for (const user of this.waiting.splice(0))
      user.upstreamFailed(upstreamError('PORTSIDE_POOL_CLOSED', 'pool closed'));
    if (this.sessions.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onEmpty = resolve;
      for (const s of [...this.sessions]) {
        if (cut) s.close();
        else s.session.close();
      }
    });
  }
}
