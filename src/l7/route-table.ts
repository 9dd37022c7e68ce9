/**
 * A listener's routes compiled for one config generation: matcher, target cluster(s),
 * rewrite, header edits, retry and timeout policy. `find` returns the first route that
 * matches (the order rule), allocating nothing; a `RouteIndex` keeps it from trying routes
 * whose host or path cannot match.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteConfig } from '../config/http-schema.js';
import { routeLabel } from '../config/route-label.js';
import { ms } from '../config/values.js';
import { type ListenerStats, RouteCounters } from '../listeners/listener.js';
import { HeaderEdits } from './headers.js';
import { DEFAULT_PATH_OPTIONS, normalizePath, type PathOptions } from './path-normalize.js';
import { RetryPolicy } from './retry-policy.js';
import { RouteIndex } from './route-index.js';
import { hostOf, RouteMatcher } from './route-match.js';
import { WeightedChoice } from './weighted.js';

export class CompiledRoute {
  readonly matcher: RouteMatcher;
  private readonly cluster: string | undefined;
  private readonly weighted: WeightedChoice<string> | undefined;
  /** The matched part of the path that `rewritePrefix` replaces. */
  private readonly rewriteFrom: string | undefined;
  private readonly rewritePrefix: string | undefined;
  readonly rewriteHost: string | undefined;
  readonly timeoutMs: number;
  readonly perTryTimeoutMs: number | undefined;
  readonly retry: RetryPolicy;
  readonly requestEdits: HeaderEdits;
  readonly responseEdits: HeaderEdits;
  /** Requests, errors and retries, kept by the listener so they outlive this generation. */
  readonly counters: RouteCounters;
  /** Its name, or its position and match: as metrics, the admin API and the access log call it. */
  readonly label: string;

  constructor(
    readonly index: number,
    config: RouteConfig,
    stats?: ListenerStats,
  ) {
    this.label = routeLabel(config, index);
    this.counters = stats?.routeCounters(this.label) ?? new RouteCounters();
    this.matcher = new RouteMatcher(config.match);
    this.cluster = config.cluster;
    const choices = (config.weightedClusters ?? []).filter((w) => w.weight > 0);
    this.weighted =
      choices.length > 0
        ? new WeightedChoice(choices.map((w) => ({ value: w.cluster, weight: w.weight })))
        : undefined;
    this.rewritePrefix = config.rewrite?.pathPrefix;
    this.rewriteFrom = config.match.pathPrefix ?? config.match.path;
    this.rewriteHost = config.rewrite?.host;
    this.timeoutMs = ms(config.timeout);
    this.perTryTimeoutMs = config.perTryTimeout === undefined ? undefined : ms(config.perTryTimeout);
    this.retry = new RetryPolicy(config.retries);
    this.requestEdits = config.requestHeaders ? new HeaderEdits(config.requestHeaders) : HeaderEdits.NONE;
    this.responseEdits = config.responseHeaders ? new HeaderEdits(config.responseHeaders) : HeaderEdits.NONE;
  }

  /** The cluster for this request (a weighted route advances its split). */
  chooseCluster(): string {
    return this.weighted ? this.weighted.next() : this.cluster!;
  }

  /** The path (and query) sent upstream. */
  upstreamPath(path: string, query: string): string {
    if (this.rewritePrefix === undefined || this.rewriteFrom === undefined) return path + query;
    return joinPath(this.rewritePrefix, path.slice(this.rewriteFrom.length)) + query;
  }
}

/** A route's policy without its match and target: what `catalog.route` sets. */
export type RoutePolicyConfig = Pick<
  RouteConfig,
  'timeout' | 'perTryTimeout' | 'retries' | 'requestHeaders' | 'responseHeaders'
>;

/**
 * The route of every request the catalog routes, after the listener's own routes (its
 * position in access logs); counted in metrics and the admin API as route `catalog`.
 */
export function catalogRoute(
  policy: RoutePolicyConfig,
  position: number,
  stats?: ListenerStats,
): CompiledRoute {
  return new CompiledRoute(position, { name: 'catalog', match: {}, cluster: 'catalog', ...policy }, stats);
}

/** `/` + `/users` → `/users`; `/api` + `users` → `/api/users`; `/` + `` → `/`. */
export function joinPath(prefix: string, rest: string): string {
  if (rest === '') return prefix === '' ? '/' : prefix;
  const prefixSlash = prefix.endsWith('/');
  const restSlash = rest.startsWith('/');
  if (prefixSlash && restSlash) return prefix + rest.slice(1);
  if (!prefixSlash && !restSlash) return `${prefix}/${rest}`;
  return prefix + rest;
}

const ABSOLUTE_FORM = /^https?:\/\//i;

/**
 * A request target split for matching: the normalised path without query (what routes
 * match and what is forwarded), and the query as sent (with its "?").
 */
export interface SplitTarget {
  path: string;
  query: string;
}

/**
 * origin-form (`/a?b`) or absolute-form (`http://host/a?b`) → normalised path and query
 * (path-normalize.ts); undefined for anything else (asterisk-form, garbage) and for a path
 * `paths` refuses (an encoded slash, a broken `%`), which the proxy answers with 400.
 */
export function splitTarget(url: string, paths: PathOptions): SplitTarget | undefined {
  if (url.charCodeAt(0) !== 47 /* / */) {
    if (!ABSOLUTE_FORM.test(url)) return undefined;
    // The authority ends at the first "/" or "?": `http://a.example?id=7` is `/?id=7`.
    let start = url.indexOf('//') + 2;
    while (start < url.length && url.charCodeAt(start) !== 47 && url.charCodeAt(start) !== 63 /* ? */)
      start++;
    url = url.charCodeAt(start) === 47 ? url.slice(start) : `/${url.slice(start)}`;
  }
  const q = url.indexOf('?');
  const path = normalizePath(q < 0 ? url : url.slice(0, q), paths);
  if (path === undefined) return undefined;
  return { path, query: q < 0 ? '' : url.slice(q) };
}

export class RouteTable {
  readonly routes: readonly CompiledRoute[];
  private readonly usesHost: boolean;
  /** Whether any route matches on headers (else `find` may be given none). */
  readonly usesHeaders: boolean;
  private readonly index: RouteIndex;

  constructor(
    configs: readonly RouteConfig[],
    stats?: ListenerStats,
    /** How this listener normalises request paths before matching (`paths` in its config). */
    readonly paths: PathOptions = DEFAULT_PATH_OPTIONS,
  ) {
    this.routes = configs.map((config, i) => new CompiledRoute(i, config, stats));
    this.usesHost = this.routes.some((r) => r.matcher.usesHost);
    this.usesHeaders = this.routes.some((r) => r.matcher.usesHeaders);
    this.index = new RouteIndex(this.routes.map((r) => r.matcher));
  }

  find(
    method: string,
    hostHeader: string | undefined,
    path: string,
    headers: IncomingHttpHeaders,
  ): CompiledRoute | undefined {
    const host = this.usesHost ? hostOf(hostHeader) : '';
    const position = this.index.firstMatch(method, host, path, headers);
    return position < 0 ? undefined : this.routes[position];
  }
}
