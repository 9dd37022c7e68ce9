/**
 * `portside explain`: which listener, route, cluster and endpoint a request (or a TCP
 * connection) would get, and why. Matching is the proxy's own: the listener's routes are
 * compiled into a real `RouteTable`, whose `find` chooses the route, and each earlier
 * route's `RouteMatcher` says which of its conditions the request fails. Picking is the
 * cluster's own picker.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PickContext } from '../balancing/picker.js';
import { routeLabel } from '../config/route-label.js';
import type { HttpListenerConfig, ListenerConfig } from '../config/schema.js';
import { parseAddress } from '../config/values.js';
import { HTTP_ERRORS, type HttpError } from '../l7/errors.js';
import { hostOf } from '../l7/route-match.js';
import { RouteTable, splitTarget } from '../l7/route-table.js';
import { ServerNameTable } from '../tls/server-names.js';
import { explainCluster } from './cluster.js';
import type {
  ClusterExplanation,
  ClusterShare,
  ExplainQuery,
  Explanation,
  HttpExplanation,
  RouteVerdict,
  TcpExplanation,
} from './explanation.js';
import type { ExplainWorld } from './world.js';

/** A query that names what the config does not have (an unknown listener, a malformed URL). */
export class ExplainError extends Error {}

export function explain(world: ExplainWorld, query: ExplainQuery): Explanation {
  const results =
    query.kind === 'tcp'
      ? [explainTcp(world, query.listener, query.clientAddress, query.serverName)]
      : httpListenersFor(world, query).map((l) => explainHttp(world, l, query));
  return { mode: world.mode, at: new Date(world.now).toISOString(), notes: MODE_NOTES[world.mode], results };
}

const MODE_NOTES = {
  offline: ['from the config file alone: static endpoints, health not known, discovery not contacted'],
  live: [
    "the running proxy's endpoints and health; the next pick is a real pick (a round robin moves on by one)",
  ],
};

function explainTcp(
  world: ExplainWorld,
  wanted: string,
  clientAddress?: string,
  serverName?: string,
): TcpExplanation {
  const listener = findListener(world, wanted);
  if (!listener) throw new ExplainError(`no listener named or bound at "${wanted}"${listenerList(world)}`);
  if (listener.protocol === 'http') {
    throw new ExplainError(
      `listener ${listener.name} is an http listener: explain a request, e.g. GET http://${addressOf(world, listener)}/`,
    );
  }
  const address = addressOf(world, listener);
  // What a connection's pick context has: its client, and the address it connected to.
  const bound = parseAddress(address);
  const context: PickContext = {
    ...(clientAddress ? { clientAddress } : {}),
    ...(bound.ok ? { destinationAddress: bound.value.host, destinationPort: bound.value.port } : {}),
  };
  const shown: TcpExplanation = {
    kind: listener.protocol,
    listener: { name: listener.name, address },
    clusters: [],
  };
  let cluster: string | undefined;
  if (listener.protocol === 'tls') {
    // The passthrough handler's own lookup: exact names, then one-label `*.` names, then the default.
    const routes = new ServerNameTable<number>();
    listener.routes.forEach((route, i) => {
      for (const name of route.sni) routes.add(name, i);
    });
    const route = routes.find(serverName);
    cluster = route === undefined ? listener.defaultCluster : listener.routes[route]!.cluster;
    const selectedBy =
      route !== undefined
        ? `route ${route} (sni: ${listener.routes[route]!.sni.join(', ')})`
        : cluster !== undefined
          ? 'defaultCluster (no route lists this name)'
          : 'nothing: no route lists this name and there is no defaultCluster';
    shown.serverName = { name: serverName ?? null, selectedBy };
    if (cluster === undefined) {
      shown.answer = 'refused with a TLS unrecognized_name alert';
      return shown;
    }
  } else cluster = listener.cluster;
  shown.clusters = clustersFor(world, [cluster], context);
  return shown;
}

type HttpQuery = Extract<ExplainQuery, { kind: 'http' }>;

