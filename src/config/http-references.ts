/**
 * Cross-checks of an http listener's routes: every cluster a route names exists, and no
 * route is unreachable because an earlier one matches everything it would (a warning).
 */
import { pathHasPrefix } from '../l7/route-match.js';
import type { HttpListenerConfig, RouteMatchConfig } from './http-schema.js';
import type { PathSegment } from './problem.js';
import type { ReferenceProblem } from './references.js';
import { suggest } from './suggest.js';

/** A route's names as written in the file, read even when the route has schema errors. */
export interface RouteNames {
  name: string | undefined;
  cluster: string | undefined;
  weightedClusters: (string | undefined)[];
}

/** Route names are unique in a listener, and every cluster a route names exists. */
export function checkRouteNames(
  routes: readonly RouteNames[],
  at: PathSegment[],
  clusters: ReadonlyMap<string, number>,
): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const unknown = (path: PathSegment[], name: string) =>
    problems.push({
      path,
      message: `unknown cluster "${name}"${suggest(name, clusters.keys())}`,
      severity: 'error',
    });

  const routeNames = new Map<string, number>();
  routes.forEach((route, r) => {
    const here = [...at, 'routes', r];
    if (route.name !== undefined) {
      const first = routeNames.get(route.name);
      if (first === undefined) routeNames.set(route.name, r);
      else
        problems.push({
          path: [...here, 'name'],
          message: `duplicate route name "${route.name}" (first at routes[${first}])`,
          severity: 'error',
        });
    }
    if (route.cluster !== undefined && !clusters.has(route.cluster))
      unknown([...here, 'cluster'], route.cluster);
    route.weightedClusters.forEach((cluster, i) => {
      if (cluster !== undefined && !clusters.has(cluster))
        unknown([...here, 'weightedClusters', i, 'cluster'], cluster);
    });
  });
  return problems;
}

/** A warning for each route an earlier one makes unreachable (on a listener the schema accepted). */
export function checkShadowedRoutes(listener: HttpListenerConfig, at: PathSegment[]): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const routes = listener.routes;
  // Earlier routes by the host they match: a route is compared only with those whose host
  // covers its own (any host, the same host, a `*.` suffix of it), so validating thousands
  // of routes on distinct hosts stays linear.
  const anyHost: number[] = [];
  const byHost = new Map<string, number[]>();
  routes.forEach((route, r) => {
    const host = route.match.host;
    let shadow = firstCovering(routes, anyHost, route.match);
    if (host !== undefined && host !== '*') {
      for (const candidate of coveringHosts(host)) {
        const found = firstCovering(routes, byHost.get(candidate), route.match);
        if (found >= 0 && (shadow < 0 || found < shadow)) shadow = found;
      }
    }
    if (shadow >= 0) {
      problems.push({
        path: [...at, 'routes', r, 'match'],
        message: `this route is never used: routes[${shadow}] before it matches every request it would`,
        severity: 'warning',
      });
    }
    if (host === undefined || host === '*') anyHost.push(r);
    else {
      const list = byHost.get(host);
      if (list === undefined) byHost.set(host, [r]);
      else list.push(r);
    }
  });
  return problems;
}

/** The first of `indexes` (in order) whose route covers `match`, or -1. */
function firstCovering(
  routes: HttpListenerConfig['routes'],
  indexes: readonly number[] | undefined,
  match: RouteMatchConfig,
): number {
  if (indexes === undefined) return -1;
  for (const i of indexes) if (covers(routes[i]!.match, match)) return i;
  return -1;
}

/** Host patterns that may cover `host`: itself and each `*.` suffix (`a.b.c` → `*.b.c`, `*.c`). */
function coveringHosts(host: string): string[] {
  const hosts = [host];
  const labels = host.split('.');
  for (let i = 1; i < labels.length; i++) hosts.push(`*.${labels.slice(i).join('.')}`);
  return hosts;
}

/** True when every request `b` matches is also matched by `a` (conservative: false when unsure). */
export function covers(a: RouteMatchConfig, b: RouteMatchConfig): boolean {
  return (
    coversHost(a.host, b.host) &&
    coversPath(a, b) &&
    coversMethods(a.methods, b.methods) &&
    coversHeaders(a.headers, b.headers)
  );
}

function coversHost(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || a === '*') return true;
  if (b === undefined || b === '*') return false;
  if (a === b) return true;
  // "*.example.com" covers "api.example.com" and "*.api.example.com".
  return a.startsWith('*.') && b.endsWith(a.slice(1)) && b.length > a.length - 1;
}

function coversPath(a: RouteMatchConfig, b: RouteMatchConfig): boolean {
  if (a.path === undefined && a.pathPrefix === undefined && a.pathRegex === undefined) return true;
  if (a.pathRegex !== undefined) return a.pathRegex === b.pathRegex;
  if (a.path !== undefined) return b.path === a.path;
  const prefix = a.pathPrefix!;
  if (b.path !== undefined) return pathHasPrefix(b.path, prefix);
  if (b.pathPrefix !== undefined) return pathHasPrefix(b.pathPrefix, prefix);
  return false;
}

function coversMethods(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return false;
  return b.every((m) => a.includes(m));
}

type HeaderMatches = RouteMatchConfig['headers'];

function coversHeaders(a: HeaderMatches, b: HeaderMatches): boolean {
  for (const [name, want] of Object.entries(a ?? {})) {
    const have = b?.[name];
    if (have === undefined) return false;
    if (JSON.stringify(normalise(want)) === JSON.stringify(normalise(have))) continue;
    // { present: true } covers any exact value.
    const w = normalise(want);
    if (!(w.present && w.value === undefined && normalise(have).present)) return false;
  }
  return true;
}

function normalise(m: NonNullable<HeaderMatches>[string]): { present: boolean; value?: string } {
  if (typeof m === 'string') return { present: true, value: m };
  if ('exact' in m) return { present: true, value: m.exact };
  return { present: m.present };
}
