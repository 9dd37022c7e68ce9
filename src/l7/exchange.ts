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
import type { BodyKind, ResponseHead } from './h1/response-head.js';
import type { UpstreamConnection } from './h1/upstream-connection.js';
import { type UpstreamError, type UpstreamUser, upstreamError } from './h1/upstream-user.js';
import { worthBuffering } from './request-body.js';
import { classifyError, type FailureKind, isIdempotent } from './retry-policy.js';
import { RoutedRequest } from './routed-request.js';
import type { TunnelOwner } from './upgrade.js';
import type { EndpointPool } from './upstream-pools.js';

export class Exchange extends RoutedRequest implements UpstreamUser, TunnelOwner {
  /** A body kept in memory (resendable), or its parts while it arrives. */
  private body: Buffer | null = null;
  private bodyParts: Buffer[] | null = null;
  /** The body streams from the client socket; `bodyTouched` once any of it was sent. */
  private streamed = false;
  private bodyTouched = false;
  private requestComplete = false;
  private pool: EndpointPool | undefined;
  private connection: UpstreamConnection | undefined;
  private inAttempt = false;
  private queued = false;
  private staleRetried = false;
  private attemptStarted = 0;
  private upstreamPaused = false;
  /** The current attempt got a retryable status: read its body to the end, then retry. */
  private discarding = false;
  private lastError: HttpError | undefined;

  start(): void {
    if (!this.routeRequest()) return;
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
    this.pool = this.ctx.pools.get(endpoint);
    this.borrow(false, this.attemptStarted);
  }

  /** Asks the endpoint's pool for a connection (again, after a stale keep-alive socket). */
  private borrow(fresh: boolean, now: number): void {
    this.inAttempt = true;
    this.endpoint!.state.active++;
    const connection = this.pool!.acquire(this, this.client.remoteAddress ?? '', fresh, now);
    if (connection === undefined) {
      this.queued = true;
      // An upload not read yet has no route timeout running: bound its wait by one.
      if (!this.requestComplete) this.startWaitTimer(now);
    } else this.connection ??= connection;
  }

  // ---- the upstream connection's callbacks ----

  upstreamReady(connection: UpstreamConnection): void {
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
    connection.send(
      head.method,
      this.upstreamHeadText,
      body,
      complete,
      this.client.wantsDecodedChunks,
      head.isUpgrade,
    );
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
    if (status >= 500) this.cluster!.reportFailure(endpoint, `http-${status}`);
    else this.cluster!.reportSuccess(endpoint, performance.now() - this.attemptStarted);
    if (route.retry.retriesStatus(status) && this.canRetry('status')) {
      this.discarding = true;
      this.lastError = status === 504 ? HTTP_ERRORS.timeout : HTTP_ERRORS.upstreamReset;
      return;
    }
    this.clearTimer();
    this.status = status;
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
    if (!this.client.upgrade(response, this.route!.responseEdits, connection, rest, this)) {
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

  upstreamDone(): void {
    this.connection = undefined;
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
    this.attempt();
  }

  /** No body, a body in memory, or a streamed body none of which was sent yet. */
  private bodyUntouched(): boolean {
    return !this.streamed || !this.bodyTouched;
  }

  private resendable(): boolean {
    return this.bodyUntouched() && isIdempotent(this.head.method);
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
