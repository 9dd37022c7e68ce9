/**
 * What an Exchange needs of the client side of its request and of the upstream side of
 * each attempt, whatever the protocol: an HTTP/1.1 client connection (http-connection.ts)
 * or an HTTP/2 stream (h2/client-stream.ts); a pooled HTTP/1.1 connection
 * (h1/upstream-connection.ts) or an HTTP/2 stream (h2/upstream-stream.ts).
 */
import type { HttpError } from './errors.js';
import type { BodyKind, ResponseHead } from './h1/response-head.js';
import type { UpstreamConnection } from './h1/upstream-connection.js';
import type { HeaderEdits } from './headers.js';
import type { TunnelOwner } from './upgrade.js';

export type WireProtocol = 'http1' | 'http2';

/** Response body writing to the client. */
export interface BodyWriter {
  /** Body bytes; false when the client is slower than the upstream. */
  body(buf: Buffer, start: number, end: number): boolean;
  /** Bytes are still queued for the client (a buffer given to body() may be held). */
  readonly writing: boolean;
  /** Nothing of the response was sent yet: an error answer can still replace it. */
  readonly replaceable: boolean;
}

export interface ExchangeClient {
  readonly protocol: WireProtocol;
  readonly remoteAddress: string | undefined;
  /** Whether body bytes handed to the exchange right now live in a reused read buffer. */
  readonly bytesBorrowed: boolean;
  /** Whether chunked upstream bodies must be handed on decoded (no HTTP/1.1 framing). */
  readonly wantsDecodedChunks: boolean;
  readonly writer: BodyWriter;
  /** Whether body bytes of unknown length must reach the exchange framed as HTTP/1.1 chunks. */
  setRequestFraming(chunked: boolean): void;
  /** The exchange is ready for the request body: requestBody() calls follow. */
  readBody(): void;
  /** The upstream took the body bytes given so far: read on. */
  resumeBody(): void;
  /** A write still queued points into the read buffer: the next read uses another. */
  readBufferRetained(): void;
  /** The upstream's response head, forwarded with the route's response edits. */
  startResponse(response: ResponseHead, edits: HeaderEdits, kind: BodyKind): void;
  /** Trailer fields ([name, value, ...]) of a response whose body was handed on decoded. */
  responseTrailers(fields: readonly string[]): void;
  /** The response is complete. */
  responseEnd(): void;
  /** Answers with Portside's own error, or cuts the response if one already started. */
  responseError(error: HttpError, requestId: string | undefined): void;
  /** Cuts a response mid-body. */
  abortResponse(): void;
  /** After an upstream's `101` (HTTP/1.1 only): false if the switch is refused. */
  upgrade(
    response: ResponseHead,
    edits: HeaderEdits,
    upstream: UpstreamConnection,
    rest: Buffer,
    owner: TunnelOwner,
  ): boolean;
}

/** One attempt's upstream side, after its pool made it ready. */
export interface UpstreamLink {
  readonly protocol: WireProtocol;
  /** Streams request body bytes; false when the upstream is not taking them (wait for upstreamDrained). */
  writeBody(chunk: Buffer): boolean;
  /** Bytes are still queued for the upstream (a buffer given to writeBody may be held). */
  readonly writing: boolean;
  /** The request body has been written completely. */
  endRequest(): void;
  pause(): void;
  resume(): void;
  /** The user finished before the link was ready: hand it back unused. */
  giveBack(): void;
  /** The user gave up (client gone, timeout): never reused; an HTTP/2 stream is reset. */
  abort(): void;
  /** Response bytes handed on are still queued for the client. */
  readBufferRetained(): void;
}
