/**
 * What every exchange does before and around its upstream attempts: route the request
 * (route, cluster, the head for the upstream, each attempt's endpoint), keep the route and per-try timeouts, answer
 * with Portside's own errors, and write the access log line. Exchange adds the attempts.
 * The route timeout is an entry in the handler's deadline lists (deadlines.ts), not a Node
 * timer; the per-try timer (set only on routes with perTryTimeout) gets the exchange as its
 * argument instead of a closure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PickContext } from '../balancing/picker.js';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';
import type { AccessRecord } from './access-log.js';
import type { ExchangeContext } from './context.js';
import type { DeadlineList, Timed } from './deadlines.js';
import { HTTP_ERRORS, type HttpError } from './errors.js';
import type { ExchangeClient } from './exchange-client.js';
import { GRPC_STATUS, grpcStatusOf, grpcTimeoutMs, isGrpcContentType } from './grpc.js';
import type { RequestHead } from './h1/request-head.js';
import { upstreamRequestHead } from './headers.js';
import { newRequestId } from './request-id.js';
import type { CompiledRoute } from './route-table.js';
import { splitTarget } from './route-table.js';

/** Given to route matching when no route matches on headers, so none are collected. */
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});

export abstract class RoutedRequest implements Timed {
  protected requestId: string | undefined;
  protected route: CompiledRoute | undefined;
  protected cluster: Cluster | undefined;
  protected upstreamHeadText = '';
  protected endpoint: Endpoint | undefined;
  /** Endpoints already tried (retries go elsewhere). */
  protected tried: Set<Endpoint> | undefined;
  protected attempts = 0;
  // Linked by the route's DeadlineList while the route timeout runs.
  deadlineAt = 0;
  prevTimed: Timed | null = null;
  nextTimed: Timed | null = null;
  timedList: DeadlineList | null = null;
  private perTryTimer: NodeJS.Timeout | undefined;
  protected timedOut = false;
  private timerStarted = false;
  /** The route timeout runs for a wait for a pooled connection only (startWaitTimer). */
  private waitTimed = false;
  /** The client has its answer (or is gone): nothing more is written to it. */
  protected finished = false;
  private logged = false;
  protected status = 0;
  protected errorCode: string | undefined;
  protected bytesIn = 0;
  protected bytesOut = 0;
  /** The normalised path that was routed (no query): what a `key: path` hash picks on. */
  path = '';
  /** Attempts go to the cluster's endpoints over HTTP/2 (`upstreamProtocol`). */
  protected h2Upstream = false;
  /** An HTTP/2 request with a gRPC content-type: its errors are gRPC statuses. */
  protected readonly grpc: boolean;
  /** `grpc-timeout`, when it is shorter than the route timeout (a timer of its own). */
  protected grpcDeadlineMs: number | undefined;
  private grpcTimer: NodeJS.Timeout | undefined;
  /** The grpc-status sent on to the client (the upstream's or Portside's own); -1 until known. */
  protected grpcStatus = -1;

  constructor(
    protected readonly ctx: ExchangeContext,
    protected readonly client: ExchangeClient,
    protected readonly head: RequestHead,
    /** When the request's head was complete (`performance.now()`, read once for the head). */
    protected readonly started: number,
  ) {
    this.grpc = client.protocol === 'http2' && isGrpcContentType(head.get('content-type'));
  }

  /** The route timeout fired (before response headers). */
  protected abstract timeout(): void;
  /** The current attempt passed perTryTimeout. */
  protected abstract perTryTimeout(): void;

  /** @internal called by the handler's deadline list */
  deadlinePassed(): void {
    this.timeout();
  }

  /** @internal called by the per-try timer */
  perTryTimerFired(): void {
    this.perTryTimer = undefined;
    this.perTryTimeout();
  }

