import type { IncomingHttpHeaders } from 'node:http';
import { config as configSchema } from '../../src/config/schema.js';
import type { RouteMatcher } from '../../src/l7/route-match.js';
import { RouteTable } from '../../src/l7/route-table.js';

/** A route table as a listener builds it, from `match` objects run through the config schema. */
export function routeTable(matches: readonly Record<string, unknown>[]): RouteTable {
  const parsed = configSchema.parse({
    listeners: [
      {
        name: 'web',
        address: '127.0.0.1:0',
        protocol: 'http',
        routes: matches.map((match) => ({ match, cluster: 'c' })),
      },
    ],
    clusters: [{ name: 'c', endpoints: ['127.0.0.1:1'] }],
  });
  const listener = parsed.listeners[0]!;
  if (listener.protocol !== 'http') throw new Error('the schema did not produce an http listener');
  return new RouteTable(listener.routes);
}

/** The order rule without an index: the first matcher, in order, that accepts the request. */
export function linearFirstMatch(
  matchers: readonly RouteMatcher[],
  method: string,
  host: string,
  path: string,
  headers: IncomingHttpHeaders,
): number {
  return matchers.findIndex((m) => m.matches({ method, host, path, headers }));
}
