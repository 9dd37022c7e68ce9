/**
 * One client request and its upstream attempts: route, pick an endpoint, borrow a pooled
 * upstream connection, send the head and body, relay the response back through the client
 * connection, retry on another endpoint when the policy allows. The exchange is itself the
 * connection's user (its callbacks are methods), so a request costs this object, its head
 * and two head strings; timers get the exchange as their argument instead of a closure.
 *
 * A retry starts only after the previous attempt's last callback (done or failed), so
 * callbacks of two attempts never interleave.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { PickContext } from '../balancing/picker.js';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';
import { type AccessRecord, writeAccessLog } from './access-log.js';
import type { ExchangeContext } from './context.js';
import { HTTP_ERRORS, type HttpError } from './errors.js';
import type { ClientConnection } from './h1/client-connection.js';
import type { RequestHead } from './h1/request-head.js';
import type { BodyKind, ResponseHead } from './h1/response-head.js';
import {
  type UpstreamConnection,
  type UpstreamError,
  type UpstreamUser,
  upstreamError,
} from './h1/upstream-connection.js';
import { clientResponseFields, upstreamRequestHead } from './headers.js';
import { worthBuffering } from './request-body.js';
import { classifyError, type FailureKind, isIdempotent } from './retry-policy.js';
import type { CompiledRoute } from './route-table.js';
import { splitTarget } from './route-table.js';
import type { EndpointPool } from './upstream-pools.js';

const ERROR_FOR_KIND: Record<FailureKind, HttpError> = {
  'connect-failure': HTTP_ERRORS.connectFailed,
  reset: HTTP_ERRORS.upstreamReset,
  timeout: HTTP_ERRORS.timeout,
  protocol: HTTP_ERRORS.upstreamProtocol,
};

/** Given to route matching when no route matches on headers, so none are collected. */
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});

