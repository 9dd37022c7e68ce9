/**
 * The admin HTTP server: health and readiness probes, Prometheus metrics, the effective
 * config, cluster state, drain, and the live dashboard. It binds its own socket, apart
 * from the proxy's listeners, and only reads the proxy through an `AdminSource`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { formatAddress, parseAddress } from '../config/values.js';
import type { ReloadResult } from '../core/events.js';
import type { Logger } from '../core/log.js';
import { packageVersion } from '../core/package-info.js';
import { redactUrls } from '../core/secrets.js';
import { BindError } from '../listeners/bind-error.js';
import { clientRefusal, serverTlsOptions } from '../tls/server-options.js';
import type { ServerTls } from '../tls/server-tls.js';
import { bearerMatches } from './auth.js';
import { dashboardClusters, dashboardListeners } from './dashboard/data.js';
import { dashboardPage } from './dashboard/page.js';
import { History } from './history.js';
import { hostRefusal, sameOrigin } from './host-check.js';
import { type AdminMetrics, createMetrics } from './metrics.js';
import { redact } from './redact.js';
import type { AdminSource } from './source.js';
import { clusterViews, readiness } from './status.js';

export interface AdminServerOptions {
  /** `host:port`; port 0 picks a free port. */
  address: string;
  /**
   * When set, every endpoint except /, /help, /healthz and /ready (and /metrics with openMetrics) needs
   * `Authorization: Bearer <token>`. A function is asked at each request (token rotation).
   * Without one, only requests whose Host is a loopback name are answered (host-check.ts).
   */
  token?: string | (() => string | undefined);
  /** `/metrics` without the token (`admin.openMetrics`); a function is asked at each request. */
  openMetrics?: boolean | (() => boolean);
  source: AdminSource;
  logger?: Logger;
  /** Collect Node.js process metrics (default true). */
  processMetrics?: boolean;
  /** Serve HTTPS with these certificates (`admin.tls`), swapped when they rotate. */
  tls?: ServerTls;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;
interface Route {
  method: 'GET' | 'POST';
  /** One line for `/help`. */
  summary: string;
  /** Reachable without the token: probes, and the static page that then asks for it. */
  open?: boolean;
  handle: Handler;
}

export class AdminServer {
  private readonly server: Server;
  private readonly metrics: AdminMetrics;
  private readonly history: History;
  private readonly routes: Record<string, Route>;
  private readonly startedAt = Date.now();
  private unsubscribeTls: (() => void) | undefined;

