/**
 * One HTTP/2 client connection (h2c with prior knowledge) of an HTTP listener: nghttp2
 * (node:http2) is the codec; each request stream becomes an Exchange on the handler that
 * is current when it opens (so after a reload, new streams follow the new routes while
 * open ones finish). Defences beyond nghttp2's own: a cap on concurrent streams (SETTINGS),
 * header list limits, and a bound on streams the client resets per second (rapid reset,
 * CVE-2023-44487): past it the connection gets GOAWAY and closes.
 */
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { ClientTimeouts, ConnectionOwner, HandledConnection } from '../context.js';
import { HTTP_ERRORS } from '../errors.js';
import { Exchange } from '../exchange.js';
import { isGrpcContentType } from '../grpc.js';
import { H2ClientStream, type StreamOwner } from './client-stream.js';
import { h2 } from './codes.js';
import { requestHeadFromH2 } from './request-head.js';

/** A stream reset by the client younger than this counts against `http2.maxResetsPerSecond`. */
const PREMATURE_RESET_MS = 1000;

export class H2ClientSession implements HandledConnection, StreamOwner {
  private readonly streams = new Set<H2ClientStream>();
  /** Since the last stream ended (or the connection opened): the keep-alive timeout's start. */
  private since = performance.now();
  private resets = 0;
  private resetWindow = 0;
  private address: string | undefined | null = null;
  private closed = false;

  constructor(
    private readonly owner: ConnectionOwner,
    readonly socket: Socket,
    private readonly session: ServerHttp2Session,
  ) {
    session.on('stream', this.onStream);
    session.on('error', noop);
    session.once('close', this.onClose);
  }

  get remoteAddress(): string | undefined {
    if (this.address === null) this.address = this.socket.remoteAddress;
    return this.address;
  }

  get idle(): boolean {
    return this.streams.size === 0;
  }

  checkTimeouts(now: number, timeouts: ClientTimeouts): void {
    if (this.streams.size === 0) {
      if (now - this.since >= timeouts.keepAliveMs) this.goAway();
      return;
    }
    for (const stream of this.streams) stream.checkBody(now, timeouts.bodyMs);
  }

  close(): void {
    this.session.destroy();
  }

  /** GOAWAY: open streams finish, new ones are refused; the connection closes after the last. */
  goAway(): void {
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }

  streamDone(stream: H2ClientStream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0) this.since = performance.now();
    const code = stream.stream.rstCode;
    // Only premature resets count (as Envoy's premature_reset_min_stream_lifetime): a client
    // cancelling long-running calls is not an attack.
    if (
      code !== undefined &&
      code !== h2().NGHTTP2_NO_ERROR &&
      !stream.resetHere &&
      performance.now() - stream.opened < PREMATURE_RESET_MS
    )
      this.countReset();
  }

  /** A stream ended by reset: too many in one second is an attack, not a client. */
  private countReset(): void {
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.resetWindow) {
      this.resetWindow = second;
      this.resets = 0;
    }
    if (++this.resets > this.owner.http2Limits.maxResetsPerSecond && !this.session.destroyed) {
      this.owner.badRequest('HTTP/2 rapid reset');
      this.session.goaway(h2().NGHTTP2_ENHANCE_YOUR_CALM);
      this.session.destroy();
    }
  }

  private readonly onStream = (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    flags: number,
    rawHeaders?: string[],
  ): void => {
    const endStream = (flags & h2().NGHTTP2_FLAG_END_STREAM) !== 0;
    const started = performance.now();
    const grpc = isGrpcContentType(headers['content-type']);
    const client = new H2ClientStream(this, stream, grpc, endStream);
    this.streams.add(client);
    const { head, error } = requestHeadFromH2(headers, rawHeaders, endStream);
    if (head === undefined) {
      this.owner.badRequest(error ?? 'malformed HTTP/2 request');
      client.responseError(HTTP_ERRORS.badRequest, undefined);
      return;
    }
    const exchange = new Exchange(this.owner.current, client, head, started);
    client.exchange = exchange;
    exchange.start();
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.owner.connectionClosed(this);
  };
}

function noop(): void {}
