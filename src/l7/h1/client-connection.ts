/**
 * One client connection of an HTTP listener: reads request heads, frames request bodies,
 * writes responses, and keeps the connection alive between requests. One request at a
 * time: bytes of a pipelined next request are held (and the socket paused if they pile
 * up) until the current response is complete. Routing and upstream work belong to the
 * Exchange created for each request; upgrades are handed to an UpgradeTunnel.
 */
import type { Socket } from 'node:net';
import type { HttpHandlerContext } from '../context.js';
import { errorResponse, HTTP_ERRORS, type HttpError } from '../errors.js';
import { Exchange } from '../exchange.js';
import { UpgradeTunnel } from '../upgrade.js';
import { CR, LF } from './chars.js';
import { CHUNKED_ERROR, ChunkedScanner } from './chunked.js';
import { RequestHead } from './request-head.js';
import { BodyKind, type ResponseHead } from './response-head.js';

/** The handler that accepted a connection (it keeps owning it across reloads). */
export interface ConnectionOwner {
  readonly current: HttpHandlerContext;
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  connectionClosed(connection: ClientConnection): void;
  badRequest(reason: string): void;
}

const HEAD = 0;
const BODY = 1;
const RESPONSE = 2;
const TUNNEL = 3;
const CLOSED = 4;

const HEAD_END = Buffer.from('\r\n\r\n');
/** Held bytes of a next request beyond which the socket is paused. */
const HOLD_LIMIT = 64 * 1024;
/** Bodies this small go out in the same write (and string) as their response head. */
const COALESCE_BYTES = 2048;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const LAST_CHUNK = '0\r\n\r\n';

export class ClientConnection {
  private phase = HEAD;
  /** When the current head started arriving (or the connection went idle). */
  since = Date.now();
  private headStarted = false;
  private requests = 0;
  /** A partial head, body bytes nobody asked for yet, or a pipelined next request. */
  private held: Buffer | null = null;
  private paused = false;
  private exchange: Exchange | null = null;
  private ctx: HttpHandlerContext | null = null;
  private http11 = true;
  private keepAlive = true;
  private bodyLeft = 0;
  private scanner: ChunkedScanner | null = null;
  private bodyFlowing = false;
  private pendingHead: string | null = null;
  private responseStarted = false;
  private rechunk = false;
  private closeAfter = false;