  constructor(private readonly options: AdminServerOptions) {
    const { source } = options;
    this.metrics = createMetrics(source, { processMetrics: options.processMetrics ?? true });
    this.history = new History(source);
    this.routes = {
      '/': {
        method: 'GET',
        summary: 'the dashboard in a browser (Accept: text/html); this list for any other client',
        open: true,
        handle: (q, s) => {
          if (!(q.headers.accept ?? '').includes('text/html')) return this.help(s);
          // The page loads nothing from elsewhere; say so, so an injected tag could not either.
          s.setHeader('content-security-policy', DASHBOARD_CSP);
          send(s, 200, dashboardPage, 'text/html; charset=utf-8');
        },
      },
      '/help': { method: 'GET', summary: 'this list', open: true, handle: (_q, s) => this.help(s) },
      '/healthz': {
        method: 'GET',
        summary: 'liveness: 200 while the process serves',
        open: true,
        handle: (_q, s) =>
          json(s, 200, {
            status: 'ok',
            startedAt: rfc3339(this.startedAt),
            uptimeSeconds: (Date.now() - this.startedAt) / 1000,
          }),
      },
      '/ready': {
        method: 'GET',
        summary:
          'readiness: 200 once a config is live, listeners bound and discovery synced; else 503 and why',
        open: true,
        handle: (_q, s) => {
          const r = readiness(source);
          json(s, r.ready ? 200 : 503, r);
        },
      },
      '/metrics': {
        method: 'GET',
        summary: 'Prometheus metrics',
        handle: async (_q, s) => {
          this.metrics.observeClusters();
          await source.refresh?.();
          send(s, 200, await this.metrics.registry.metrics(), this.metrics.registry.contentType);
        },
      },
      '/config': {
        method: 'GET',
        summary: 'the effective config (secrets hidden), its version and the last reload',
        handle: (_q, s) =>
          json(s, 200, {
            version: source.version(),
            lastReload: reloadView(source.lastReload()),
            // Like a rejected reload: certificate files whose change was refused (the old ones serve).
            ...(source.tlsErrors?.().length ? { tlsErrors: source.tlsErrors() } : {}),
            config: redact(source.config() ?? null),
          }),
      },
      '/clusters': {
        method: 'GET',
        summary:
          'clusters, their discovery and every endpoint with its health flags and counters; the catalog and its Services',
        handle: (_q, s) => {
          const catalog = source.catalog?.();
          json(s, 200, { clusters: clusterViews(source), ...(catalog ? { catalog } : {}) });
        },
      },
      '/listeners': {
        method: 'GET',
        summary: 'listeners with their routes and counters',
        handle: (_q, s) => json(s, 200, { listeners: source.listeners() }),
      },
      '/registrations': {
        method: 'GET',
        summary: 'the register entries (self-registration into etcd), their state and the last etcd error',
        handle: (_q, s) => json(s, 200, { registrations: source.registrations?.() ?? [] }),
      },
      '/explain': {
        method: 'GET',
        summary:
          'route, cluster and endpoint for a request (?method=GET&url=http://host/path&header=name:%20value) or a TCP or UDP listener (?tcp=NAME), with live health',
        handle: (q, s) => this.explain(q, s),
      },
      '/api/dashboard': {
        method: 'GET',
        summary:
          "the dashboard's data: /listeners, /clusters and /ready at once, with recent events and rates",
        handle: async (_q, s) => json(s, 200, await this.dashboardState()),
      },
      '/drain': {
        method: 'POST',
        summary:
          'withdraw register entries, stop accepting, let open work finish (drainTimeout); exit comes with SIGTERM',
        handle: async (_q, s) => {
          const started = Date.now();
          options.logger?.info('admin: drain requested');
          await source.drain();
          json(s, 200, { drained: true, tookMs: Date.now() - started });
        },
      },
    };
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      this.dispatch(request, response).catch((error: Error) => {
        options.logger?.error({ err: error, path: request.url }, 'admin: request failed');
        if (!response.headersSent)
          json(response, 500, { error: { code: 'ADMIN_INTERNAL', message: error.message } });
        else response.destroy();
      });
    };
    const tls = options.tls;
    if (tls) {
      const server = createHttpsServer(serverTlsOptions(tls, ['http/1.1']), onRequest);
      server.on('secureConnection', (socket) => {
        const refusal = clientRefusal(tls, socket);
        if (refusal === undefined) return;
        options.logger?.info({ client: socket.remoteAddress, reason: refusal }, 'admin: TLS client refused');
        socket.destroy();
      });
      this.unsubscribeTls = tls.onChange((next) => server.setSecureContext(next.defaultOptions));
      this.server = server;
    } else this.server = createServer(onRequest);
    // Keep-alive sockets from a browser must not hold close() open.
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Binds and resolves with the bound `host:port`. */
  async start(): Promise<string> {
    const parsed = parseAddress(this.options.address, { defaultHost: '127.0.0.1', allowPortZero: true });
    if (!parsed.ok) throw new Error(`admin address: ${parsed.message}`);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) =>
        reject(new BindError('admin server', this.options.address, error));
      this.server.once('error', onError);
      this.server.listen(parsed.value.port, parsed.value.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.server.on('error', (error) => this.options.logger?.error({ err: error }, 'admin: server error'));
    this.options.logger?.info({ address: this.address }, 'admin: listening');
    return this.address;
  }

  get address(): string {
    const info = this.server.address() as AddressInfo | null;
    if (!info) return this.options.address;
    return formatAddress({ host: info.address, port: info.port });
  }

  async close(): Promise<void> {
    this.unsubscribeTls?.();
    this.history.close();
    this.metrics.close();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const token = this.token();
    const refusal = token ? undefined : hostRefusal(request);
    if (refusal !== undefined) {
      return json(response, 403, { error: { code: 'ADMIN_HOST_REFUSED', message: refusal } });
    }
    const path = new URL(request.url ?? '/', 'http://admin').pathname;
    const route = this.routes[path];
    if (!route)
      return json(response, 404, {
        error: {
          code: 'ADMIN_NOT_FOUND',
          message: `no admin endpoint ${path}; the endpoints are listed here`,
        },
        endpoints: this.endpointList(),
      });
    if (request.method !== route.method && !(route.method === 'GET' && request.method === 'HEAD')) {
      response.setHeader('allow', route.method);
      return json(response, 405, {
        error: { code: 'ADMIN_METHOD_NOT_ALLOWED', message: `${path} accepts ${route.method}` },
      });
    }
    if (request.method === 'POST' && !sameOrigin(request)) {
      // A web page in the operator's browser must not be able to drain a loopback proxy.
      return json(response, 403, {
        error: {
          code: 'ADMIN_CROSS_ORIGIN',
          message: `POST from origin ${request.headers.origin} refused: only the admin page itself or a client without Origin may change state`,
        },
      });
    }
    if (token && !this.isOpen(path, route) && !bearerMatches(request, token)) {
      response.setHeader('www-authenticate', 'Bearer realm="portside-admin"');
      return json(response, 401, {
        error: { code: 'ADMIN_UNAUTHORIZED', message: 'send Authorization: Bearer <admin token>' },
      });
    }
    await route.handle(request, response);
  }

