/**
 * One client request and its upstream attempts. The exchange is itself the undici dispatch
 * handler (the legacy callback form, which undici runs natively without wrapping), so a
 * request costs one object plus its header list; listeners on the response are shared
 * functions that find the exchange through a symbol.
 *
 * A retry starts only after the previous attempt's last callback (onComplete/onError), so
 * callbacks of two attempts never interleave.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { PickContext } from '../balancing/picker.js';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';
import { type AccessRecord, writeAccessLog } from './access-log.js';
import type { ExchangeContext } from './context.js';
import { HTTP_ERRORS, type HttpError, sendError } from './errors.js';
import { clientResponseHeaders, requestIdOf, upstreamRequestHeaders } from './headers.js';
import { bodyUntouched, hasBody, type RequestBody, readWholeBody, worthBuffering } from './request-body.js';
import { classifyError, type FailureKind, isIdempotent } from './retry-policy.js';
import type { CompiledRoute } from './route-table.js';
import { splitTarget } from './route-table.js';

const kExchange = Symbol('portside.exchange');
type TaggedResponse = ServerResponse & { [kExchange]?: Exchange };

const TIMEOUT = Object.assign(new Error('route timeout'), { code: 'PORTSIDE_ROUTE_TIMEOUT' });
const CLIENT_GONE = Object.assign(new Error('client closed the connection'), {
  code: 'PORTSIDE_CLIENT_ABORT',
});

const ERROR_FOR_KIND: Record<FailureKind, HttpError> = {
  'connect-failure': HTTP_ERRORS.connectFailed,
  reset: HTTP_ERRORS.upstreamReset,
  timeout: HTTP_ERRORS.timeout,
  protocol: HTTP_ERRORS.upstreamProtocol,
};

export class Exchange {
  private readonly started = performance.now();
  private requestId: string | undefined;
  private route: CompiledRoute | undefined;
  private cluster: Cluster | undefined;
  private path = '';
  private headers: string[] | undefined;
  private body: RequestBody = null;
  private tried: Set<Endpoint> | undefined;
  private endpoint: Endpoint | undefined;
  private attempts = 0;
  private attemptStarted = 0;
  private abortAttempt: ((error: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  /** The current attempt got a retryable status: read its body to the end, then retry. */
  private discarding = false;
  private drainListening = false;
  private lastError: HttpError | undefined;
  private timer: NodeJS.Timeout | undefined;
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
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  start(): void {
    const { req, res, ctx } = this;
    this.requestId = requestIdOf(req);
    (res as TaggedResponse)[kExchange] = this;
    res.on('close', onResponseClose);
    // A write racing the client's disconnect must not become an unhandled 'error'.
    res.on('error', ignore);
    if (ctx.draining) res.shouldKeepAlive = false;
    if (req.rawHeaders.length > ctx.maxHeaders * 2) {
      this.fail(HTTP_ERRORS.headersTooLarge);
      return;
    }
    const target = splitTarget(req.url ?? '');
    if (target === undefined) {
      this.fail(HTTP_ERRORS.badRequest);
      return;
    }
    const method = req.method ?? 'GET';
    const route = ctx.routes.find(method, req.headers.host, target.path, req.headers);
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
    this.path = route.upstreamPath(target.path, target.query);
    this.headers = upstreamRequestHeaders(req, {
      clientAddress: req.socket.remoteAddress,
      host: route.rewriteHost ?? req.headers.host,
      edits: route.requestEdits,
      upgrade: false,
    });
    if (!hasBody(req)) {
      this.startTimer();
      this.attempt();
    } else if (worthBuffering(req, route.retry)) {
      readWholeBody(req, (body) => {
        if (this.finished) return;
        this.body = body;
        this.startTimer();
        this.attempt();
      });
    } else {
      this.body = req;
      this.attempt();
    }
  }

  private attempt(): void {
    if (this.finished) return;
    const context: PickContext = {
      clientAddress: this.req.socket.remoteAddress,
      request: { headers: this.req.headers, path: this.req.url ?? '/' },
    };
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
    endpoint.state.active++;
    endpoint.state.requestsTotal++;
    this.attempts++;
    this.attemptStarted = performance.now();
    const options: Dispatcher.DispatchOptions = {
      path: this.path,
      method: this.req.method as Dispatcher.HttpMethod,
      headers: this.headers,
      body: this.body,
    };
    const perTry = this.route!.perTryTimeoutMs;
    if (perTry !== undefined) options.headersTimeout = perTry;
    this.ctx.pools.get(endpoint).dispatch(options, this as Dispatcher.DispatchHandler);
  }

  // ---- undici dispatch handler (legacy callback form) ----

  onConnect(abort: (error: Error) => void): void {
    if (this.finished) abort(CLIENT_GONE);
    else this.abortAttempt = abort;
  }

  /** The whole request body went upstream: the route timeout runs from here (as Envoy's does). */
  onRequestSent(): void {
    this.startTimer();
  }

  onBodySent(chunk: Buffer | number): void {
    const size = typeof chunk === 'number' ? chunk : chunk.length;
    this.bytesIn += size;
    this.endpoint!.state.bytesToUpstream += size;
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true;
    if (this.finished) return false;
    const endpoint = this.endpoint!;
    const route = this.route!;
    if (status >= 500) this.cluster!.reportFailure(endpoint, `http-${status}`);
    else this.cluster!.reportSuccess(endpoint, performance.now() - this.attemptStarted);
    if (route.retry.retriesStatus(status) && this.canRetry('status')) {
      this.discarding = true;
      this.lastError = status === 504 ? HTTP_ERRORS.timeout : HTTP_ERRORS.upstreamReset;
      return true;
    }
    this.clearTimer();
    this.status = status;
    this.resumeUpstream = resume;
    try {
      const headers = clientResponseHeaders(rawHeaders, route.responseEdits);
      if (statusText) this.res.writeHead(status, statusText, headers);
      else this.res.writeHead(status, headers);
    } catch {
      // Node refused a header the upstream sent (invalid characters).
      this.abortAttempt?.(new Error('invalid upstream response header'));
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true;
    this.bytesOut += chunk.length;
    this.endpoint!.state.bytesFromUpstream += chunk.length;
    if (this.finished) return false;
    if (this.res.write(chunk)) return true;
    // The client is slower than the upstream: pause undici until the response drains.
    if (!this.drainListening) {
      this.drainListening = true;
      this.res.on('drain', onResponseDrain);
    }
    return false;
  }

  onComplete(): void {
    this.endAttempt();
    if (this.discarding) {
      this.discarding = false;
      this.retry();
      return;
    }
    if (this.finished) return;
    this.finished = true;
    this.res.end();
    this.done();
  }

  onError(error: Error): void {
    this.endAttempt();
    if (this.finished) return;
    if (error === TIMEOUT || this.timedOut) {
      this.fail(HTTP_ERRORS.timeout);
      return;
    }
    const { kind, reason } = classifyError(error);
    if (this.discarding) {
      // The retry was already decided; this attempt's error changes nothing.
      this.discarding = false;
      this.retry();
      return;
    }
    this.cluster!.reportFailure(this.endpoint!, reason);
    if (!this.res.headersSent && this.canRetry(kind)) {
      this.lastError = ERROR_FOR_KIND[kind];
      this.retry();
      return;
    }
    if (this.res.headersSent) {
      // Mid-body failure: the only honest signal left is to cut the response.
      this.finished = true;
      this.errorCode = ERROR_FOR_KIND[kind].code;
      this.res.destroy();
      this.done();
      return;
    }
    this.fail(ERROR_FOR_KIND[kind]);
  }

  // ---- lifecycle ----

  private retry(): void {
    this.tried ??= new Set();
    this.tried.add(this.endpoint!);
    this.attempt();
  }

  private canRetry(kind: FailureKind | 'status'): boolean {
    if (this.timedOut) return false;
    const untouched = bodyUntouched(this.body);
    const replayable = untouched && isIdempotent(this.req.method ?? 'GET');
    return this.route!.retry.allows(kind, this.attempts, replayable, untouched);
  }

  private endAttempt(): void {
    this.endpoint!.state.active--;
    this.abortAttempt = null;
    this.resumeUpstream = null;
  }

  private fail(error: HttpError): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    this.status = error.status;
    this.errorCode = error.code;
    if (error === HTTP_ERRORS.noEndpoint || error === HTTP_ERRORS.connectFailed) this.ctx.rejected();
    sendError(this.res, error, this.requestId);
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

  /** @internal route timeout fired */
  timeout(): void {
    this.timer = undefined;
    if (this.finished) return;
    this.timedOut = true;
    if (this.abortAttempt) this.abortAttempt(TIMEOUT);
    else this.fail(HTTP_ERRORS.timeout);
  }

  /** @internal the response was closed: finished normally, or the client went away */
  responseClosed(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    this.errorCode = 'client-abort';
    this.abortAttempt?.(CLIENT_GONE);
    this.done();
  }

  /** @internal the client drained its socket buffer */
  resume(): void {
    this.resumeUpstream?.();
  }

  private done(): void {
    if (this.logged) return;
    this.logged = true;
    if (this.ctx.accessLogOn()) writeAccessLog(this.ctx.log, this.record());
    this.ctx.exchangeDone(this.req.socket);
  }

  private record(): AccessRecord {
    return {
      method: this.req.method ?? '',
      host: this.req.headers.host,
      path: this.req.url ?? '',
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

function ignore(): void {}

function onResponseClose(this: TaggedResponse): void {
  this[kExchange]?.responseClosed();
}

function onResponseDrain(this: TaggedResponse): void {
  this[kExchange]?.resume();
}

function onRouteTimeout(exchange: Exchange): void {
  exchange.timeout();
}
