/**
 * The contract between an upstream connection and the exchange it serves (its "user"),
 * and the errors it reports, whose codes retry-policy.ts classifies.
 */
import type { BodyKind, ResponseHead } from './response-head.js';
import type { UpstreamConnection } from './upstream-connection.js';

export interface UpstreamUser {
  /** The connection is ready for this user's request (new, or reused from the pool). */
  upstreamReady(connection: UpstreamConnection): void;
  /** A final (>= 200) response head; 1xx interim responses are skipped. */
  upstreamHead(head: ResponseHead, kind: BodyKind): void;
  /**
   * A `101` to a request that asked for an upgrade: the connection left its pool and is the
   * user's to tunnel (UpstreamConnection.tunnel()); `rest` holds the bytes that followed the head.
   */
  upstreamUpgrade(head: ResponseHead, rest: Buffer): void;
  /** Response body bytes `buf[start, end)` as they arrived (chunked: framing included unless decoding). */
  upstreamBody(buf: Buffer, start: number, end: number): void;
  /** The response is complete. */
  upstreamDone(): void;
  /** The attempt failed: connect error, reset, timeout or a malformed response. */
  upstreamFailed(error: UpstreamError): void;
  /** A request body write that returned false has drained. */
  upstreamDrained(): void;
}

/** Where an upgraded connection's events go once it is a byte tunnel. */
export interface TunnelSink {
  /** Bytes from the upstream, `buf[start, end)`: borrowed, valid during the call only. */
  tunnelData(buf: Buffer, start: number, end: number): void;
  /** The upstream ended its side. */
  tunnelEnd(): void;
  /** The upstream socket closed (`clean`: after it ended its side without an error). */
  tunnelClosed(clean: boolean): void;
  /** Bytes written to the upstream that were queued have drained. */
  tunnelDrained(): void;
}

/**
 * `reused`: the socket had served requests before and this one got no byte back (likely
 * stale). `unprocessed`: the upstream said it did not process the request (an HTTP/2
 * REFUSED_STREAM or GOAWAY), so sending it again is safe whatever its method.
 */
export type UpstreamError = Error & { code: string; reused?: boolean; unprocessed?: boolean };

export function upstreamError(
  code: string,
  message: string,
  reused = false,
  unprocessed = false,
): UpstreamError {
  return Object.assign(new Error(message), { code, reused, unprocessed });
}
