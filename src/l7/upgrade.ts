/**
 * HTTP/1.1 upgrades (WebSocket and any other protocol): route the upgrade request like any
 * other, connect to an endpoint with net.connect, write the request head with forwarding
 * headers, then pipe raw bytes both ways. The upstream's answer (101, or a refusal) reaches
 * the client untouched, so nothing WebSocket-specific needs parsing here.
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Cluster } from '../core/cluster.js';
import type { Endpoint } from '../core/endpoint.js';
import { writeAccessLog } from './access-log.js';
import type { ExchangeContext } from './context.js';
import { HTTP_ERRORS, type HttpError, writeRawError } from './errors.js';
import { requestIdOf, upstreamRequestHeaders } from './headers.js';
import { classifyError } from './retry-policy.js';
import { splitTarget } from './route-table.js';

export interface UpgradeSettings {
  connectTimeoutMs: number;
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
    private readonly ctx: ExchangeContext,
    private readonly settings: UpgradeSettings,
    private readonly req: IncomingMessage,
    private readonly client: Duplex,
    private readonly early: Buffer,
  ) {}

  start(): void {
    const { req, ctx } = this;
    requestIdOf(req); // before the header list, so upstream sees the same id
    this.client.on('error', () => this.close());
    this.client.on('close', () => this.close());
    const target = splitTarget(req.url ?? '');
    if (target === undefined) {
      this.refuse(HTTP_ERRORS.badRequest);
      return;
    }
    const route = ctx.routes.find(req.method ?? 'GET', req.headers.host, target.path, req.headers);
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
    const headers = upstreamRequestHeaders(req, {
      clientAddress: req.socket.remoteAddress,
      host: route.rewriteHost ?? req.headers.host,
      edits: route.requestEdits,
      upgrade: true,
    });
    let head = `${req.method} ${route.upstreamPath(target.path, target.query)} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    this.head = `${head}\r\n`;
    this.connectNext(HTTP_ERRORS.noEndpoint);
  }

  private connectNext(ifNone: HttpError): void {
    if (this.closed) return;
    const endpoint =
      this.tried.size < this.maxAttempts
        ? this.cluster!.pick({
            clientAddress: this.req.socket.remoteAddress,
            request: { headers: this.req.headers, path: this.req.url ?? '/' },
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
    upstream.setTimeout(this.settings.connectTimeoutMs, () =>
      upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
    );
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.cluster!.reportSuccess(endpoint, performance.now() - connectStarted);
      upstream.write(this.head);
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
      this.client.on('data', (chunk: Buffer) => {
        this.bytesIn += chunk.length;
      });
      upstream.pipe(this.client);
      this.client.pipe(upstream);
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
    writeRawError(this.client, error);
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
        method: this.req.method ?? '',
        host: this.req.headers.host,
        path: this.req.url ?? '',
        status: this.status,
        route: this.routeIndex,
        cluster: this.cluster?.name,
        endpoint: this.endpoint?.id,
        attempts: this.tried.size,
        durationMs: Math.round(performance.now() - this.started),
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        requestId: this.req.headers['x-request-id'] as string | undefined,
        error: this.errorCode,
      });
    }
  }
}