  constructor(
    private readonly owner: ConnectionOwner,
    readonly socket: Socket,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', noop);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /** Between requests with nothing received: safe to close when draining. */
  get idle(): boolean {
    return this.phase === HEAD && this.held === null && !this.headStarted;
  }

  /** Enforces limits.headersTimeout and keepAliveTimeout (called by the handler's timer). */
  checkTimeouts(now: number, headersTimeoutMs: number, keepAliveTimeoutMs: number): void {
    if (this.phase === CLOSED) {
      // Closing: unread request bytes are drained for a while (so the close sends no RST).
      if (now - this.since >= headersTimeoutMs) this.socket.destroy();
      return;
    }
    if (this.phase !== HEAD) return;
    if (this.headStarted || this.requests === 0) {
      if (now - this.since >= headersTimeoutMs) this.refuse(HTTP_ERRORS.headersTimeout, 'headers timeout');
    } else if (now - this.since >= keepAliveTimeoutMs) this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    const phase = this.phase;
    if (phase === HEAD) {
      if (this.held === null) this.parseHead(chunk);
      else {
        const buf = Buffer.concat([this.held, chunk]);
        this.held = null;
        this.parseHead(buf);
      }
    } else if (phase === BODY && this.bodyFlowing) this.feedBody(chunk, 0);
    else if (phase === BODY || phase === RESPONSE) this.hold(chunk);
  };

  private hold(chunk: Buffer): void {
    this.held = this.held === null ? chunk : Buffer.concat([this.held, chunk]);
    if (this.held.length > HOLD_LIMIT) this.pause();
  }

  private parseHead(buf: Buffer): void {
    let pos = 0;
    // Empty lines before a request line are allowed (RFC 9112 §2.2), e.g. after a POST body.
    while (pos + 1 < buf.length && buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
    if (pos === buf.length) return;
    if (!this.headStarted) {
      this.headStarted = true;
      this.since = Date.now();
    }
    const end = buf.indexOf(HEAD_END, pos);
    const limit = this.owner.maxHeaderBytes;
    if (end < 0) {
      if (buf.length - pos > limit) {
        this.refuse(HTTP_ERRORS.headersTooLarge, 'head too large');
        return;
      }
      if (hasBareLf(buf, pos)) {
        this.refuse(HTTP_ERRORS.badRequest, 'bare LF');
        return;
      }
      this.held = pos === 0 ? buf : buf.subarray(pos);
      return;
    }
    if (end + 4 - pos > limit) {
      this.refuse(HTTP_ERRORS.headersTooLarge, 'head too large');
      return;
    }
    const head = new RequestHead();
    const error = head.parse(buf.toString('latin1', pos, end + 2));
    if (error !== undefined) {
      this.refuse(HTTP_ERRORS.badRequest, error);
      return;
    }
    if (head.fieldCount > this.owner.maxHeaders) {
      this.refuse(HTTP_ERRORS.headersTooLarge, 'too many fields');
      return;
    }
    this.startRequest(head, buf, end + 4);
  }

  private startRequest(head: RequestHead, buf: Buffer, pos: number): void {
    this.requests++;
    this.headStarted = false;
    const ctx = this.owner.current;
    this.ctx = ctx;
    if (head.isUpgrade) {
      this.tunnel(ctx, head, buf.subarray(pos));
      return;
    }
    if (head.method === 'CONNECT') {
      this.refuse(HTTP_ERRORS.badRequest, 'CONNECT');
      return;
    }
    this.http11 = head.http11;
    this.keepAlive = head.keepAlive;
    this.responseStarted = false;
    this.rechunk = false;
    this.bodyFlowing = false;
    if (head.chunked) {
      this.scanner = new ChunkedScanner();
      this.phase = BODY;
    } else if (head.contentLength > 0) {
      this.bodyLeft = head.contentLength;
      this.phase = BODY;
    } else this.phase = RESPONSE;
    if (pos < buf.length) this.held = buf.subarray(pos);
    if (this.phase === BODY && head.expectContinue) this.socket.write(CONTINUE, 'latin1');
    const exchange = new Exchange(ctx, this, head);
    this.exchange = exchange;
    exchange.start();
  }

  /** The exchange is ready for the request body: bytes flow to it from now on. */
  readBody(): void {
    if (this.phase !== BODY || this.bodyFlowing) return;
    this.bodyFlowing = true;
    const held = this.held;
    this.held = null;
    if (held !== null) this.feedBody(held, 0);
    if (this.phase === BODY) this.resume();
  }

  private feedBody(buf: Buffer, start: number): void {
    const exchange = this.exchange!;
    let end = buf.length;
    let done = false;
    if (this.scanner !== null) {
      const stop = this.scanner.scan(buf, start, end);
      if (stop === CHUNKED_ERROR) {
        this.keepAlive = false;
        exchange.requestBodyFailed();
        return;
      }
      if (stop >= 0) {
        end = stop;
        done = true;
      }
    } else if (end - start >= this.bodyLeft) {
      end = start + this.bodyLeft;
      done = true;
    }
    this.bodyLeft -= end - start;
    const more = end > start ? exchange.requestBody(buf, start, end) : true;
    if (done) {
      this.phase = RESPONSE;
      this.scanner = null;
      if (end < buf.length) this.hold(buf.subarray(end));
      exchange.requestBodyEnd();
    }
    if (!more && this.phase === BODY) this.pause();
  }

  /** The upstream took the body bytes given so far: read on. */
  resumeBody(): void {
    if (this.phase === BODY) this.resume();
  }

  /**
   * Prepares the response head: `fields` is the status line and forwarded fields; the
   * framing and connection lines are added here. Written with the first body bytes.
   */
  startResponse(response: ResponseHead, fields: string, kind: BodyKind): void {
    let close = !this.keepAlive || this.phase === BODY || this.ctx!.draining;
    let framing = '';
    if (response.contentLength >= 0 && !response.chunked)
      framing = `content-length: ${response.contentLength}\r\n`;
    else if (kind === BodyKind.chunked || (kind === BodyKind.none && response.chunked)) {
      if (this.http11) framing = 'transfer-encoding: chunked\r\n';
      else close = true; // decoded, and ended by closing
    } else if (kind === BodyKind.close) {
      if (this.http11) {
        framing = 'transfer-encoding: chunked\r\n';
        this.rechunk = true;
      } else close = true;
    }
    this.closeAfter = close;
    const connection = close ? 'connection: close\r\n' : this.http11 ? '' : 'connection: keep-alive\r\n';
    this.pendingHead = `${fields}${framing}${connection}\r\n`;
    this.responseStarted = true;
  }

  /** Bytes are still queued for the client (a buffer given to responseBody may be held). */
  get writing(): boolean {
    return this.socket.writableLength > 0;
  }

  /** Whether chunked upstream bodies must be decoded (an HTTP/1.0 client). */
  get wantsDecodedChunks(): boolean {
    return !this.http11;
  }

  /** Writes response body bytes; false when the client is slower than the upstream. */
  responseBody(buf: Buffer, start: number, end: number): boolean {
    if (end <= start) return true;
    const socket = this.socket;
    const head = this.pendingHead;
    if (this.rechunk) {
      socket.cork();
      if (head !== null) socket.write(head, 'latin1');
      socket.write(`${(end - start).toString(16)}\r\n`, 'latin1');
      socket.write(buf.subarray(start, end));
      const more = socket.write('\r\n', 'latin1');
      socket.uncork();
      this.pendingHead = null;
      return more;
    }
    if (head === null)
      return socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
    this.pendingHead = null;
    if (end - start <= COALESCE_BYTES)
      return socket.write(head + buf.toString('latin1', start, end), 'latin1');
    socket.cork();
    socket.write(head, 'latin1');
    const more = socket.write(buf.subarray(start, end));
    socket.uncork();
    return more;
  }

  /** The response is complete: keep the connection for the next request, or close it. */
  responseEnd(): void {
    let tail = this.pendingHead ?? '';
    this.pendingHead = null;
    if (this.rechunk) tail += LAST_CHUNK;
    if (tail !== '') this.socket.write(tail, 'latin1');
    this.finishExchange();
  }

  /** Answers with Portside's own error, or cuts the response if one already started. */
  responseError(error: HttpError, requestId: string | undefined): void {
    if (this.responseStarted && this.pendingHead === null) {
      this.exchange = null;
      this.socket.destroy();
      return;
    }
    this.pendingHead = null;
    this.closeAfter = !this.keepAlive || this.phase === BODY || (this.ctx?.draining ?? false);
    this.socket.write(errorResponse(error, requestId, this.closeAfter), 'latin1');
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
    if (this.closeAfter || this.phase === BODY || this.ctx!.draining) {
      this.endGracefully();
      return;
    }
    this.phase = HEAD;
    this.since = Date.now();
    this.resume();
    if (this.held !== null) process.nextTick(parseHeld, this);
  }

  /** @internal a pipelined request waiting since the previous response */
  parseHeld(): void {
    const held = this.held;
    if (this.phase !== HEAD || held === null) return;
    this.held = null;
    this.parseHead(held);
  }

  private tunnel(ctx: HttpHandlerContext, head: RequestHead, early: Buffer): void {
    this.phase = TUNNEL;
    this.held = null;
    this.socket.pause();
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('drain', this.onDrain);
    new UpgradeTunnel(ctx, head, this.socket, early).start();
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
    this.since = Date.now();
    this.held = null;
    this.resume();
    if (last === undefined) this.socket.end();
    else this.socket.end(last, 'latin1');
  }

  private pause(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private resume(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private readonly onEnd = (): void => {
    // As Node's server does: a client that ends its side gives up on its request.
    if (this.exchange !== null) this.socket.destroy();
    else this.socket.end();
  };

  private readonly onClose = (): void => {
    this.phase = CLOSED;
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.clientGone();
    this.owner.connectionClosed(this);
  };

  private readonly onDrain = (): void => {
    this.exchange?.clientDrained();
  };
}

function parseHeld(connection: ClientConnection): void {
  connection.parseHeld();
}

/** A LF not preceded by CR: some parsers end lines there, so it is refused. */
function hasBareLf(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(LF, from); i >= 0; i = buf.indexOf(LF, i + 1)) {
    if (i === from || buf[i - 1] !== CR) return true;
  }
  return false;
}

function noop(): void {}
