/**
 * HTTP/1.1 upgrades (WebSocket and any other protocol): route the upgrade request like any
 * other, connect to an endpoint with net.connect, write the request head with forwarding
 * headers, then pipe raw bytes both ways. The upstream's answer (101, or a refusal) reaches
 * the client untouched, so nothing WebSocket-specific needs parsing here.
 */
import { connect, type Socket } from 'node:net';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';
import { writeAccessLog } from './access-log.js';
import type { HttpHandlerContext } from './context.js';
import { HTTP_ERRORS, type HttpError, writeRawError } from './errors.js';
import type { RequestHead } from './h1/request-head.js';
import { upstreamRequestHead } from './headers.js';
import { newRequestId } from './request-id.js';
import { classifyError } from './retry-policy.js';
import { splitTarget } from './route-table.js';

/** The client side of a tunnel: its socket, whose reads the client connection hands on. */
export interface TunnelClient {
  readonly socket: Socket;
  pauseReading(): void;
  resumeReading(): void;
}

export class UpgradeTunnel {
  private readonly started = performance.now();
  private readonly tried = new Set<Endpoint>();
  private cluster: Cluster | undefined;
  private endpoint: Endpoint | undefined;
  private upstream: Socket | undefined;
  private head = '';
  private status = 0;
  private errorCode: string | undefined;
  private bytesIn = 0;
  private bytesOut = 0;
  private maxAttempts = 1;
  private routeIndex: number | undefined;
  private closed = false;
  /** The route timeout, applied to the upstream's answer to the upgrade request. */
  private answerTimeoutMs = 0;

  constructor(
    private readonly ctx: HttpHandlerContext,
    private readonly req: RequestHead,
    private readonly from: TunnelClient,
    private readonly early: Buffer,
  ) {
    this.client = from.socket;
  }

  private readonly client: Socket;
  private connected = false;

  /** Client bytes (owned by the caller's copy), read only once the upstream is connected. */
  fromClient(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    const upstream = this.upstream;
    if (upstream === undefined || !this.connected) return;
    if (!upstream.write(chunk)) {
      this.from.pauseReading();
      upstream.once('drain', this.resumeClient);
    }
  }

  private readonly resumeClient = (): void => {
    this.from.resumeReading();
  };

  start(): void {
    const { req, ctx } = this;
    if (req.requestId === undefined) {
      // Before the head is written, so the upstream sees the same id as the access log.
      req.requestId = newRequestId();
      req.fields.push('x-request-id', req.requestId);
    }
    this.client.on('error', () => this.close());
    this.client.on('close', () => this.close());
    this.client.on('end', () => this.upstream?.end());
    const target = splitTarget(req.target, ctx.routes.paths);
    if (target === undefined) {
      this.refuse(HTTP_ERRORS.badRequest);
      return;
    }
    const route = ctx.routes.find(req.method, req.host, target.path, req.headers);
    if (route === undefined) {
      this.refuse(HTTP_ERRORS.noRoute);
      return;
    }
    this.routeIndex = route.index;
    this.cluster = ctx.clusters(route.chooseCluster());
    if (this.cluster === undefined) {
      this.refuse(HTTP_ERRORS.unknownCluster);
      return;
    }
    // Only a failed connect is retried: nothing has been sent yet.
    this.maxAttempts = 1 + route.retry.attempts;
    this.answerTimeoutMs = route.timeoutMs;
    this.head = upstreamRequestHead(req, route.upstreamPath(target.path, target.query), {
      clientAddress: this.client.remoteAddress,
      host: route.rewriteHost ?? req.host,
      edits: route.requestEdits,
      upgrade: true,
    });
    this.connectNext(HTTP_ERRORS.noEndpoint);
  }

  private connectNext(ifNone: HttpError): void {
    if (this.closed) return;
    const endpoint =
      this.tried.size < this.maxAttempts
        ? this.cluster!.pick({
            clientAddress: this.client.remoteAddress,
            request: this.req,
            tried: this.tried,
          })
        : undefined;
    if (endpoint === undefined) {
      this.refuse(ifNone);
      return;
    }
    this.tried.add(endpoint);
    this.endpoint = endpoint;
    endpoint.state.active++;
    endpoint.state.requestsTotal++;
    const connectStarted = performance.now();
    const upstream = connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    this.upstream = upstream;
    upstream.setTimeout(this.ctx.upgradeSettings.connectTimeoutMs, () =>
      upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'PORTSIDE_CONNECT_TIMEOUT' })),
    );
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.cluster!.reportSuccess(endpoint, performance.now() - connectStarted);
      upstream.write(this.head, 'latin1');
      if (this.early.length > 0) upstream.write(this.early);
      // An upstream that accepts but never answers the upgrade gets the route timeout.
      upstream.setTimeout(this.answerTimeoutMs, () => {
        this.refuse(HTTP_ERRORS.timeout);
        upstream.destroy();
      });
      upstream.once('data', (first: Buffer) => {
        upstream.setTimeout(0);
        // "HTTP/1.1 101 ..." → 101, for the access log.
        this.status = Number(first.subarray(9, 12).toString('latin1')) || 0;
      });
      upstream.on('data', (chunk: Buffer) => {
        this.bytesOut += chunk.length;
      });
      upstream.pipe(this.client);
      this.connected = true;
      this.from.resumeReading();
    });
    let failure: unknown;
    upstream.on('error', (error) => {
      failure = error;
    });
    upstream.on('close', () => {
      endpoint.state.active--;
      if (connected || this.closed) {
        this.close();
        return;
      }
      this.cluster!.reportFailure(endpoint, classifyError(failure).reason);
      this.upstream = undefined;
      this.connectNext(HTTP_ERRORS.connectFailed);
    });
  }

  private refuse(error: HttpError): void {
    this.status = error.status;
    this.errorCode = error.code;
    writeRawError(this.client, error, this.req.requestId);
    this.close();
  }

  /** Either side ended or failed: end both and log once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream?.destroy();
    if (!this.client.destroyed && this.errorCode === undefined) this.client.destroy();
    if (this.ctx.accessLogOn()) {
      writeAccessLog(this.ctx.log, {
        method: this.req.method,
        host: this.req.host,
        path: this.req.target,
        status: this.status,
        route: this.routeIndex,
        cluster: this.cluster?.name,
        endpoint: this.endpoint?.id,
        attempts: this.tried.size,
        durationMs: Math.round(performance.now() - this.started),
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        requestId: this.req.requestId,
        error: this.errorCode,
      });
    }
  }
}
