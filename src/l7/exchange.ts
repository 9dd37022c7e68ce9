/**
 * One client request's upstream attempts: pick an endpoint, borrow a pooled upstream
 * connection, send the head and body, relay the response back through the client
 * connection, retry on another endpoint when the policy allows. The exchange is itself the
 * connection's user (its callbacks are methods), so a request costs this object, its head
 * and the upstream request head's string (the response head is copied as bytes). Routing,
 * timers and the access log are in RoutedRequest.
 *
 * A retry starts only after the previous attempt's last callback (done or failed), so
 * callbacks of two attempts never interleave.
 */
import { resourceErrors } from '../listeners/resource-errors.js';
import { ERROR_FOR_FAILURE, HTTP_ERRORS, type HttpError } from './errors.js';
import type { UpstreamLink } from './exchange-client.js';
import { isGrpcServerFailure } from './grpc.js';
import type { BodyKind, ResponseHead } from './h1/response-head.js';
import type { UpstreamConnection } from './h1/upstream-connection.js';
import { type UpstreamError, type UpstreamUser, upstreamError } from './h1/upstream-user.js';
import type { H2EndpointPool } from './h2/upstream-pool.js';
import type { H2StreamUser, H2UpstreamStream } from './h2/upstream-stream.js';
import { worthBuffering } from './request-body.js';
import { classifyError, type FailureKind, isIdempotent } from './retry-policy.js';
import { RoutedRequest } from './routed-request.js';
import type { TunnelOwner } from './upgrade.js';
import type { EndpointPool } from './upstream-pools.js';

export class Exchange extends RoutedRequest implements UpstreamUser, H2StreamUser, TunnelOwner {
  /** A body kept in memory (resendable), or its parts while it arrives. */
  private body: Buffer | null = null;
  private bodyParts: Buffer[] | null = null;
  /** The body streams from the client socket; `bodyTouched` once any of it was sent. */
  private streamed = false;
  private bodyTouched = false;
  private requestComplete = false;
  private pool: EndpointPool | H2EndpointPool | undefined;
  private connection: UpstreamLink | undefined;
  /**
   * A copy of a streamed body while it fits `retries.bufferLimit` (null once it does not):
   * a gRPC call's body streams (its length is unknown) yet can be sent again on a retry.
   */
  private bodyCopy: Buffer[] | null = null;
  private bodyCopyBytes = 0;
  /** gRPC: the attempt's outcome is reported at its trailers (grpc-status), not its head. */
  private outcomePending = false;
  private inAttempt = false;
  private queued = false;
  private staleRetried = false;
  /** Sends again after an HTTP/2 upstream refused the stream (bounded: a peer refusing everything). */
  private refusedRetries = 0;
  private attemptStarted = 0;
  private upstreamPaused = false;
  /** The current attempt got a retryable status: read its body to the end, then retry. */
  private discarding = false;
  private lastError: HttpError | undefined;

  start(): void {
    if (!this.routeRequest()) return;
    const catalog = this.ctx.catalog;
    const listed =
      catalog !== undefined && this.route === catalog.route ? catalog.whenListed(this.cluster!) : undefined;
    if (listed === undefined) this.begin();
    else
      listed.then(() => {
        if (!this.finished) this.begin();
      });
  }

  /** Routed, with the cluster's endpoints known: read the body or start the first attempt. */
  private begin(): void {
    const head = this.head;
    if (!head.hasBody) {
      this.requestComplete = true;
      this.startTimer(this.started);
      this.attempt();
    } else if (worthBuffering(head, this.route!.retry)) {
      this.bodyParts = [];
      this.client.readBody();
    } else {
      this.streamed = true;
      // Copied for a retry, and for an HTTP/2 upstream whatever the policy: a stream it refuses
      // (REFUSED_STREAM, past its GOAWAY) was not processed and goes again, body and all.
      if (this.route!.retry.retriesAfterSending || this.h2Upstream) this.bodyCopy = [];
      this.attempt();
    }
  }

  private attempt(): void {
    if (this.finished) return;
    const endpoint = this.pickEndpoint();
    if (endpoint === undefined) {
      this.fail(this.lastError ?? HTTP_ERRORS.noEndpoint);
      return;
    }
    this.endpoint = endpoint;
    endpoint.state.requestsTotal++;
    this.attempts++;
    this.attemptStarted = performance.now();
    const tls = this.cluster!.tls;
    this.pool = this.h2Upstream ? this.ctx.pools.getH2(endpoint, tls) : this.ctx.pools.get(endpoint, tls);
    this.borrow(false, this.attemptStarted);
  }

