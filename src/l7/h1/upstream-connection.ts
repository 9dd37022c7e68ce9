/**
 * One pooled keep-alive connection to an upstream endpoint, carrying one request at a time
 * (no pipelining). It writes what its user (an exchange) gives it and parses the response:
 * head, then body bytes handed on as they arrive (chunked bodies with their framing, so
 * they are forwarded untouched), then hands itself back to its pool when the response ends
 * and the connection can be reused. A `101` to an upgrade request takes it out of its pool
 * for good: from then on it is one end of a byte tunnel (a TunnelSink gets its events).
 */
import { connect, type Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { ReusableReadBuffer } from '../../core/read-buffer.js';
import { BODY_ERROR, BODY_MORE, type BodyFramer, LengthFramer } from './body-framer.js';
import { ChunkedScanner, type ChunkSink } from './chunked.js';
import { BodyKind, type ResponseHead, ResponseHeadReader } from './response-head.js';
import { type TunnelSink, type UpstreamError, type UpstreamUser, upstreamError } from './upstream-user.js';

/** Responses start small; bodies that fill a read get Node's own read size. */
const READ_BUFFER_BYTES = 4 * 1024;
const READ_BUFFER_MAX = 64 * 1024;

const CONNECTING = 0;
const IDLE = 1;
const HEAD = 2;
const BODY = 3;
const CLOSED = 4;
/** After a 101: bytes go to the tunnel as they are. */
const TUNNEL = 5;

/**
 * How to speak TLS to the endpoint: a cluster's `tls:` (src/tls/upstream-tls.ts), described
 * here by shape so that the codec imports nothing above it.
 */
export interface TlsDialer {
  connectOptions(host: string, port: number, alpn: string[] | undefined): ConnectionOptions;
  /** Keeps the socket's TLS sessions for the endpoint's next connection (resumption). */
  rememberSessions(socket: TLSSocket, host: string, port: number): void;
  /** The error to report for a failed handshake (and the place that logs its reason). */
  handshakeFailed(error: Error, host: string, port: number): UpstreamError;
}

/** What a connection needs from the pool that owns it (upstream-pools.ts implements it). */
export interface ConnectionPool {
  readonly endpoint: {
    readonly host: string;
    readonly port: number;
    readonly state: { connectionsTotal: number };
  };
  readonly settings: { readonly connectTimeoutMs: number; readonly idleTimeoutMs: number };
  /** Set when the endpoint's cluster originates TLS. */
  readonly tls?: TlsDialer;
  /** The connection finished a request: kept for the next unless `reusable` is false. */
  release(connection: UpstreamConnection, reusable: boolean): void;
  /** The connection's socket closed. */
  closed(connection: UpstreamConnection): void;
}

export class UpstreamConnection implements ChunkSink {
  readonly protocol = 'http1';
  readonly socket: Socket;
  private state = CONNECTING;
  private user: UpstreamUser | null;
  private readonly headReader = new ResponseHeadReader();
  private method = 'GET';
  /** Null for a close-delimited body. */
  private framer: BodyFramer | null = null;
  private readonly lengthFramer = new LengthFramer();
  /** False while chunked bytes are decoded (the sink gets the data). */
  private forwardRaw = true;
  private keepAlive = true;
  private requestDone = false;
  /** Response bytes received for the current request (0: a reused socket may have been stale). */
  private received = 0;
  private failure: Error | undefined;
  /** Requests this connection carried before the current one. */
  served = 0;
  /** When it went idle (pool idle timeout), and its own idle limit from `keep-alive: timeout`. */
  idleSince = 0;
  idleLimitMs: number;
  /** Its place in the pool's list of busy connections, -1 when not busy. */
  busySlot = -1;
  /** While busy: the pool's record of the client it serves (the pool's own type; only it writes). */
  clientShare: object | null = null;
  /** Reads, and drains of queued request bytes, since the pool last looked (body timeout). */
  reads = 0;
  stalledTicks = 0;
  /** For HTTP/1.0 clients: chunked bodies are handed on without their framing. */
  private decodeChunked = false;
  private paused = false;
  private readonly readBuffer = new ReusableReadBuffer(READ_BUFFER_BYTES, READ_BUFFER_MAX);
  private sink: TunnelSink | null = null;
  /** TLS only: the TCP connection is up, so an error before the handshake completes is the handshake's. */
  private tcpConnected = false;
  /** Left its pool after a 101 (the pool no longer counts it). */
  private detached = false;
  private ended = false;

  constructor(
    private readonly pool: ConnectionPool,
    user: UpstreamUser,
  ) {
    this.user = user;
    const { endpoint, settings } = pool;
    this.idleLimitMs = settings.idleTimeoutMs;
    const tls = pool.tls;
    if (tls === undefined) {
      this.socket = connect({
        host: endpoint.host,
        port: endpoint.port,
        noDelay: true,
        onread: { buffer: this.readBuffer.next, callback: this.onRead },
      });
      this.socket.once('connect', this.onConnect);
    } else {
      // node:tls has no `onread`: decrypted bytes arrive as 'data' events.
      const socket = process
        .getBuiltinModule('node:tls')
        .connect(tls.connectOptions(endpoint.host, endpoint.port, ['http/1.1']));
      socket.setNoDelay(true);
      tls.rememberSessions(socket, endpoint.host, endpoint.port);
      socket.once('connect', this.onTcpConnect);
      socket.once('secureConnect', this.onConnect);
      socket.on('data', this.onData);
      this.socket = socket;
    }
    // The connect timeout covers the TLS handshake too.
    this.socket.setTimeout(settings.connectTimeoutMs);
    this.socket.once('timeout', this.onConnectTimeout);
    this.socket.on('end', this.onEnd);
    this.socket.on('error', this.onError);
    this.socket.on('close', this.onClose);
    this.socket.on('drain', this.onDrain);
  }

  /** Gives an idle connection to `user`. */
  assign(user: UpstreamUser): void {
    this.user = user;
    this.served++;
    this.state = IDLE;
    user.upstreamReady(this);
  }

  /**
   * Sends a request head (latin1 text) and, when the whole body is known, the body. The
   * response is parsed from here on; `requestComplete` says no more body bytes follow.
   */
  send(
    method: string,
    head: string,
    body: Buffer | null,
    requestComplete: boolean,
    decodeChunked: boolean,
    upgrade = false,
  ): void {
    this.method = method;
    this.headReader.upgrade = upgrade;
    this.state = HEAD;
    this.received = 0;
    this.requestDone = requestComplete;
    this.decodeChunked = decodeChunked;
    if (body === null) this.socket.write(head, 'latin1');
    else {
      this.socket.cork();
      this.socket.write(head, 'latin1');
      this.socket.write(body);
      this.socket.uncork();
    }
  }

  /** Streams request body bytes; false when the socket buffer is full (wait for upstreamDrained). */
  writeBody(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  /** Bytes are still queued for the upstream (a buffer given to writeBody may be held). */
  get writing(): boolean {
    return this.socket.writableLength > 0;
  }

  /** The request body has been written completely. */
  endRequest(): void {
    this.requestDone = true;
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
  }

  /**
   * Waiting on the upstream (not on a slow client): for response body bytes, or to take
   * request bytes queued for it (an upload to an upstream that stopped reading). What
   * bodyTimeout limits.
   */
  get stalling(): boolean {
    return (this.state === BODY && !this.paused) || this.socket.writableLength > 0;
  }

  /** Hands an unused connection back (its user finished before it was ready). */
  giveBack(): void {
    this.user = null;
    this.pool.release(this, this.state === IDLE);
  }

  /** The user gave up (client gone, timeout): the connection is closed, never reused. */
  abort(): void {
    this.user = null;
    this.socket.destroy();
  }

  /** Closes the connection (idle timeout, pool closed). */
  close(): void {
    this.socket.destroy();
  }

  /** After upstreamUpgrade(): the connection's bytes and ends go to `sink` from now on. */
  tunnel(sink: TunnelSink): void {
    this.sink = sink;
  }

  /** Ends our side of a tunnel (the client ended its side). */
  endWrites(): void {
    if (!this.socket.writableEnded) this.socket.end();
  }

  chunkData(buf: Buffer, start: number, end: number): void {
    this.user?.upstreamBody(buf, start, end);
  }

  private readonly onConnect = (): void => {
    this.socket.setTimeout(0);
    this.socket.removeListener('timeout', this.onConnectTimeout);
    this.pool.endpoint.state.connectionsTotal++;
    this.state = IDLE;
    const user = this.user;
    if (user === null) this.pool.release(this, true);
    else user.upstreamReady(this);
  };

  private readonly onConnectTimeout = (): void => {
    this.socket.destroy(upstreamError('PORTSIDE_CONNECT_TIMEOUT', 'upstream connect timeout'));
  };

  /** A write still queued points into the read buffer: the next read must use another. */
  readBufferRetained(): void {
    this.readBuffer.retain();
  }

  private readonly onTcpConnect = (): void => {
    this.tcpConnected = true;
  };

  private readonly onData = (chunk: Buffer): void => {
    this.gotBytes(chunk.length, chunk);
  };

  private readonly onRead = (length: number, buf: Buffer): boolean => {
    this.readBuffer.read(length);
    this.gotBytes(length, buf);
    return true;
  };

  private gotBytes(length: number, buf: Buffer): void {
    this.reads++;
    this.received += length;
    if (this.state === BODY) this.body(buf, 0, length);
    else if (this.state === HEAD) this.head(buf, length);
    else if (this.state === TUNNEL) this.sink?.tunnelData(buf, 0, length);
    // Bytes nobody asked for: the connection is out of step and cannot be reused.
    else this.socket.destroy();
  }

  private head(chunk: Buffer, length: number): void {
    const reader = this.headReader;
    const head = reader.read(chunk, length);
    if (head !== undefined) this.startBody(head, reader.buffer, reader.bodyStart, reader.limit);
    else if (reader.error !== undefined) this.protocolError(reader.error);
  }

  private startBody(head: ResponseHead, buf: Buffer, pos: number, limit: number): void {
    if (head.status === 101) {
      this.switchProtocols(head, buf, pos, limit);
      return;
    }
    const kind = head.bodyKind(this.method);
    // A bodiless answer (HEAD, 204, 304) whose head announces a body: the upstream may send
    // that body anyway, after the response ended, where the next request would read it.
    const announced = kind === BodyKind.none && (head.chunked || head.contentLength > 0);
    this.keepAlive = head.keepAlive && kind !== BodyKind.close && !announced;
    if (head.keepAliveTimeout > 0) {
      // Give up on the socket a second before the upstream would, as undici does.
      this.idleLimitMs = Math.min(this.pool.settings.idleTimeoutMs, (head.keepAliveTimeout - 1) * 1000);
    }
    this.forwardRaw = true;
    if (kind === BodyKind.length) this.framer = this.lengthFramer.reset(head.contentLength);
    else if (kind === BodyKind.chunked) {
      this.forwardRaw = !this.decodeChunked;
      this.framer = new ChunkedScanner(this.decodeChunked ? this : null);
    } else this.framer = null;
    this.state = BODY;
    const user = this.user;
    user?.upstreamHead(head, kind);
    if (this.user !== user || user === null) return;
    if (kind === BodyKind.none) this.complete(pos, limit);
    else if (pos < limit) this.body(buf, pos, limit);
  }

  private body(buf: Buffer, pos: number, limit: number): void {
    const user = this.user;
    if (user === null) return;
    const framer = this.framer;
    if (framer === null) {
      user.upstreamBody(buf, pos, limit);
      return;
    }
    const stop = framer.scan(buf, pos, limit);
    if (stop === BODY_ERROR) {
      this.protocolError('malformed chunked body');
      return;
    }
    const end = stop === BODY_MORE ? limit : stop;
    if (this.forwardRaw) user.upstreamBody(buf, pos, end);
    if (stop !== BODY_MORE && this.user === user) this.complete(end, limit);
  }

  /** A 101 to an upgrade request: the connection leaves its pool and becomes a tunnel end. */
  private switchProtocols(head: ResponseHead, buf: Buffer, pos: number, limit: number): void {
    const user = this.user!;
    this.user = null;
    this.state = TUNNEL;
    this.framer = null;
    this.detached = true;
    this.pool.closed(this);
    user.upstreamUpgrade(head, Buffer.from(buf.subarray(pos, limit)));
    if (this.sink === null) this.socket.destroy();
  }

  /** The response ended at `pos`; bytes up to `limit` after it were never asked for. */
  private complete(pos: number, limit: number): void {
    const user = this.user!;
    this.user = null;
    this.state = IDLE;
    this.framer = null;
    if (this.paused) this.resume();
    const reusable = this.keepAlive && this.requestDone && pos === limit;
    this.pool.release(this, reusable);
    user.upstreamDone();
  }

  private protocolError(message: string): void {
    this.fail(upstreamError('PORTSIDE_UPSTREAM_PROTOCOL', message));
  }

  private fail(error: UpstreamError): void {
    const user = this.user;
    this.user = null;
    this.socket.destroy();
    user?.upstreamFailed(error);
  }

  private readonly onEnd = (): void => {
    if (this.state === TUNNEL) {
      this.ended = true;
      this.sink?.tunnelEnd();
      return;
    }
    if (this.state === BODY && this.framer === null && this.user !== null) {
      this.keepAlive = false;
      this.complete(0, 0);
      return;
    }
    this.closedEarly();
  };

  private readonly onError = (error: Error): void => {
    const tls = this.pool.tls;
    // TLS 1.3 clients finish their handshake first: the server's refusal of our certificate
    // arrives afterwards, as an alert (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED…).
    const alert = (error as UpstreamError).code?.startsWith('ERR_SSL_') === true;
    if (tls !== undefined && ((this.tcpConnected && this.state === CONNECTING) || alert)) {
      this.failure = tls.handshakeFailed(error, this.pool.endpoint.host, this.pool.endpoint.port);
    } else this.failure = error;
  };

  private readonly onClose = (): void => {
    const sink = this.state === TUNNEL ? this.sink : null;
    this.state = CLOSED;
    if (!this.detached) this.pool.closed(this);
    this.closedEarly();
    sink?.tunnelClosed(this.ended && this.failure === undefined);
  };

  /** The socket ended or closed while a request was waiting for its response. */
  private closedEarly(): void {
    if (this.user === null) return;
    const failure =
      (this.failure as UpstreamError | undefined)?.code !== undefined
        ? (this.failure as UpstreamError)
        : upstreamError('PORTSIDE_UPSTREAM_CLOSED', 'the upstream closed the connection');
    // Nothing came back on a socket that served before: probably closed while idle.
    failure.reused = this.served > 0 && this.received === 0;
    this.fail(failure);
  }

  private readonly onDrain = (): void => {
    this.reads++;
    if (this.state === TUNNEL) this.sink?.tunnelDrained();
    else this.user?.upstreamDrained();
  };
}
