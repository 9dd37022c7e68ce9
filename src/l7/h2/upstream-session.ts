/**
 * One HTTP/2 connection to an upstream endpoint, carrying up to `maxStreams` requests at
 * once: the smaller of the pool's cap and the peer's SETTINGS_MAX_CONCURRENT_STREAMS. A
 * GOAWAY from the peer stops new streams on it (the pool opens another); it closes once
 * idle for the pool's idle timeout.
 */
import type { ClientHttp2Session } from 'node:http2';
import type { TlsDialer } from '../h1/upstream-connection.js';
import { upstreamError } from '../h1/upstream-user.js';

/** What a session needs of the pool that owns it (h2/upstream-pool.ts). */
export interface SessionPool {
  readonly endpoint: {
    readonly host: string;
    readonly port: number;
    readonly state: { connectionsTotal: number };
  };
  readonly settings: {
    readonly connectTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly maxStreams: number;
  };
  /** Set when the endpoint's cluster originates TLS. */
  readonly tls?: TlsDialer;
  /** The session can take (more) streams. */
  sessionReady(session: H2UpstreamSession): void;
  /** The session closed; `error` when it never connected or failed. */
  sessionClosed(session: H2UpstreamSession, error: Error | undefined): void;
}

export class H2UpstreamSession {
  readonly session: ClientHttp2Session;
  /** Streams open or promised to users. */
  active = 0;
  connected = false;
  goingAway = false;
  /** From the peer's GOAWAY: streams above it were never processed. */
  lastStreamId = Number.MAX_SAFE_INTEGER;
  closed = false;
  /** The peer sent its SETTINGS: it speaks HTTP/2 (an HTTP/1.1 server never does). */
  spokeHttp2 = false;
  maxStreams: number;
  private error: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** TLS only: the TCP connection is up, so an error before the session connects is the handshake's. */
  private tcpConnected = false;

  constructor(private readonly pool: SessionPool) {
    const { endpoint, settings, tls } = pool;
    this.maxStreams = settings.maxStreams;
    const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
    this.session = process
      .getBuiltinModule('node:http2')
      .connect(`${tls ? 'https' : 'http'}://${host}:${endpoint.port}`, {
        settings: { enablePush: false },
        // Requests beyond the peer's limit wait in the pool's queue, not in nghttp2's.
        peerMaxConcurrentStreams: settings.maxStreams,
        ...(tls && {
          // Our own TLS socket: the cluster's context, verification and resumed sessions.
          createConnection: () => {
            const socket = process
              .getBuiltinModule('node:tls')
              .connect(tls.connectOptions(endpoint.host, endpoint.port, ['h2']));
            socket.once('connect', () => {
              this.tcpConnected = true;
            });
            tls.rememberSessions(socket, endpoint.host, endpoint.port);
            return socket;
          },
        }),
      });
    endpoint.state.connectionsTotal++;
    this.timer = setTimeout(onConnectTimeout, settings.connectTimeoutMs, this);
    this.session.once('connect', this.onConnect);
    this.session.on('remoteSettings', this.onRemoteSettings);
    this.session.on('goaway', this.onGoAway);
    this.session.on('error', this.onError);
    this.session.once('close', this.onClose);
  }

  /** Can open a stream now. */
  get hasRoom(): boolean {
    return this.connected && !this.goingAway && !this.closed && this.active < this.maxStreams;
  }

  /** Will take streams once connected. */
  get usable(): boolean {
    return !this.goingAway && !this.closed && this.active < this.maxStreams;
  }

  /** A stream was promised to a user. */
  take(): void {
    this.active++;
    if (this.timer !== undefined && this.connected) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** A stream ended: the session is idle once none is left. */
  release(): void {
    this.active--;
    if (this.active === 0 && this.connected && !this.closed) {
      if (this.goingAway) this.session.close();
      else this.timer = setTimeout(onIdle, this.pool.settings.idleTimeoutMs, this);
    }
  }

  close(): void {
    this.session.destroy();
  }

  /** @internal */
  connectTimedOut(): void {
    this.timer = undefined;
    if (this.connected) return;
    this.error = upstreamError('PORTSIDE_CONNECT_TIMEOUT', 'connect timeout');
    this.session.destroy();
  }

  /** @internal */
  idleExpired(): void {
    this.timer = undefined;
    if (this.active === 0) this.session.close();
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.active === 0) this.timer = setTimeout(onIdle, this.pool.settings.idleTimeoutMs, this);
    this.pool.sessionReady(this);
  };

  private readonly onRemoteSettings = (settings: { maxConcurrentStreams?: number }): void => {
    this.spokeHttp2 = true;
    const peer = settings.maxConcurrentStreams;
    const before = this.maxStreams;
    this.maxStreams = Math.max(1, Math.min(this.pool.settings.maxStreams, peer ?? Number.POSITIVE_INFINITY));
    if (this.connected && this.maxStreams > before) this.pool.sessionReady(this);
  };

  private readonly onGoAway = (_code: number, lastStreamId: number): void => {
    this.goingAway = true;
    this.lastStreamId = lastStreamId;
    if (this.active === 0) this.session.close();
  };

  private readonly onError = (error: Error): void => {
    const tls = this.pool.tls;
    // A TLS alert after the handshake (TLS 1.3: the server refused our certificate) counts too.
    const alert = (error as Error & { code?: string }).code?.startsWith('ERR_SSL_') === true;
    if (tls !== undefined && ((this.tcpConnected && !this.connected) || alert)) {
      this.error ??= tls.handshakeFailed(error, this.pool.endpoint.host, this.pool.endpoint.port);
    } else this.error ??= error;
  };

  /** The connection speaks TLS (`:scheme` https). */
  get secure(): boolean {
    return this.pool.tls !== undefined;
  }

  private readonly onClose = (): void => {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pool.sessionClosed(
      this,
      this.connected ? undefined : (this.error ?? upstreamError('ECONNRESET', 'closed')),
    );
  };
}

function onConnectTimeout(session: H2UpstreamSession): void {
  session.connectTimedOut();
}

function onIdle(session: H2UpstreamSession): void {
  session.idleExpired();
}