  /** Asks the endpoint's pool for a connection (again, after a stale keep-alive socket). */
  private borrow(fresh: boolean, now: number): void {
    this.inAttempt = true;
    this.endpoint!.state.active++;
    const connection = this.pool!.acquire(this, this.client.remoteAddress ?? '', fresh, now) as
      | UpstreamLink
      | undefined;
    if (connection === undefined) {
      this.queued = true;
      // An upload not read yet has no route timeout running: bound its wait by one.
      if (!this.requestComplete) this.startWaitTimer(now);
    } else this.connection ??= connection;
  }

  // ---- the upstream connection's callbacks ----

  upstreamReady(connection: UpstreamLink): void {
    this.queued = false;
    this.stopWaitTimer();
    if (this.finished) {
      connection.giveBack();
      return;
    }
    this.connection = connection;
    const body = this.body;
    const complete = !this.streamed || this.requestComplete;
    const head = this.head;
    if (connection.protocol === 'http2') {
      // An HTTP/1.1 client's chunked body comes framed; an HTTP/2 client's as it is.
      const framed = head.chunked && this.client.protocol === 'http1';
      (connection as H2UpstreamStream).send(head.method, this.upstreamHeadText, body, complete, framed);
    } else {
      (connection as UpstreamConnection).send(
        head.method,
        this.upstreamHeadText,
        body,
        complete,
        this.client.wantsDecodedChunks,
        head.isUpgrade,
      );
    }
    if (body !== null) this.endpoint!.state.bytesToUpstream += body.length;
    if (this.streamed) {
      this.bodyTouched = true;
      this.client.readBody();
    }
    const perTry = this.route!.perTryTimeoutMs;
    if (perTry !== undefined) this.startPerTryTimer(perTry);
  }

  upstreamHead(response: ResponseHead, kind: BodyKind): void {
    if (this.finished) return;
    this.clearPerTryTimer();
    const endpoint = this.endpoint!;
    const route = this.route!;
    const status = response.status;
    const grpcStatus = this.grpc ? grpcStatusIn(response.fields) : undefined;
    if (status >= 500) this.cluster!.reportFailure(endpoint, `http-${status}`);
    else if (grpcStatus !== undefined && isGrpcServerFailure(grpcStatus))
      this.cluster!.reportFailure(endpoint, `grpc-${grpcStatus}`);
    else if (this.grpc && grpcStatus === undefined && status === 200) this.outcomePending = true;
    else this.cluster!.reportSuccess(endpoint, performance.now() - this.attemptStarted);
    if (
      (route.retry.retriesStatus(status) ||
        (grpcStatus !== undefined && route.retry.retriesGrpc(grpcStatus))) &&
      this.canRetry('status')
    ) {
      this.discarding = true;
      this.lastError = status === 504 ? HTTP_ERRORS.timeout : HTTP_ERRORS.upstreamReset;
      return;
    }
    this.clearTimer();
    this.status = status;
    if (grpcStatus !== undefined) this.grpcStatus = grpcStatus;
    this.client.startResponse(response, route.responseEdits, kind);
  }

  upstreamUpgrade(response: ResponseHead, rest: Buffer): void {
    const connection = this.connection;
    this.connection = undefined;
    if (this.finished || connection === undefined) return;
    this.clearPerTryTimer();
    this.clearTimer();
    this.cluster!.reportSuccess(this.endpoint!, performance.now() - this.attemptStarted);
    this.status = 101;
    // The attempt (the endpoint's active count) lasts as long as the tunnel.
    if (
      !this.client.upgrade(response, this.route!.responseEdits, connection as UpstreamConnection, rest, this)
    ) {
      this.status = 0;
      this.upstreamFailed(upstreamError('PORTSIDE_UPSTREAM_PROTOCOL', '101 before the request body ended'));
    }
  }

  tunnelClosed(bytesIn: number, bytesOut: number): void {
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    this.endAttempt();
    this.finished = true;
    this.done();
  }

  upstreamBody(buf: Buffer, start: number, end: number): void {
    if (this.discarding) return;
    this.bytesOut += end - start;
    this.endpoint!.state.bytesFromUpstream += end - start;
    if (this.finished) return;
    const writer = this.client.writer;
    const more = writer.body(buf, start, end);
    // Bytes still queued for the client may point into the connection's read buffer.
    if (writer.writing) this.connection?.readBufferRetained();
    if (!more) {
      // The client is slower than the upstream: stop reading until its socket drains.
      this.upstreamPaused = true;
      this.connection?.pause();
    }
  }

