/**
 * Checks that span sections: unique names, references that resolve, addresses that do not
 * collide. They run on a config the schema refused too, as far as it can be read, so that
 * one `validate` shows every problem: names and references are read from the file as
 * written (they are plain strings either way), and the checks that need parsed values
 * (addresses, route matches, locality) use each listener or cluster the schema accepted.
 */

import type { AdminConfig } from './admin-schema.js';
import { checkBalancing } from './balancing-checks.js';
import { checkRouteNames, checkShadowedRoutes, type RouteNames } from './http-references.js';
import { checkAddressOverlaps } from './port-overlap.js';
import type { PathSegment } from './problem.js';
import type { ClusterConfig, Config, ListenerConfig } from './schema.js';
import { suggest } from './suggest.js';

export { suggest } from './suggest.js';

export interface ReferenceProblem {
  path: PathSegment[];
  message: string;
  severity: 'error' | 'warning';
}

/** A config as far as it could be read: each item parsed alone, `undefined` where the schema refused it. */
export interface ReadableConfig {
  listeners: readonly (ListenerConfig | undefined)[];
  /** Each listener's address, read alone: a listener with a bad route still has one. */
  addresses: readonly (string | undefined)[];
  clusters: readonly (ClusterConfig | undefined)[];
  /** Undefined when `node` itself is invalid (locality checks are skipped then). */
  node: Config['node'] | undefined;
  admin?: AdminConfig | undefined;
}

/** Runs every cross-section check; `raw` is the file's data before the schema (names as written). */
export function checkReferences(raw: unknown, readable: ReadableConfig): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const error = (path: PathSegment[], message: string) => problems.push({ path, message, severity: 'error' });
  const top = isRecord(raw) ? raw : {};

  const clusterIndex = new Map<string, number>();
  items(top.clusters).forEach((cluster, i) => {
    if (!cluster) return;
    const duplicate = firstWithName(clusterIndex, cluster.name, i);
    if (duplicate !== undefined)
      error(
        ['clusters', i, 'name'],
        `duplicate cluster name "${cluster.name}" (first at clusters[${duplicate}])`,
      );
    const label = typeof cluster.name === 'string' ? `cluster "${cluster.name}"` : 'this cluster';
    if (cluster.endpoints !== undefined && cluster.discovery !== undefined) {
      error(['clusters', i, 'discovery'], `${label} has both "endpoints" and "discovery"; keep one`);
    } else if (cluster.endpoints === undefined && cluster.discovery === undefined) {
      error(['clusters', i], `${label} needs "endpoints" or "discovery" (dns, kubernetes or etcd)`);
    }
  });

  const catalog = isRecord(top.catalog) ? top.catalog : undefined;
  const catalogListeners = new Set(
    Array.isArray(catalog?.listeners) ? catalog.listeners.filter((l) => typeof l === 'string') : [],
  );
  const listenerIndex = new Map<string, number>();
  const httpListeners = new Set<string>();
  items(top.listeners).forEach((listener, i) => {
    if (!listener) return;
    const duplicate = firstWithName(listenerIndex, listener.name, i);
    if (duplicate !== undefined)
      error(
        ['listeners', i, 'name'],
        `duplicate listener name "${listener.name}" (first at listeners[${duplicate}])`,
      );
    const protocol = listener.protocol ?? 'tcp';
    if (protocol === 'http') {
      if (typeof listener.name === 'string') httpListeners.add(listener.name);
      problems.push(...checkRouteNames(routeNames(listener.routes), ['listeners', i], clusterIndex));
      const routes = listener.routes;
      if (
        (routes === undefined || (Array.isArray(routes) && routes.length === 0)) &&
        !catalogListeners.has(String(listener.name))
      )
        error(
          ['listeners', i],
          "an http listener needs at least one route (or its name in catalog.listeners, to route the catalog's Hosts)",
        );
    } else if ((protocol === 'tcp' || protocol === 'udp') && typeof listener.cluster === 'string') {
      if (!clusterIndex.has(listener.cluster))
        error(
          ['listeners', i, 'cluster'],
          `unknown cluster "${listener.cluster}"${suggest(listener.cluster, clusterIndex.keys())}`,
        );
    } else if (protocol === 'tls') {
      // Passthrough: each route's cluster, and the default for names no route lists.
      const targets: [PathSegment[], unknown][] = items(listener.routes).map((route, j) => [
        ['listeners', i, 'routes', j, 'cluster'],
        route?.cluster,
      ]);
      targets.push([['listeners', i, 'defaultCluster'], listener.defaultCluster]);
      for (const [path, cluster] of targets) {
        if (typeof cluster === 'string' && !clusterIndex.has(cluster))
          error(path, `unknown cluster "${cluster}"${suggest(cluster, clusterIndex.keys())}`);
      }
    }
  });

  if (Array.isArray(catalog?.listeners))
    catalog.listeners.forEach((name, i) => {
      if (typeof name !== 'string' || httpListeners.has(name)) return;
      const known = listenerIndex.has(name)
        ? `"${name}" is not an http listener; the catalog routes by Host, on http listeners`
        : `unknown listener "${name}"${suggest(name, httpListeners)}`;
      error(['catalog', 'listeners', i], known);
    });

  // UDP ports are their own space (DNS listens on 53 in both): UDP listeners are checked
  // among themselves, the others with the admin server, which is TCP.
  const listeners = items(top.listeners);
  const isUdp = (i: number) => listeners[i]?.protocol === 'udp';
  const onlyWhere = (udp: boolean) => readable.addresses.map((a, i) => (isUdp(i) === udp ? a : undefined));
  problems.push(...checkAddressOverlaps(onlyWhere(false), readable.admin));
  problems.push(...checkAddressOverlaps(onlyWhere(true), undefined));
  readable.listeners.forEach((listener, i) => {
    if (listener?.protocol === 'http') problems.push(...checkShadowedRoutes(listener, ['listeners', i]));
  });
  if (readable.node !== undefined)
    problems.push(...checkBalancing({ node: readable.node, clusters: readable.clusters }));
  return problems;
}

/** Records a name at index `i`; returns the index of an earlier item with the same name, if any. */
function firstWithName(index: Map<string, number>, name: unknown, i: number): number | undefined {
  if (typeof name !== 'string') return undefined;
  const first = index.get(name);
  if (first === undefined) index.set(name, i);
  return first;
}

function routeNames(routes: unknown): RouteNames[] {
  return items(routes).map((route = {}) => ({
    name: typeof route.name === 'string' ? route.name : undefined,
    cluster: typeof route.cluster === 'string' ? route.cluster : undefined,
    weightedClusters: items(route.weightedClusters).map((w) =>
      typeof w?.cluster === 'string' ? w.cluster : undefined,
    ),
  }));
}

/** The entries of a list, at their indexes; `undefined` for one that is not a mapping (the schema reports it). */
function items(list: unknown): (Record<string, unknown> | undefined)[] {
  return Array.isArray(list) ? list.map((item) => (isRecord(item) ? item : undefined)) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
