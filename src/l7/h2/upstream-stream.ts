/**
 * One request on an HTTP/2 upstream connection, as the Exchange's upstream link: sends the
 * head (from the HTTP/1.1 head text the forwarding rules wrote) and body, hands on the
 * response head, DATA and trailers, and resets the stream when the exchange gives up (so a
 * client's cancellation reaches the upstream). A stream the upstream refused (REFUSED_STREAM,
 * or cut off by GOAWAY) was not processed: its error says so, and the exchange may send the
 * request again elsewhere.
 */
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { UpstreamLink } from '../exchange-client.js';
import { ChunkedScanner, type ChunkSink } from '../h1/chunked.js';
import { BodyKind } from '../h1/response-head.js';
import { type UpstreamError, upstreamError } from '../h1/upstream-user.js';
import { h2 } from './codes.js';
import { fieldsOf, h2RequestHeaders, responseHeadFromH2 } from './header-blocks.js';
import type { H2UpstreamSession } from './upstream-session.js';

/** The exchange's callbacks, as an HTTP/1.1 connection makes them, plus trailers. */
export interface H2StreamUser {
  upstreamReady(link: H2UpstreamStream): void;
  upstreamHead(head: import('../h1/response-head.js').ResponseHead, kind: BodyKind): void;
  upstreamBody(buf: Buffer, start: number, end: number): void;
  /** Trailer fields ([name, value, ...]), before upstreamDone. */
  upstreamTrailers(fields: string[]): void;
  upstreamDone(): void;
  upstreamFailed(error: UpstreamError): void;
  upstreamDrained(): void;
}

/** What a stream needs of its pool. */
export interface StreamPool {
  streamEnded(session: H2UpstreamSession): void;
}

export class H2UpstreamStream implements UpstreamLink, ChunkSink {
  readonly protocol = 'http2';
  private stream: ClientHttp2Stream | null = null;
  private user: H2StreamUser | null;
  private released = false;
  private finished = false;
  private gotHead = false;
  private trailers: string[] | null = null;
  private method = 'GET';
  /** The request body arrives HTTP/1.1-chunked (an HTTP/1.1 client): decoded before sending. */
  private decoder: ChunkedScanner | null = null;

  constructor(
    private readonly pool: StreamPool,
    private readonly session: H2UpstreamSession,
    user: H2StreamUser,
  ) {
    this.user = user;
  }

  /**
   * Opens the stream: `head` is the HTTP/1.1 head text for the upstream, `body` a body known
   * whole, `requestComplete` whether no more body follows, `chunkedBody` whether the body
   * bytes still to come carry HTTP/1.1 chunk framing.
   */
  send(
    method: string,
    head: string,
    body: Buffer | null,
    requestComplete: boolean,
    chunkedBody: boolean,
  ): void {
    this.method = method;
    const headers = h2RequestHeaders(head, this.session.secure ? 'https' : 'http');
    const bodyless = body === null || body.length === 0;
    const endStream = requestComplete && bodyless;
    if (chunkedBody && !requestComplete) this.decoder = new ChunkedScanner(this);
    let stream: ClientHttp2Stream;
    try {
      stream = this.session.session.request(headers, { endStream });
    } catch (error) {
      this.fail(upstreamError('PORTSIDE_H2_REFUSED', (error as Error).message, true, true));
      return;
    }
    this.stream = stream;
    stream.on('response', this.onResponse);
    stream.on('data', this.onData);
    stream.on('trailers', this.onTrailers);
    stream.on('end', this.onEnd);
    stream.on('error', noop);
    stream.on('close', this.onClose);
    stream.on('drain', this.onDrain);
    if (!bodyless) {
      if (requestComplete) stream.end(body);
      else stream.write(body);
    } else if (requestComplete && !endStream) stream.end();
  }

  writeBody(chunk: Buffer): boolean {
    const stream = this.stream;
    if (stream === null || stream.destroyed) return true;
    if (this.decoder !== null) {
      this.decoder.scan(chunk, 0, chunk.length);
      return stream.writableLength < stream.writableHighWaterMark;
    }
    return stream.write(chunk);
  }

