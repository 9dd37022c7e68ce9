/**
 * One client connection of an HTTP listener: reads request heads, frames request bodies,
 * writes responses, and keeps the connection alive between requests. One request at a
 * time: bytes of a pipelined next request are held (and the socket paused if they pile
 * up) until the current response is complete. Routing and upstream work belong to the
 * Exchange created for each request, upgrade requests included; only after the upstream's
 * parsed `101` does the connection become one end of a byte Tunnel (upgrade.ts). Any other
 * answer to an upgrade request is an ordinary response, and the connection stays HTTP.
 */
import type { Socket } from 'node:net';
import { ClientSocket } from './client-socket.js';
import type { ClientTimeouts, ConnectionOwner, HandledConnection, HttpHandlerContext } from './context.js';
import { errorResponse, HTTP_ERRORS, type HttpError } from './errors.js';
import { Exchange } from './exchange.js';
import type { ExchangeClient } from './exchange-client.js';
import { BODY_ERROR, BODY_MORE, type BodyFramer, LengthFramer } from './h1/body-framer.js';
import { ChunkedScanner } from './h1/chunked.js';
import { HeadReader, type HeadRefusal } from './h1/head-reader.js';
import type { RequestHead } from './h1/request-head.js';
import type { BodyKind, ResponseHead } from './h1/response-head.js';
import { ResponseWriter } from './h1/response-writer.js';
import type { UpstreamConnection } from './h1/upstream-connection.js';
import { prefaceMatch } from './h2/preface.js';
import type { HeaderEdits } from './headers.js';
import { StallWatch } from './stall-watch.js';
import { Tunnel, type TunnelClient, type TunnelOwner } from './upgrade.js';

const HEAD = 0;
const BODY = 1;
const RESPONSE = 2;
const TUNNEL = 3;
const CLOSED = 4;

/** The first room for a partial head (not from Node's shared pool: it grows in place). */
const ROOM_BYTES = 4096;
/** Held bytes of a next request beyond which the socket is paused. */
const HOLD_LIMIT = 64 * 1024;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/** The answer to each way the codec refuses a request head. */
const HEAD_ERRORS: Record<HeadRefusal, HttpError> = {
  'too-large': HTTP_ERRORS.headersTooLarge,
  malformed: HTTP_ERRORS.badRequest,
};