  /** Finds the route and cluster and builds the upstream head; false after answering an error. */
  protected routeRequest(): boolean {
    const { head, ctx } = this;
    let requestId = head.requestId;
    if (requestId === undefined) {
      requestId = newRequestId();
      head.requestId = requestId;
      head.fields.push('x-request-id', requestId);
    }
    this.requestId = requestId;
    const target = splitTarget(head.target, ctx.routes.paths);
    if (target === undefined) {
      this.fail(HTTP_ERRORS.badRequest);
      return false;
    }
    this.path = target.path;
    const routes = ctx.routes;
    let route = routes.find(
      head.method,
      head.host,
      target.path,
      routes.usesHeaders ? head.headers : NO_HEADERS,
    );
    // The listener's own routes win; the catalog serves the Hosts they leave.
    const catalogCluster = route === undefined ? ctx.catalog?.cluster(head.host) : undefined;
    if (catalogCluster !== undefined) route = ctx.catalog!.route;
    if (route === undefined) {
      this.fail(HTTP_ERRORS.noRoute);
      return false;
    }
    this.route = route;
    route.counters.requestsTotal++;
    this.cluster = catalogCluster ?? ctx.clusters(route.chooseCluster());
    if (this.cluster === undefined) {
      this.fail(HTTP_ERRORS.unknownCluster);
      return false;
    }
    const protocol = this.cluster.upstreamProtocol;
    const h2 = protocol === 'http2' || (protocol === 'auto' && this.client.protocol === 'http2');
    this.h2Upstream = h2;
    // An HTTP/2 request body of unknown length is framed as chunks for an HTTP/1.1 upstream.
    if (!h2 && head.chunked) this.client.setRequestFraming(true);
    this.upstreamHeadText = upstreamRequestHead(head, route.upstreamPath(target.path, target.query), {
      clientAddress: this.client.remoteAddress,
      host: route.rewriteHost ?? head.host,
      edits: route.requestEdits,
      upgrade: head.isUpgrade && !h2,
      teTrailers: h2 && (this.grpc || (head.get('te')?.includes('trailers') ?? false)),
      https: ctx.secure === true,
    });
    if (this.grpc) {
      const deadline = grpcTimeoutMs(head.get('grpc-timeout'));
      if (deadline !== undefined && (deadline < route.timeoutMs || route.timeoutMs === 0)) {
        this.grpcDeadlineMs = deadline;
        this.grpcTimer = setTimeout(
          onRouteTimeout,
          Math.max(0, deadline - (performance.now() - this.started)),
          this,
        );
      }
    }
    return true;
  }

  /** The request's headers as Node's `req.headers` has them (for header and cookie hash keys). */
  get headers(): IncomingHttpHeaders {
    return this.head.headers;
  }

  /** The request target as received, query included (for the `uri` and `query:NAME` hash keys). */
  get target(): string {
    return this.head.target;
  }

  /** The request's Host (for the `destination` hash key). */
  get host(): string | undefined {
    return this.head.host;
  }

  /** The cluster's pick for the next attempt, avoiding endpoints already tried if it can. */
  protected pickEndpoint(): Endpoint | undefined {
    // The request as pickers see it is this object: its routed path, and the head's headers.
    const context: PickContext = { clientAddress: this.client.remoteAddress, request: this };
    if (this.tried === undefined) return this.cluster!.pick(context);
    context.tried = this.tried;
    // Every usable endpoint was tried: one of them again beats giving up.
    return this.cluster!.pick(context) ?? this.cluster!.pick({ ...context, tried: undefined });
  }

  /** Cuts a response that already started (after its head, nothing else is honest). */
  protected cut(code: string): void {
    if (this.route) this.route.counters.errorsTotal++;
    this.finished = true;
    this.errorCode = code;
    this.client.abortResponse();
    this.done();
  }

  protected fail(error: HttpError): void {
    if (this.finished) return;
    this.finished = true;
    if (this.route) this.route.counters.errorsTotal++;
    this.clearTimer();
    this.status = error.status;
    this.errorCode = error.code;
    if (error === HTTP_ERRORS.noEndpoint || error === HTTP_ERRORS.connectFailed) this.ctx.rejected();
    if (this.grpc && this.client.writer.replaceable) this.grpcStatus = grpcStatusOf(error);
    this.client.responseError(error, this.requestId);
    this.done();
  }