export class Exchange implements UpstreamUser {
  private readonly started = performance.now();
  private requestId: string | undefined;
  private route: CompiledRoute | undefined;
  private cluster: Cluster | undefined;
  private upstreamHeadText = '';
  /** A body kept in memory (resendable), or its parts while it arrives. */
  private body: Buffer | null = null;
  private bodyParts: Buffer[] | null = null;
  /** The body streams from the client socket; `bodyTouched` once any of it was sent. */
  private streamed = false;
  private bodyTouched = false;
  private requestComplete = false;
  private tried: Set<Endpoint> | undefined;
  private endpoint: Endpoint | undefined;
  private pool: EndpointPool | undefined;
  private connection: UpstreamConnection | undefined;
  private inAttempt = false;
  private queued = false;
  private staleRetried = false;
  private attempts = 0;
  private attemptStarted = 0;
  private upstreamPaused = false;
  /** The current attempt got a retryable status: read its body to the end, then retry. */
  private discarding = false;
  private lastError: HttpError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private perTryTimer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private timerStarted = false;
  /** The client has its answer (or is gone): nothing more is written to it. */
  private finished = false;
  private logged = false;
  private status = 0;
  private errorCode: string | undefined;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly client: ClientConnection,
    private readonly head: RequestHead,
  ) {}

  start(): void {
    const { head, ctx } = this;
    let requestId = head.requestId;
    if (requestId === undefined) {
      requestId = randomUUID();
      head.requestId = requestId;
      head.fields.push('x-request-id', requestId);
    }
    this.requestId = requestId;
    const target = splitTarget(head.target);
    if (target === undefined) {
      this.fail(HTTP_ERRORS.badRequest);
      return;
    }
    const routes = ctx.routes;
    const route = routes.find(
      head.method,
      head.host,
      target.path,
      routes.usesHeaders ? head.headers : NO_HEADERS,
    );
    if (route === undefined) {
      this.fail(HTTP_ERRORS.noRoute);
      return;
    }
    this.route = route;
    this.cluster = ctx.clusters(route.chooseCluster());
    if (this.cluster === undefined) {
      this.fail(HTTP_ERRORS.unknownCluster);
      return;
    }
    this.upstreamHeadText = upstreamRequestHead(head, route.upstreamPath(target.path, target.query), {
      clientAddress: this.client.remoteAddress,
      host: route.rewriteHost ?? head.host,
      edits: route.requestEdits,
      upgrade: false,
    });
    if (!head.hasBody) {
      this.requestComplete = true;
      this.startTimer();
      this.attempt();
    } else if (worthBuffering(head, route.retry)) {
      this.bodyParts = [];
      this.client.readBody();
    } else {
      this.streamed = true;
      this.attempt();
    }
  }

  private attempt(): void {
    if (this.finished) return;
    const context: PickContext = { clientAddress: this.client.remoteAddress, request: this.head };
    if (this.tried !== undefined) context.tried = this.tried;
    let endpoint = this.cluster!.pick(context);
    if (endpoint === undefined && this.tried !== undefined) {
      // Every usable endpoint was tried: one of them again beats giving up.
      context.tried = undefined;
      endpoint = this.cluster!.pick(context);
    }
    if (endpoint === undefined) {
      this.fail(this.lastError ?? HTTP_ERRORS.noEndpoint);
      return;
    }
    this.endpoint = endpoint;
    endpoint.state.requestsTotal++;
    this.attempts++;
    this.attemptStarted = performance.now();
    this.pool = this.ctx.pools.get(endpoint);
    this.borrow();
  }

  /** Asks the endpoint's pool for a connection (again, after a stale keep-alive socket). */
  private borrow(): void {
    this.inAttempt = true;
    this.endpoint!.state.active++;
    const connection = this.pool!.acquire(this);
    if (connection === undefined) this.queued = true;
    else this.connection ??= connection;
  }

  // ---- the upstream connection's callbacks ----

  upstreamReady(connection: UpstreamConnection): void {
    this.queued = false;
    if (this.finished) {
      connection.giveBack();
      return;
    }
    this.connection = connection;
    const body = this.body;
    connection.send(this.head.method, this.upstreamHeadText, body, !this.streamed || this.requestComplete);
    connection.decodeChunked = this.client.wantsDecodedChunks;
    if (body !== null) this.endpoint!.state.bytesToUpstream += body.length;
    if (this.streamed) {
      this.bodyTouched = true;
      this.client.readBody();
    }
    const perTry = this.route!.perTryTimeoutMs;
    if (perTry !== undefined) this.perTryTimer = setTimeout(onPerTryTimeout, perTry, this);
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
    this.client.startResponse(response, clientResponseFields(response, route.responseEdits), kind);
  }

  upstreamBody(buf: Buffer, start: number, end: number): void {
    if (this.discarding) return;
    this.bytesOut += end - start;
    this.endpoint!.state.bytesFromUpstream += end - start;
    if (this.finished) return;
    const more = this.client.responseBody(buf, start, end);
    // Bytes still queued for the client may point into the connection's read buffer.
    if (this.client.writing) this.connection?.readBufferRetained();
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
      this.borrow();
      return;
    }
    if (this.discarding) {
      // The retry was already decided; this attempt's error changes nothing.
      this.discarding = false;
      this.retry();
      return;
    }
    this.cluster!.reportFailure(this.endpoint!, reason);
    if (this.status === 0 && this.canRetry(kind)) {
      this.lastError = ERROR_FOR_KIND[kind];
      this.retry();
      return;
    }
    if (this.status !== 0) {
      // Mid-body failure: the only honest signal left is to cut the response.
      this.finished = true;
      this.errorCode = ERROR_FOR_KIND[kind].code;
      this.client.abortResponse();
      this.done();
      return;
    }
    this.fail(ERROR_FOR_KIND[kind]);
  }

  upstreamDrained(): void {
    this.client.resumeBody();
  }

  // ---- the client connection's callbacks ----

  /** Request body bytes from the client; false asks the client connection to pause. */
  requestBody(buf: Buffer, start: number, end: number): boolean {
    this.bytesIn += end - start;
    const chunk = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    if (this.bodyParts !== null) {
      this.bodyParts.push(chunk);
      return true;
    }
    this.endpoint!.state.bytesToUpstream += chunk.length;
    return this.connection?.writeBody(chunk) ?? true;
  }

  requestBodyEnd(): void {
    this.requestComplete = true;
    if (this.bodyParts !== null) {
      this.body = Buffer.concat(this.bodyParts);
      this.bodyParts = null;
      this.startTimer();
      this.attempt();
      return;
    }
    this.connection?.endRequest();
    // The whole request went upstream: the route timeout runs from here (as Envoy's does).
    this.startTimer();
  }

  /** The client sent a malformed chunked body. */
  requestBodyFailed(): void {
    this.dropAttempt();
    if (this.status !== 0) {
      this.finished = true;
      this.client.abortResponse();
      this.done();
    } else this.fail(HTTP_ERRORS.requestBody);
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
      this.pool!.cancel(this);
      this.queued = false;
    }
    this.endAttempt();
  }

  private retry(): void {
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
    const untouched = this.bodyUntouched();
    return this.route!.retry.allows(
      kind,
      this.attempts,
      untouched && isIdempotent(this.head.method),
      untouched,
    );
  }

  private endAttempt(): void {
    if (!this.inAttempt) return;
    this.inAttempt = false;
    this.endpoint!.state.active--;
    this.upstreamPaused = false;
    this.clearPerTryTimer();
  }

  private fail(error: HttpError): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    this.status = error.status;
    this.errorCode = error.code;
    if (error === HTTP_ERRORS.noEndpoint || error === HTTP_ERRORS.connectFailed) this.ctx.rejected();
    this.client.responseError(error, this.requestId);
    this.done();
  }

  /**
   * Starts the route timeout once, when the client's request is complete, so a long upload
   * is not cut by it; from then on it covers every attempt until response headers.
   */
  private startTimer(): void {
    if (this.timerStarted || this.finished) return;
    this.timerStarted = true;
    this.timer = setTimeout(onRouteTimeout, this.route!.timeoutMs, this);
  }

  /** Stops the route timeout for good (response headers arrived, or the exchange ended). */
  private clearTimer(): void {
    this.timerStarted = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private clearPerTryTimer(): void {
    if (this.perTryTimer !== undefined) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = undefined;
    }
  }

  /** @internal route timeout fired */
  timeout(): void {
    this.timer = undefined;
    if (this.finished) return;
    this.timedOut = true;
    this.dropAttempt();
    this.fail(HTTP_ERRORS.timeout);
  }

  /** @internal the current attempt passed perTryTimeout without response headers */
  perTryTimeout(): void {
    this.perTryTimer = undefined;
    if (this.finished || this.connection === undefined) return;
    this.connection.abort();
    this.upstreamFailed(upstreamError('PORTSIDE_ATTEMPT_TIMEOUT', 'perTryTimeout passed'));
  }

  private done(): void {
    if (this.logged) return;
    this.logged = true;
    if (this.ctx.accessLogOn()) writeAccessLog(this.ctx.log, this.record());
  }

  private record(): AccessRecord {
    return {
      method: this.head.method,
      host: this.head.host,
      path: this.head.target,
      status: this.status,
      route: this.route?.index,
      cluster: this.cluster?.name,
      endpoint: this.endpoint?.id,
      attempts: this.attempts,
      durationMs: Math.round((performance.now() - this.started) * 1000) / 1000,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      requestId: this.requestId,
      error: this.errorCode,
    };
  }
}

function onRouteTimeout(exchange: Exchange): void {
  exchange.timeout();
}

function onPerTryTimeout(exchange: Exchange): void {
  exchange.perTryTimeout();
}