  /** `GET /explain?method=GET&url=http://host/path&header=name: value` or `?tcp=LISTENER`. */
  private async explain(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const world = this.options.source.explainWorld?.();
    if (!world) {
      return json(response, 503, {
        error: { code: 'ADMIN_NO_CONFIG', message: 'no configuration applied yet' },
      });
    }
    // Loaded on first use: an L4-only proxy never loads the route table.
    const { explain, ExplainError } = await import('../explain/explain.js');
    const { queryFromSearch } = await import('../explain/query.js');
    const query = queryFromSearch(new URL(request.url ?? '/', 'http://admin').searchParams);
    const refused = (message: string) =>
      json(response, 400, { error: { code: 'ADMIN_EXPLAIN_QUERY', message } });
    if (typeof query === 'string') return refused(query);
    try {
      json(response, 200, { ...explain(world, query), version: this.options.source.version() });
    } catch (error) {
      if (error instanceof ExplainError) return refused(error.message);
      throw error;
    }
  }

  private async dashboardState() {
    const { source } = this.options;
    // Clusters built since the last reload (the catalog's) get their latency observer too.
    this.metrics.observeClusters();
    await source.refresh?.();
    return {
      now: rfc3339(Date.now()),
      version: source.version(),
      build: { version: packageVersion(), node: process.versions.node },
      startedAt: rfc3339(this.startedAt),
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      draining: source.draining(),
      ready: readiness(source),
      lastReload: reloadView(source.lastReload()),
      listeners: dashboardListeners(source),
      clusters: await dashboardClusters(source, this.metrics.registry),
      health: this.history.health.slice(-20).reverse().map(withRfc3339),
      reloads: this.history.reloads.slice(-20).reverse().map(withRfc3339),
      rates: this.history.rates.map(withRfc3339),
    };
  }

  /** Every endpoint, as `/help`, `/` (for a non-browser client) and a 404 list them. */
  private endpointList(): { method: string; path: string; summary: string; token: boolean }[] {
    const token = this.token() !== undefined;
    return Object.entries(this.routes).map(([path, route]) => ({
      method: route.method,
      path,
      summary: route.summary,
      token: token && !this.isOpen(path, route),
    }));
  }

  /** The endpoint list as text, like Envoy's admin `/help`. */
  private help(response: ServerResponse): void {
    const lines = this.endpointList().map(
      (e) => `  ${e.method.padEnd(4)} ${e.path.padEnd(15)} ${e.summary}${e.token ? ' [token]' : ''}`,
    );
    const token = this.token()
      ? '[token]: send "Authorization: Bearer <admin token>".\n'
      : 'No token is configured: only loopback Host names are answered.\n';
    const text = `Portside admin API. Endpoints:\n${lines.join('\n')}\n\n${token}Times are RFC 3339 (UTC); JSON everywhere but /metrics and this list.\n`;
    send(response, 200, text, 'text/plain; charset=utf-8');
  }

  private isOpen(path: string, route: Route): boolean {
    if (route.open) return true;
    const metrics = this.options.openMetrics;
    return path === '/metrics' && (typeof metrics === 'function' ? metrics() : metrics === true);
  }

  private token(): string | undefined {
    return typeof this.options.token === 'function' ? this.options.token() : this.options.token;
  }
}

const DASHBOARD_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:";

/** Every time the admin API answers is RFC 3339 in UTC (`2026-12-07T01:57:45.476Z`). */
function rfc3339(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** An event's `at` (epoch ms inside the proxy) as RFC 3339. */
function withRfc3339<T extends { at: number }>(event: T): Omit<T, 'at'> & { at: string } {
  return { ...event, at: rfc3339(event.at) };
}

function reloadView(reload: ReloadResult | undefined) {
  return reload ? withRfc3339(reload) : null;
}

function send(response: ServerResponse, status: number, body: string, contentType: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}

/** Every string the admin API answers passes here: no URL in it shows its userinfo (e.g. an error quoting an etcd URL). */
function json(response: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value, hideUrlCredentials, 2);
  send(response, status, `${text}\n`, 'application/json; charset=utf-8');
}

function hideUrlCredentials(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? redactUrls(value) : value;
}