  /**
   * Starts the route timeout once, when the client's request is complete, so a long upload
   * is not cut by it; from then on it covers every attempt until response headers.
   */
  protected startTimer(now: number): void {
    if (this.timerStarted || this.finished) return;
    if (this.grpcTimer !== undefined) {
      // The call's own deadline, shorter than the route's, runs from the request's start.
      this.timerStarted = true;
      return;
    }
    this.stopWaitTimer();
    this.timerStarted = true;
    // `timeout: 0s` is no route timeout (as in Envoy): long-lived streams, gRPC watches.
    if (this.route!.timeoutMs > 0) this.ctx.deadlines.add(this, this.route!.timeoutMs, now);
  }

  /**
   * A request whose body is not read yet waits for a pooled connection: the route timeout
   * bounds that wait too (as it bounds the whole wait of a request without a body), and
   * stops when a connection comes, so the upload itself is not cut by it.
   */
  protected startWaitTimer(now: number): void {
    if (this.timerStarted || this.waitTimed || this.finished || this.grpcTimer !== undefined) return;
    if (this.route!.timeoutMs === 0) return;
    this.waitTimed = true;
    this.ctx.deadlines.add(this, this.route!.timeoutMs, now);
  }

  protected stopWaitTimer(): void {
    if (!this.waitTimed) return;
    this.waitTimed = false;
    this.timedList?.remove(this);
  }

  /** Stops the route timeout for good (response headers arrived, or the exchange ended). */
  protected clearTimer(): void {
    this.timerStarted = true;
    this.timedList?.remove(this);
    if (this.grpcTimer !== undefined) {
      clearTimeout(this.grpcTimer);
      this.grpcTimer = undefined;
    }
  }

  protected clearPerTryTimer(): void {
    if (this.perTryTimer !== undefined) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = undefined;
    }
  }

  protected startPerTryTimer(ms: number): void {
    this.perTryTimer = setTimeout(onPerTryTimeout, ms, this);
  }

  protected done(): void {
    if (this.grpcTimer !== undefined) {
      clearTimeout(this.grpcTimer);
      this.grpcTimer = undefined;
    }
    if (this.logged) return;
    this.logged = true;
    if (this.grpc) this.route?.counters.countGrpc(this.finalGrpcStatus());
    const method = this.head.method;
    const durationMs = performance.now() - this.started;
    this.ctx.responded(this.status, method, durationMs);
    this.route?.counters.responses.count(this.status, method);
    if (this.ctx.accessLogOn() && this.ctx.accessLog.wants(this.errorCode !== undefined))
      this.ctx.accessLog.write(this.record(durationMs));
  }

  /**
   * What the client's gRPC library reports: the status sent on, else CANCELLED for a call
   * the client gave up, INTERNAL for a response cut off (RST_STREAM) or ended without one.
   */
  private finalGrpcStatus(): number {
    if (this.grpcStatus >= 0) return this.grpcStatus;
    return this.errorCode === 'client-abort' ? GRPC_STATUS.cancelled : GRPC_STATUS.internal;
  }

  private record(durationMs: number): AccessRecord {
    return {
      method: this.head.method,
      host: this.head.host,
      path: this.head.target,
      status: this.status,
      route: this.route?.label,
      cluster: this.cluster?.name,
      endpoint: this.endpoint?.id,
      attempts: this.attempts,
      durationMs: Math.round(durationMs * 1000) / 1000,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      requestId: this.requestId,
      error: this.errorCode,
      grpcStatus: this.grpc ? this.finalGrpcStatus() : undefined,
    };
  }
}

function onPerTryTimeout(exchange: RoutedRequest): void {
  exchange.perTryTimerFired();
}

function onRouteTimeout(exchange: RoutedRequest): void {
  exchange.deadlinePassed();
}