  chunkData(buf: Buffer, start: number, end: number): void {
    this.stream?.write(Buffer.from(buf.subarray(start, end)));
  }

  get writing(): boolean {
    return (this.stream?.writableLength ?? 0) > 0;
  }

  endRequest(): void {
    const stream = this.stream;
    if (stream !== null && !stream.writableEnded) stream.end();
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  giveBack(): void {
    this.user = null;
    this.release();
  }

  abort(): void {
    this.user = null;
    const stream = this.stream;
    if (stream !== null && !stream.destroyed) stream.close(h2().NGHTTP2_CANCEL);
    else this.release();
  }

  readBufferRetained(): void {}

  private readonly onResponse = (headers: IncomingHttpHeaders, flags: number): void => {
    const user = this.user;
    if (user === null) return;
    const head = responseHeadFromH2(headers);
    if (head === undefined) {
      this.stream?.close(h2().NGHTTP2_PROTOCOL_ERROR);
      this.fail(upstreamError('PORTSIDE_UPSTREAM_PROTOCOL', 'invalid HTTP/2 response headers'));
      return;
    }
    this.gotHead = true;
    let kind = head.bodyKind(this.method);
    if (kind === BodyKind.chunked || (flags & h2().NGHTTP2_FLAG_END_STREAM) !== 0) kind = BodyKind.none;
    user.upstreamHead(head, kind);
  };

  private readonly onData = (chunk: Buffer): void => {
    if (chunk.length > 0) this.user?.upstreamBody(chunk, 0, chunk.length);
  };

  private readonly onTrailers = (headers: IncomingHttpHeaders): void => {
    this.trailers = fieldsOf(headers);
  };

  private readonly onEnd = (): void => {
    if (this.finished) return;
    const user = this.user;
    // Node ends the readable side of a stream reset or cut off with its session (rstCode
    // set, no END_STREAM received): a truncated response, which close reports as a failure.
    const reset = this.stream?.rstCode;
    if (!this.gotHead || (reset !== undefined && reset !== h2().NGHTTP2_NO_ERROR)) return;
    this.finished = true;
    this.user = null;
    if (user !== null) {
      if (this.trailers !== null) user.upstreamTrailers(this.trailers);
      user.upstreamDone();
    }
  };

  private readonly onDrain = (): void => {
    this.user?.upstreamDrained();
  };

  private readonly onClose = (): void => {
    const stream = this.stream!;
    this.release();
    if (this.finished || this.user === null) return;
    if (!this.gotHead && !this.session.spokeHttp2 && !this.session.secure) {
      // A cleartext connection ended before the peer said a word of HTTP/2: an HTTP/1.1-only
      // server. (Over TLS the peer chose h2 by ALPN; a close there is its own refusal.)
      this.fail(
        upstreamError(
          'PORTSIDE_H2_NOT_SPOKEN',
          'the endpoint closed the connection without answering in HTTP/2 (HTTP/1.1 only? set upstreamProtocol: http1)',
        ),
      );
      return;
    }
    const code = stream.rstCode ?? 0;
    // Refused, or after the GOAWAY's last stream: the upstream never processed it.
    const unprocessed =
      code === h2().NGHTTP2_REFUSED_STREAM ||
      (stream.id === undefined && !this.gotHead) ||
      (stream.id !== undefined && stream.id > this.session.lastStreamId);
    this.fail(
      upstreamError(
        unprocessed ? 'PORTSIDE_H2_REFUSED' : 'PORTSIDE_UPSTREAM_CLOSED',
        `HTTP/2 stream closed (code ${code})`,
        unprocessed,
        unprocessed,
      ),
    );
  };

  private fail(error: UpstreamError): void {
    this.finished = true;
    const user = this.user;
    this.user = null;
    this.release();
    user?.upstreamFailed(error);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.pool.streamEnded(this.session);
  }
}

function noop(): void {}