  /** An HTTP/2 upstream's trailers: gRPC's status, which may still ask for a retry. */
  upstreamTrailers(fields: string[]): void {
    if (this.discarding) return;
    const grpcStatus = this.grpc ? grpcStatusIn(fields) : undefined;
    if (this.outcomePending) {
      this.outcomePending = false;
      const elapsed = performance.now() - this.attemptStarted;
      if (grpcStatus !== undefined && isGrpcServerFailure(grpcStatus))
        this.cluster!.reportFailure(this.endpoint!, `grpc-${grpcStatus}`);
      else this.cluster!.reportSuccess(this.endpoint!, elapsed);
      // No DATA reached the client yet (a failed unary call): the call can still go elsewhere.
      if (
        grpcStatus !== undefined &&
        this.route!.retry.retriesGrpc(grpcStatus) &&
        this.client.writer.replaceable &&
        this.canRetry('status')
      ) {
        this.discarding = true;
        this.status = 0;
        this.lastError = HTTP_ERRORS.upstreamReset;
        return;
      }
    }
    if (this.finished) return;
    if (this.grpc) this.grpcStatus = grpcStatus ?? -1;
    this.client.responseTrailers(fields);
  }

  upstreamDone(): void {
    this.connection = undefined;
    if (this.outcomePending) {
      this.outcomePending = false;
      this.cluster!.reportSuccess(this.endpoint!, performance.now() - this.attemptStarted);
    }
    this.endAttempt();
    if (this.discarding) {
      this.discarding = false;
      this.retry();
      return;
    }
    if (this.finished) return;
    this.finished = true;
    this.client.responseEnd();
    this.done();
  }

  upstreamFailed(error: UpstreamError): void {
    this.connection = undefined;
    this.queued = false;
    this.endAttempt();
    if (this.finished) return;
    if (this.timedOut) {
      this.fail(HTTP_ERRORS.timeout);
      return;
    }
    const { kind, reason } = classifyError(error);
    if (error.unprocessed && this.status === 0 && this.bodyUntouched() && this.refusedRetries++ < 3) {
      // An HTTP/2 upstream refused the stream (or was going away): nothing was processed.
      this.discarding = false;
      this.replayCopiedBody();
      this.borrow(true, performance.now());
      return;
    }
    if (error.reused && kind === 'reset' && !this.staleRetried && this.status === 0 && this.resendable()) {
      // A keep-alive socket the upstream had just closed: try once more on a fresh one.
      this.staleRetried = true;
      this.discarding = false;
      this.borrow(true, performance.now());
      return;
    }
    if (this.discarding) {
      // The retry was already decided; this attempt's error changes nothing.
      this.discarding = false;
      this.retry();
      return;
    }
    if (kind === 'out-of-resources') {
      // The proxy's own limit: counted and logged once a second, not held against the endpoint.
      resourceErrors.record('connect', error.code, this.ctx.log, { cluster: this.cluster!.name });
    } else this.cluster!.reportFailure(this.endpoint!, reason);
    if (this.status === 0 && this.canRetry(kind)) {
      this.lastError = ERROR_FOR_FAILURE[kind];
      this.retry();
      return;
    }
    // Mid-body failure: the only honest signal left is to cut the response. A head still
    // held back (no body byte came) was never sent: the client gets a 502 instead.
    if (this.status !== 0 && !this.client.writer.replaceable) this.cut(ERROR_FOR_FAILURE[kind].code);
    else this.fail(ERROR_FOR_FAILURE[kind]);
  }

  upstreamDrained(): void {
    this.client.resumeBody();
  }

  // ---- the client connection's callbacks ----

  /** Request body bytes from the client; false asks the client connection to pause. */
  requestBody(buf: Buffer, start: number, end: number): boolean {
    this.bytesIn += end - start;
    const client = this.client;
    const chunk = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    if (this.bodyParts !== null) {
      this.bodyParts.push(client.bytesBorrowed ? Buffer.from(chunk) : chunk);
      return true;
    }
    if (this.bodyCopy !== null) {
      this.bodyCopyBytes += chunk.length;
      if (this.bodyCopyBytes > this.route!.retry.bufferLimit) this.bodyCopy = null;
      else this.bodyCopy.push(client.bytesBorrowed ? Buffer.from(chunk) : chunk);
    }
    const connection = this.connection;
    if (connection === undefined) return true;
    this.endpoint!.state.bytesToUpstream += chunk.length;
    const more = connection.writeBody(chunk);
    // Bytes still queued for the upstream may point into the client's read buffer.
    if (client.bytesBorrowed && connection.writing) client.readBufferRetained();
    return more;
  }

