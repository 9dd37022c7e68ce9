/**
 * One HTTP/2 request stream of a client session, as the Exchange's client: request body
 * bytes flow from the stream's DATA frames (with flow control: a paused stream stops
 * opening its window), the response head is held until the first body bytes or the end
 * (so Portside's own error can still replace it), trailers are sent after the body, and a
 * gRPC request that Portside itself fails gets a trailers-only gRPC answer.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { HttpError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import type { BodyWriter, ExchangeClient } from '../exchange-client.js';
import { grpcMessage, grpcStatusOf } from '../grpc.js';
import { BodyKind, type ResponseHead } from '../h1/response-head.js';
import type { HeaderEdits } from '../headers.js';
import { StallWatch } from '../stall-watch.js';
import { h2 } from './codes.js';
import { h2ResponseHeaders, trailerHeaders } from './header-blocks.js';

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** What a stream needs of the session it belongs to. */
export interface StreamOwner {
  readonly remoteAddress: string | undefined;
  streamDone(stream: H2ClientStream): void;
}

export class H2ClientStream implements ExchangeClient, BodyWriter {
  readonly protocol = 'http2';
  readonly bytesBorrowed = false;
  readonly wantsDecodedChunks = true;
  exchange: Exchange | null = null;
  /** Request body bytes are framed as HTTP/1.1 chunks (an HTTP/1.1 upstream, no content-length). */
  private frameChunks = false;
  private bodyFlowing = false;
  private bodyEnded = false;
  private pendingHeaders: OutgoingHttpHeaders | null = null;
  private started = false;
  private trailers: OutgoingHttpHeaders | null = null;
  private done = false;
  private readonly bodyWatch = new StallWatch();
  private bytesRead = 0;
  /** Response body bytes sent: progress that keeps a quiet client's stream alive. */
  private bytesWritten = 0;
  /** Portside reset the stream (not the client): not counted against the client's resets. */
  resetHere = false;
  /** When the stream opened (`performance.now()`): a reset within a second is premature. */
  readonly opened = performance.now();

  constructor(
    private readonly owner: StreamOwner,
    readonly stream: ServerHttp2Stream,
    /** The request is gRPC: Portside's own errors are gRPC statuses. */
    readonly grpc: boolean,
    endStream: boolean,
  ) {
    this.bodyEnded = endStream;
    stream.on('close', this.onClose);
    stream.on('error', noop);
    stream.on('drain', this.onDrain);
    stream.on('wantTrailers', this.onWantTrailers);
  }

  get remoteAddress(): string | undefined {
    return this.owner.remoteAddress;
  }

  get writer(): BodyWriter {
    return this;
  }

  get replaceable(): boolean {
    return !this.started;
  }

  get writing(): boolean {
    return this.stream.writableLength > 0;
  }

  readBufferRetained(): void {}

  /** Request bodies of unknown length are framed as chunks for an HTTP/1.1 upstream. */
  setRequestFraming(chunked: boolean): void {
    this.frameChunks = chunked;
  }

  readBody(): void {
    if (this.bodyFlowing || this.bodyEnded) return;
    this.bodyFlowing = true;
    this.stream.on('data', this.onData);
    this.stream.on('end', this.onEnd);
    this.stream.resume();
  }

  resumeBody(): void {
    if (this.bodyFlowing) this.stream.resume();
  }

  /**
   * limits.bodyTimeout for a request body that stopped arriving while Portside reads it. A
   * stream whose response is flowing is not idle (Envoy's stream_idle_timeout counts both
   * ways): a bidirectional gRPC call's client may stay quiet while the server streams.
   */
  checkBody(now: number, bodyMs: number): void {
    if (!this.bodyFlowing || this.bodyEnded || this.stream.isPaused()) this.bodyWatch.reset();
    else if (this.bodyWatch.stalled(this.bytesRead + this.bytesWritten, now, bodyMs))
      this.exchange?.requestBodyTimedOut();
  }