export class ClientConnection
  extends ClientSocket
  implements TunnelClient, ExchangeClient, HandledConnection
{
  readonly protocol = 'http1';
  private phase = HEAD;
  /** When the current head started arriving (or the connection went idle), `performance.now()`. */
  since = performance.now();
  private headStarted = false;
  private requests = 0;
  /** A partial head, body bytes nobody asked for yet, or a pipelined next request. */
  private held: Buffer | null = null;
  /** Where a partial head grows (appendToHeld), and how much of it is used. */
  private room: Buffer | null = null;
  private roomUsed = 0;
  private exchange: Exchange | null = null;
  private ctx: HttpHandlerContext | null = null;
  private http11 = true;
  private keepAlive = true;
  private framer: BodyFramer | null = null;
  private readonly lengthFramer = new LengthFramer();
  private bodyFlowing = false;
  /** limits.bodyTimeout: looks at socket.bytesRead on the handler's clock, never per read. */
  private readonly bodyWatch = new StallWatch();
  /** Response writing, used by the exchange directly for body bytes. */
  readonly writer: ResponseWriter;
  private readonly reader: HeadReader;
  private closeAfter = false;

  private tunnelTo: Tunnel | null = null;
  private expectContinue = false;

  constructor(
    private readonly owner: ConnectionOwner,
    accepted: Socket,
  ) {
    super(accepted);
    const socket = this.socket;
    this.writer = new ResponseWriter(socket);
    this.reader = new HeadReader(owner.maxHeaderBytes, owner.maxHeaders);
    socket.on('end', this.onEnd);
    socket.on('error', noop);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.resume();
  }

  /** Between requests with nothing received: safe to close when draining. */
  get idle(): boolean {
    return this.phase === HEAD && this.held === null && !this.headStarted;
  }

  /** Enforces limits.headersTimeout, bodyTimeout and keepAliveTimeout (called by the handler's timer). */
  checkTimeouts(now: number, timeouts: ClientTimeouts): void {
    const phase = this.phase;
    if (phase === CLOSED) {
      // Closing: unread request bytes are drained for a while (so the close sends no RST).
      if (now - this.since >= timeouts.headersMs) this.socket.destroy();
      return;
    }
    if (phase === BODY) {
      // Only while the body is being read: a paused read waits on the upstream (its bodyTimeout).
      if (!this.bodyFlowing || this.readingPaused) this.bodyWatch.reset();
      else if (this.bodyWatch.stalled(this.socket.bytesRead, now, timeouts.bodyMs)) this.bodyTimedOut();
      return;
    }
    if (phase !== HEAD) return;
    if (this.headStarted || this.requests === 0) {
      if (now - this.since >= timeouts.headersMs) this.refuse(HTTP_ERRORS.headersTimeout, 'headers timeout');
    } else if (now - this.since >= timeouts.keepAliveMs) this.socket.destroy();
  }

  private bodyTimedOut(): void {
    this.owner.badRequest('body timeout');
    if (this.exchange === null) this.socket.destroy();
    else this.exchange.requestBodyTimedOut();
  }

  close(): void {
    this.socket.destroy();
  }

  /** Draining: a request in progress gets `connection: close` (ctx.draining), an idle connection closes. */
  goAway(): void {
    if (this.idle) this.close();
  }

  /** Request bodies reach HTTP/1.1 upstreams with the client's own framing. */
  setRequestFraming(): void {}

  /** Trailers of an HTTP/1.1 client reach it inside the chunked body (decoded bodies have none). */
  responseTrailers(): void {}

  protected onBytes(chunk: Buffer): void {
    const phase = this.phase;
    if (phase === HEAD) {
      if (this.requests === 0 && !this.headStarted && this.startsHttp2(chunk)) return;
      if (this.held === null) this.parseHead(chunk);
      else {
        const buf = this.appendToHeld(chunk);
        this.held = null;
        this.withOwnedBytes(() => this.parseHead(buf));
      }
    } else if (phase === BODY && this.bodyFlowing) this.feedBody(chunk, 0);
    else if (phase === BODY || phase === RESPONSE) this.hold(chunk);
    else if (phase === TUNNEL) this.tunnelTo?.fromClient(chunk);
  }

  /**
   * The connection's first bytes are the HTTP/2 preface (prior knowledge, h2c): the socket
   * leaves this connection for an HTTP/2 session. A first read shorter than the preface's
   * distinguishing part is held until more arrive.
   */
  private startsHttp2(chunk: Buffer): boolean {
    const bytes = this.held === null ? chunk : Buffer.concat([this.held, chunk]);
    const match = prefaceMatch(bytes);
    if (match === 'no') return false;
    if (match === 'partial') {
      this.held = this.own(bytes);
      return true;
    }
    this.held = null;
    this.phase = CLOSED;
    this.detach();
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('close', this.onClose);
    this.socket.removeListener('drain', this.onDrain);
    this.owner.startHttp2(this, Buffer.from(bytes));
    return true;
  }

  /**
   * The held bytes of a partial head with `chunk` after them. They grow in a buffer with
   * room to spare (doubling), so a head sent in many small pieces is not copied whole on
   * every read.
   */
  private appendToHeld(chunk: Buffer): Buffer {
    const held = this.held!;
    const length = held.length + chunk.length;
    let room = this.room;
    const used = this.roomUsed;
    if (
      room !== null &&
      held.buffer === room.buffer &&
      held.byteOffset + held.length === room.byteOffset + used &&
      used + chunk.length <= room.length
    ) {
      room.set(chunk, used);
      this.roomUsed = used + chunk.length;
      return room.subarray(this.roomUsed - length, this.roomUsed);
    }
    room = Buffer.allocUnsafe(Math.max(ROOM_BYTES, 2 * length));
    room.set(held, 0);
    room.set(chunk, held.length);
    this.room = room;
    this.roomUsed = length;
    return room.subarray(0, length);
  }

  private hold(chunk: Buffer): void {
    this.held = this.held === null ? this.own(chunk) : Buffer.concat([this.held, chunk]);
    if (this.held.length > HOLD_LIMIT) this.pauseReading();
  }

  private parseHead(buf: Buffer): void {
    const reader = this.reader;
    const head = reader.read(buf);
    if (reader.start === buf.length) return;
    // One clock read for a head that arrives in one piece: its start is the request's.
    let now = -1;
    if (!this.headStarted) {
      this.headStarted = true;
      now = performance.now();
      this.since = now;
    }
    if (head !== undefined || reader.error !== undefined) this.room = null;
    if (head !== undefined) this.startRequest(head, buf, reader.end, now < 0 ? performance.now() : now);
    else if (reader.error !== undefined) this.refuse(HEAD_ERRORS[reader.error], reader.reason);
    else this.held = this.own(reader.start === 0 ? buf : buf.subarray(reader.start));
  }

  /** `started`: when the complete head was read (`performance.now()`). */
  private startRequest(head: RequestHead, buf: Buffer, pos: number, started: number): void {
    this.requests++;
    this.headStarted = false;
    const ctx = this.owner.current;
    this.ctx = ctx;
    if (head.method === 'CONNECT') {
      this.refuse(HTTP_ERRORS.badRequest, 'CONNECT');
      return;
    }
    this.http11 = head.http11;
    this.keepAlive = head.keepAlive;
    this.writer.reset();
    this.bodyFlowing = false;
    if (head.chunked) this.framer = new ChunkedScanner();
    else if (head.contentLength > 0) this.framer = this.lengthFramer.reset(head.contentLength);
    else this.framer = null;
    this.phase = this.framer === null ? RESPONSE : BODY;
    if (pos < buf.length) this.held = this.own(buf.subarray(pos));
    // Sent once the exchange asks for the body (routed, and not refused): readBody().
    this.expectContinue = this.phase === BODY && head.expectContinue && head.http11;
    const exchange = new Exchange(ctx, this, head, started);
    this.exchange = exchange;
    exchange.start();
  }

  /** The exchange is ready for the request body: bytes flow to it from now on. */
  readBody(): void {
    if (this.phase !== BODY || this.bodyFlowing) return;
    this.bodyFlowing = true;
    if (this.expectContinue) {
      this.expectContinue = false;
      this.socket.write(CONTINUE, 'latin1');
    }
    const held = this.held;
    this.held = null;
    if (held !== null) this.feedBody(held, 0);
    if (this.phase === BODY) this.resumeReading();
  }

  private feedBody(buf: Buffer, start: number): void {
    const exchange = this.exchange!;
    const stop = this.framer!.scan(buf, start, buf.length);
    if (stop === BODY_ERROR) {
      this.keepAlive = false;
      exchange.requestBodyFailed();
      return;
    }
    const end = stop === BODY_MORE ? buf.length : stop;
    const more = end > start ? exchange.requestBody(buf, start, end) : true;
    if (stop !== BODY_MORE) {
      this.phase = RESPONSE;
      this.framer = null;
      if (end < buf.length) this.hold(buf.subarray(end));
      exchange.requestBodyEnd();
    }
    if (!more && this.phase === BODY) this.pauseReading();
  }

  /** The upstream took the body bytes given so far: read on. */
  resumeBody(): void {
    if (this.phase === BODY) this.resumeReading();
  }

  /** Whether the connection closes after this response: asked for, body unread, or draining. */
  private get closing(): boolean {
    return !this.keepAlive || this.phase === BODY || (this.ctx?.draining ?? false);
  }

  /** The upstream's response head, forwarded with the route's response edits. */
  startResponse(response: ResponseHead, edits: HeaderEdits, kind: BodyKind): void {
    this.closeAfter = this.writer.start(response, edits, kind, this.http11, this.closing);
  }

  /** Whether chunked upstream bodies must be decoded (an HTTP/1.0 client). */
  get wantsDecodedChunks(): boolean {
    return !this.http11;
  }

  /** The response is complete: keep the connection for the next request, or close it. */
  responseEnd(): void {
    this.writer.end();
    this.finishExchange();
  }

  /** Answers with Portside's own error, or cuts the response if one already started. */
  responseError(error: HttpError, requestId: string | undefined): void {
    if (!this.writer.replaceable) {
      this.abortResponse();
      return;
    }
    this.closeAfter = this.closing;
    this.writer.error(errorResponse(error, requestId, this.closeAfter));
    this.finishExchange();
  }

  /** Cuts a response mid-body (the upstream failed after its head). */
  abortResponse(): void {
    this.exchange = null;
    this.socket.destroy();
  }

  private finishExchange(): void {
    this.exchange = null;
    if (this.phase === CLOSED) return;
    if (this.closeAfter || this.closing) {
      this.endGracefully();
      return;
    }
    this.phase = HEAD;
    this.since = performance.now();
    this.resumeReading();
    if (this.held !== null) process.nextTick(this.parseHeld);
  }

  /** A pipelined request waiting since the previous response (on the next tick: no recursion). */
  private readonly parseHeld = (): void => {
    const held = this.held;
    if (this.phase !== HEAD || held === null) return;
    this.held = null;
    this.parseHead(held);
  };

  /**
   * The upstream answered the upgrade request with `101`: writes that head and makes this
   * connection and `upstream` a byte tunnel. False (nothing done) if the request body is
   * still arriving: a switch in the middle of it is refused.
   */
  upgrade(
    response: ResponseHead,
    edits: HeaderEdits,
    upstream: UpstreamConnection,
    rest: Buffer,
    owner: TunnelOwner,
  ): boolean {
    if (this.phase !== RESPONSE) return false;
    this.exchange = null;
    this.phase = TUNNEL;
    this.writer.switchProtocols(response, edits, response.upgrade ?? 'websocket');
    const tunnel = new Tunnel(this, upstream, owner);
    this.tunnelTo = tunnel;
    // A tunnel idle this long either way is closed (a socket's timer sees reads and writes).
    this.socket.setTimeout(this.ctx!.upgradeSettings.idleTimeoutMs, this.close.bind(this));
    if (rest.length > 0) tunnel.tunnelData(rest, 0, rest.length);
    const early = this.held;
    this.held = null;
    if (early !== null) this.withOwnedBytes(() => tunnel.fromClient(early));
    this.resumeReading();
    return true;
  }

  writeTunnel(buf: Buffer): boolean {
    return this.socket.write(buf);
  }

  get writingTunnel(): boolean {
    return this.socket.writableLength > 0;
  }

  endTunnel(): void {
    if (!this.socket.writableEnded) this.socket.end();
  }

  private refuse(error: HttpError, reason: string): void {
    this.owner.badRequest(reason);
    if (this.socket.writable) this.endGracefully(errorResponse(error, undefined, true));
    else this.socket.destroy();
  }

  /**
   * Ends our side and reads (and drops) whatever the client still sends until it closes:
   * closing a socket with unread bytes would reset it and could destroy the response.
   */
  private endGracefully(last?: string): void {
    this.phase = CLOSED;
    this.since = performance.now();
    this.held = null;
    this.resumeReading();
    if (last === undefined) this.socket.end();
    else this.socket.end(last, 'latin1');
  }

  private readonly onEnd = (): void => {
    if (this.phase === TUNNEL) {
      this.tunnelTo?.clientEnded();
      return;
    }
    // As Node's server does: a client that ends its side gives up on its request.
    if (this.exchange !== null) this.socket.destroy();
    // Ending twice would only build an error; a socket ended both ways closes by itself.
    else if (!this.socket.writableEnded) this.socket.end();
  };

  private readonly onClose = (): void => {
    this.phase = CLOSED;
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.clientGone();
    this.tunnelTo?.clientClosed();
    this.owner.connectionClosed(this);
  };

  private readonly onDrain = (): void => {
    if (this.tunnelTo !== null) this.tunnelTo.clientDrained();
    else this.exchange?.clientDrained();
  };
}

function noop(): void {}
