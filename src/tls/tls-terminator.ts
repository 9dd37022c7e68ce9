/**
 * Terminates TLS in front of a listener's handler (L4 or L7): each accepted socket goes
 * through a `tls.Server` that never listens itself (its 'connection' event is emitted by
 * hand, as the HTTP/2 hand-over does), and the decrypted TLSSocket goes to the handler once
 * the handshake completed and the client passed the certificate checks. ALPN `h2` goes
 * straight to the handler's HTTP/2 path. Certificates come from a ServerTls: a rotation
 * swaps the contexts new handshakes use; open connections keep theirs.
 */
import type { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';
import type { Logger } from '../core/log.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import type { ListenerStats } from '../listeners/listener.js';
import { clientRefusal, serverTlsOptions } from './server-options.js';
import type { ServerTls } from './server-tls.js';

export class TlsTerminator implements ConnectionHandler {
  private readonly server: Server;
  /** Sockets still in their handshake: counted as open, cut by close(). */
  private readonly handshaking = new Set<Socket>();
  /** Set by handOver: handshakes that complete from then on go to the successor's handler. */
  private successor: ConnectionHandler | undefined;
  private draining = false;
  private readonly unsubscribe: () => void;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    readonly inner: ConnectionHandler,
    readonly tls: ServerTls,
    private readonly log: Logger,
    /** ALPN offered when `tls.alpn` is not set (http listeners: h2 then http/1.1). */
    defaultAlpn: string[] | undefined,
    /** The listener's counters (TLS errors by reason). */
    private readonly stats?: ListenerStats,
  ) {
    const options = serverTlsOptions(tls, defaultAlpn);
    this.server = process.getBuiltinModule('node:tls').createServer(options, this.onSecure);
    this.server.on('tlsClientError', this.onClientError);
    this.unsubscribe = tls.onChange((next) => this.server.setSecureContext(next.defaultOptions));
  }

  get openConnections(): number {
    return this.handshaking.size + this.inner.openConnections;
  }

  handle(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.handshaking.add(socket);
    socket.once('close', () => this.handshakeEnded(socket));
    this.server.emit('connection', socket);
  }

  private readonly onSecure = (socket: TLSSocket): void => {
    const raw = (socket as unknown as { _parent?: Socket })._parent;
    if (raw) this.handshakeEnded(raw);
    // Drained (shutdown, or a reload that could not hand over): a late handshake gets no work.
    if ((this.draining && this.successor === undefined) || !this.clientAllowed(socket)) {
      socket.destroy();
      return;
    }
    const handler = this.successor ?? this.inner;
    if (socket.alpnProtocol === 'h2' && handler.handleHttp2) handler.handleHttp2(socket);
    else handler.handle(socket);
  };

  /** With clientCertificate request: a certificate given must verify; and any allow-list must name it. */
  private clientAllowed(socket: TLSSocket): boolean {
    const refusal = clientRefusal(this.tls, socket);
    if (refusal === undefined) return true;
    this.refused(socket, refusal);
    return false;
  }

  private count(reason: string): void {
    const errors = this.stats?.tlsErrors;
    // OpenSSL's codes are a closed set; anything else is one bucket, so labels stay bounded.
    const key =
      /^(ERR_SSL_|ERR_TLS_|E[A-Z]+$)/.test(reason) || reason === 'client-refused' ? reason : 'other';
    if (errors) errors.set(key, (errors.get(key) ?? 0) + 1);
  }

  private refused(socket: TLSSocket, reason: string): void {
    this.count('client-refused');
    this.log.info({ client: socket.remoteAddress, reason }, 'TLS client refused');
  }

  private readonly onClientError = (error: NodeJS.ErrnoException, socket: TLSSocket): void => {
    this.count(error.code ?? 'other');
    // Failed handshakes (old versions, unknown CA, no certificate, scanners) are the client's;
    // one debug line each, never a warning a client could flood.
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug(
        { client: socket.remoteAddress, reason: error.code ?? error.message },
        'TLS handshake failed',
      );
    }
    socket.destroy();
  };

  /** Only to another TLS terminator: a reload that turns TLS on or off drains instead. */
  handOver(successor: ConnectionHandler): Promise<void> | undefined {
    if (!(successor instanceof TlsTerminator)) return undefined;
    const next = successor.inner;
    const done = this.inner.handOver?.(next);
    if (done === undefined) return undefined;
    this.successor = next;
    return done.then(() => this.handshakesDone()).finally(this.unsubscribe);
  }

  drain(): Promise<void> {
    this.draining = true;
    return Promise.all([this.inner.drain(), this.handshakesDone()]).then(() => {
      this.unsubscribe();
    });
  }

  close(): void {
    this.draining = true;
    for (const socket of this.handshaking) socket.destroy();
    this.inner.close();
    this.unsubscribe();
  }

  private handshakeEnded(raw: Socket): void {
    if (!this.handshaking.delete(raw) || this.handshaking.size > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves once no handshake is in progress (each ends within the handshake timeout). */
  private handshakesDone(): Promise<void> {
    if (this.handshaking.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