  requestBodyEnd(): void {
    this.requestComplete = true;
    if (this.bodyParts !== null) {
      this.body = Buffer.concat(this.bodyParts);
      this.bodyParts = null;
      this.startTimer(performance.now());
      this.attempt();
      return;
    }
    this.connection?.endRequest();
    // The whole request went upstream: the route timeout runs from here (as Envoy's does).
    this.startTimer(performance.now());
  }

  /** The client sent a malformed chunked body. */
  requestBodyFailed(): void {
    this.dropAttempt();
    if (this.status !== 0) this.cut(HTTP_ERRORS.requestBody.code);
    else this.fail(HTTP_ERRORS.requestBody);
  }

  /** The client stopped sending its body (limits.bodyTimeout): its attempt's connection is not reused. */
  requestBodyTimedOut(): void {
    if (this.finished) return;
    this.dropAttempt();
    if (this.status !== 0) this.cut(HTTP_ERRORS.bodyTimeout.code);
    else this.fail(HTTP_ERRORS.bodyTimeout);
  }

  clientDrained(): void {
    if (!this.upstreamPaused) return;
    this.upstreamPaused = false;
    this.connection?.resume();
  }

  /** The client connection closed before the response was complete. */
  clientGone(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    this.errorCode = 'client-abort';
    this.dropAttempt();
    this.done();
  }

  // ---- lifecycle ----

  /** Abandons the current attempt: closes its connection or leaves the pool's queue. */
  private dropAttempt(): void {
    this.clearPerTryTimer();
    if (this.connection !== undefined) {
      this.connection.abort();
      this.connection = undefined;
    } else if (this.queued) {
      this.pool!.cancel(this, this.client.remoteAddress ?? '');
      this.queued = false;
    }
    this.endAttempt();
  }

  private retry(): void {
    this.route!.counters.retriesTotal++;
    this.tried ??= new Set();
    this.tried.add(this.endpoint!);
    this.replayCopiedBody();
    this.attempt();
  }

  /** A streamed body that was sent and copied whole is sent again from the copy. */
  private replayCopiedBody(): void {
    if (!this.streamed || !this.bodyTouched || !this.requestComplete || this.bodyCopy === null) return;
    this.body = Buffer.concat(this.bodyCopy);
    this.bodyCopy = null;
    this.streamed = false;
  }

  /** No body, a body in memory, a streamed body none of which was sent yet, or one copied whole. */
  private bodyUntouched(): boolean {
    return !this.streamed || !this.bodyTouched || (this.requestComplete && this.bodyCopy !== null);
  }

  /** gRPC calls are retried on the conditions a route lists whatever their method (as Envoy does). */
  private resendable(): boolean {
    return this.bodyUntouched() && (this.grpc || isIdempotent(this.head.method));
  }

  private canRetry(kind: FailureKind | 'status'): boolean {
    if (this.timedOut) return false;
    return this.route!.retry.allows(kind, this.attempts, this.resendable(), this.bodyUntouched());
  }

  private endAttempt(): void {
    if (!this.inAttempt) return;
    this.inAttempt = false;
    this.endpoint!.state.active--;
    this.upstreamPaused = false;
    this.clearPerTryTimer();
  }

  /** The route timeout fired. */
  protected timeout(): void {
    if (this.finished) return;
    this.timedOut = true;
    this.dropAttempt();
    this.fail(HTTP_ERRORS.timeout);
  }

  /** The current attempt passed perTryTimeout without response headers. */
  protected perTryTimeout(): void {
    if (this.finished || this.connection === undefined) return;
    this.connection.abort();
    this.upstreamFailed(upstreamError('PORTSIDE_ATTEMPT_TIMEOUT', 'perTryTimeout passed'));
  }
}

/** The grpc-status value among fields ([name, value, ...]), undefined when absent or not a number. */
function grpcStatusIn(fields: readonly string[]): number | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== 'grpc-status') continue;
    const status = Number(fields[i + 1]);
    return Number.isInteger(status) && status >= 0 ? status : undefined;
  }
  return undefined;
}