  private readonly onData = (chunk: Buffer): void => {
    const exchange = this.exchange;
    if (exchange === null) return;
    this.bytesRead += chunk.length;
    if (chunk.length === 0) return;
    const bytes = this.frameChunks
      ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, CRLF])
      : chunk;
    if (!exchange.requestBody(bytes, 0, bytes.length)) this.stream.pause();
  };

  private readonly onEnd = (): void => {
    this.bodyEnded = true;
    const exchange = this.exchange;
    if (exchange === null) return;
    if (this.frameChunks) exchange.requestBody(LAST_CHUNK, 0, LAST_CHUNK.length);
    exchange.requestBodyEnd();
  };

  startResponse(response: ResponseHead, edits: HeaderEdits, kind: BodyKind): void {
    this.pendingHeaders = h2ResponseHeaders(response, edits, kind === BodyKind.length);
    if (kind === BodyKind.none && response.status >= 200) this.flushHead(true);
  }

  body(buf: Buffer, start: number, end: number): boolean {
    if (end <= start || this.stream.destroyed) return true;
    this.flushHead(false);
    this.bytesWritten += end - start;
    return this.stream.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  }

  responseTrailers(fields: readonly string[]): void {
    this.trailers = trailerHeaders(fields);
  }

  responseEnd(): void {
    this.finish();
    if (this.stream.destroyed) return;
    if (this.pendingHeaders !== null) {
      // A head without body: trailers-only when the upstream answered that way.
      const trailers = this.trailers;
      const headers = trailers === null ? this.pendingHeaders : { ...this.pendingHeaders, ...trailers };
      this.trailers = null;
      this.flushHead(true, headers);
      return;
    }
    if (!this.stream.writableEnded) this.stream.end();
  }

  responseError(error: HttpError, requestId: string | undefined): void {
    if (!this.replaceable) {
      this.abortResponse();
      return;
    }
    this.finish();
    this.pendingHeaders = null;
    this.started = true;
    const stream = this.stream;
    if (stream.destroyed || stream.headersSent) return;
    const headers: OutgoingHttpHeaders = { 'x-portside-error': error.code };
    if (requestId) headers['x-request-id'] = requestId;
    if (this.grpc) {
      headers[':status'] = 200;
      headers['content-type'] = 'application/grpc';
      headers['grpc-status'] = String(grpcStatusOf(error));
      headers['grpc-message'] = grpcMessage(`${error.message} (${error.code})`);
      stream.respond(headers, { endStream: true });
      return;
    }
    headers[':status'] = error.status;
    headers['content-type'] = 'text/plain; charset=utf-8';
    stream.respond(headers);
    stream.end(`${error.message} (${error.code})\n`);
  }

  abortResponse(): void {
    this.finish();
    this.resetHere = true;
    if (!this.stream.destroyed) this.stream.close(h2().NGHTTP2_INTERNAL_ERROR);
  }

  upgrade(): boolean {
    return false;
  }

  /** Sends the held head: with the body ending here, or before body bytes (trailers may follow). */
  private flushHead(endStream: boolean, headers = this.pendingHeaders): void {
    if (headers === null) return;
    this.pendingHeaders = null;
    this.started = true;
    if (this.stream.destroyed || this.stream.headersSent) return;
    this.stream.respond(headers, endStream ? { endStream: true } : { waitForTrailers: true });
  }

  private finish(): void {
    this.exchange = null;
  }

  private readonly onWantTrailers = (): void => {
    const trailers = this.trailers;
    this.trailers = null;
    // No trailers: an empty DATA frame ends the stream.
    this.stream.sendTrailers(trailers ?? {});
  };

  private readonly onDrain = (): void => {
    this.exchange?.clientDrained();
  };

  private readonly onClose = (): void => {
    if (this.done) return;
    this.done = true;
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.clientGone();
    this.owner.streamDone(this);
  };
}

function noop(): void {}