/** A parsed request as the proxy would see it. */
interface Request {
  method: string;
  hostHeader: string | undefined;
  /** The request target as sent: origin-form or absolute-form. */
  target: string;
  headers: IncomingHttpHeaders;
  /** The URL's port, to find the listener by. */
  port: number | undefined;
}

function parseRequest(query: HttpQuery): Request {
  const { url, method } = query;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method))
    throw new ExplainError(`"${method}" is not an HTTP method`);
  const headers: IncomingHttpHeaders = { ...query.headers };
  if (url.startsWith('/')) {
    return { method, hostHeader: query.headers.host, target: url, headers, port: undefined };
  }
  const absolute = /^(https?):\/\/([^/?#]*)/i.exec(url);
  if (!absolute) throw new ExplainError(`"${url}" is not a URL: write http://host[:port]/path or /path`);
  const authority = absolute[2]!;
  const portText = /:(\d+)$/.exec(authority)?.[1];
  const port = portText !== undefined ? Number(portText) : absolute[1]!.toLowerCase() === 'https' ? 443 : 80;
  const hostHeader = query.headers.host ?? authority;
  headers.host = hostHeader;
  return { method, hostHeader, target: url.replace(/#.*$/, ''), headers, port };
}

/** The listener the query names, else those on the URL's port, else every HTTP listener. */
function httpListenersFor(world: ExplainWorld, query: HttpQuery): HttpListenerConfig[] {
  const http = world.config.listeners.filter((l): l is HttpListenerConfig => l.protocol === 'http');
  if (query.listener !== undefined) {
    const listener = findListener(world, query.listener);
    if (!listener)
      throw new ExplainError(`no listener named or bound at "${query.listener}"${listenerList(world)}`);
    if (listener.protocol !== 'http') {
      throw new ExplainError(
        `listener ${listener.name} is a ${listener.protocol} listener: explain it with "${listener.protocol} ${listener.name}"`,
      );
    }
    return [listener as HttpListenerConfig];
  }
  if (http.length === 0) throw new ExplainError('the config has no http listener');
  const port = parseRequest(query).port;
  const onPort = http.filter((l) => portOf(addressOf(world, l)) === port);
  return onPort.length > 0 ? onPort : http;
}

function explainHttp(world: ExplainWorld, listener: HttpListenerConfig, query: HttpQuery): HttpExplanation {
  const request = parseRequest(query);
  const shown: HttpExplanation = {
    kind: 'http',
    listener: { name: listener.name, address: addressOf(world, listener) },
    request: {
      method: request.method,
      host: request.hostHeader ?? '',
      path: request.target,
      query: '',
      headers: { ...query.headers },
    },
    routes: [],
    clusters: [],
  };
  const target = splitTarget(request.target, listener.paths);
  if (target === undefined) {
    shown.answer = answer(
      HTTP_ERRORS.badRequest,
      `the path is refused (paths.escapedSlashes: ${listener.paths.escapedSlashes} refuses %2F, %5C and "\\"; a "%" needs two hex digits)`,
    );
    return shown;
  }
  shown.request.path = target.path;
  shown.request.query = target.query;
  const table = new RouteTable(listener.routes, undefined, listener.paths);
  const found = table.find(request.method, request.hostHeader, target.path, request.headers);
  const host = hostOf(request.hostHeader);
  const last = found?.index ?? table.routes.length - 1;
  for (let i = 0; i <= last; i++) {
    const route = table.routes[i]!;
    const matched = route === found;
    const reasons = matched
      ? []
      : route.matcher.mismatches(request.method, host, target.path, request.headers);
    // The table and the matchers must agree; say so loudly if they ever do not.
    if (!matched && reasons.length === 0)
      reasons.push('matches, yet the route table chose a later route (a bug)');
    shown.routes.push({
      index: i,
      name: routeLabel(listener.routes[i]!, i),
      matched,
      reasons,
    } satisfies RouteVerdict);
  }
  // As the proxy does: the catalog serves the Hosts that no route matches.
  const catalogListener = world.config.catalog?.listeners.includes(listener.name) ?? false;
  const viaCatalog = found || !catalogListener ? undefined : world.catalogCluster?.(request.hostHeader);
  if (!found && !viaCatalog) {
    const catalogNote = !catalogListener
      ? ''
      : world.mode === 'live'
        ? ', and the catalog has no Service port for this Host'
        : "; the catalog's Services are known only to a running proxy (--admin)";
    shown.answer = answer(
      HTTP_ERRORS.noRoute,
      `none of the ${table.routes.length} routes matches${catalogNote}`,
    );
    return shown;
  }
  let names: string[];
  if (viaCatalog) {
    shown.routes.push({ index: table.routes.length, name: 'catalog', matched: true, reasons: [] });
    shown.forward = { path: target.path + target.query, host: request.hostHeader ?? '' };
    names = [viaCatalog.name];
  } else {
    const route = found!;
    shown.forward = {
      path: route.upstreamPath(target.path, target.query),
      host: route.rewriteHost ?? request.hostHeader ?? '',
    };
    const config = listener.routes[route.index]!;
    if (config.weightedClusters) {
      const total = config.weightedClusters.reduce((sum, w) => sum + w.weight, 0);
      shown.split = config.weightedClusters.map(
        (w): ClusterShare => ({
          cluster: w.cluster,
          weight: w.weight,
          percent: Math.round((w.weight / total) * 1000) / 10,
        }),
      );
      names = config.weightedClusters.filter((w) => w.weight > 0).map((w) => w.cluster);
    } else names = [config.cluster!];
  }
  const context: PickContext = {
    request: {
      headers: request.headers,
      path: target.path,
      target: request.target,
      host: request.hostHeader,
    },
    ...(query.clientAddress ? { clientAddress: query.clientAddress } : {}),
  };
  shown.clusters = clustersFor(world, names, context);
  for (const cluster of shown.clusters) {
    const protocol =
      world.config.clusters.find((c) => c.name === cluster.name)?.upstreamProtocol ??
      (viaCatalog ? world.config.catalog?.template.upstreamProtocol : undefined);
    cluster.upstreamProtocol = protocol === 'auto' ? "auto (the client's: HTTP/1.1 or HTTP/2)" : protocol;
  }
  const missing = names.filter((n) => !shown.clusters.some((c) => c.name === n));
  if (missing.length > 0)
    shown.answer = answer(HTTP_ERRORS.unknownCluster, `no cluster ${missing.join(', ')}`);
  else if (shown.clusters.every((c) => c.nextPick === null && !c.endpointsUnknown)) {
    shown.answer = answer(HTTP_ERRORS.noEndpoint, 'no endpoint is usable');
  }
  return shown;
}

function clustersFor(
  world: ExplainWorld,
  names: readonly string[],
  context: PickContext,
): ClusterExplanation[] {
  return names.flatMap((name) => explainCluster(world, name, { ...context }) ?? []);
}

function answer(error: HttpError, why: string): string {
  return `${error.status} ${error.code}: ${why}`;
}

/** By name, then by address (`127.0.0.1:6380`, or a bare port). */
function findListener(world: ExplainWorld, wanted: string): ListenerConfig | undefined {
  const listeners = world.config.listeners;
  const named = listeners.find((l) => l.name === wanted);
  if (named) return named;
  const parsed = parseAddress(wanted, { defaultHost: '127.0.0.1', allowPortZero: true });
  if (!parsed.ok) return undefined;
  const bare = /^\d+$/.test(wanted.trim());
  return listeners.find((l) => {
    const at = parseAddress(addressOf(world, l));
    if (!at.ok) return false;
    return at.value.port === parsed.value.port && (bare || at.value.host === parsed.value.host);
  });
}

function addressOf(world: ExplainWorld, listener: ListenerConfig): string {
  return world.boundAddress?.(listener.name) ?? listener.address;
}

function portOf(address: string): number | undefined {
  const parsed = parseAddress(address);
  return parsed.ok ? parsed.value.port : undefined;
}

function listenerList(world: ExplainWorld): string {
  const names = world.config.listeners.map((l) => `${l.name} (${l.protocol}, ${addressOf(world, l)})`);
  return names.length > 0 ? `; listeners: ${names.join(', ')}` : '; the config has no listeners';
}
