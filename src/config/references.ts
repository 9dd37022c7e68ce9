/**
 * Checks that span sections of a schema-valid config: unique names, references that
 * resolve, listeners that do not collide. Each returns the field path it is about.
 */

import { checkBalancing } from './balancing-checks.js';
import { checkHttpRoutes } from './http-references.js';
import type { PathSegment } from './load.js';
import type { Config } from './schema.js';

export interface ReferenceProblem {
  path: PathSegment[];
  message: string;
  severity: 'error' | 'warning';
}

export function checkReferences(config: Config): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const error = (path: PathSegment[], message: string) => problems.push({ path, message, severity: 'error' });

  const clusterIndex = new Map<string, number>();
  config.clusters.forEach((cluster, i) => {
    const first = clusterIndex.get(cluster.name);
    if (first !== undefined)
      error(
        ['clusters', i, 'name'],
        `duplicate cluster name "${cluster.name}" (first at clusters[${first}])`,
      );
    else clusterIndex.set(cluster.name, i);
    if (cluster.endpoints && cluster.discovery) {
      error(
        ['clusters', i, 'discovery'],
        `cluster "${cluster.name}" has both "endpoints" and "discovery"; keep one`,
      );
    } else if (!cluster.endpoints && !cluster.discovery) {
      error(
        ['clusters', i],
        `cluster "${cluster.name}" needs "endpoints" or "discovery" (dns, kubernetes or etcd)`,
      );
    }
  });

  const listenerIndex = new Map<string, number>();
  const addressIndex = new Map<string, number>();
  config.listeners.forEach((listener, i) => {
    const first = listenerIndex.get(listener.name);
    if (first !== undefined)
      error(
        ['listeners', i, 'name'],
        `duplicate listener name "${listener.name}" (first at listeners[${first}])`,
      );
    else listenerIndex.set(listener.name, i);

    if (!listener.address.endsWith(':0')) {
      const sameAddress = addressIndex.get(listener.address);
      if (sameAddress !== undefined) {
        error(
          ['listeners', i, 'address'],
          `address ${listener.address} is already used by listeners[${sameAddress}]`,
        );
      } else addressIndex.set(listener.address, i);
    }

    if (listener.protocol === 'http') {
      problems.push(...checkHttpRoutes(listener, ['listeners', i], clusterIndex));
    } else if (listener.protocol === 'tls') {
      const targets: [PathSegment[], string][] = listener.routes.map((r, j) => [
        ['listeners', i, 'routes', j, 'cluster'],
        r.cluster,
      ]);
      if (listener.defaultCluster)
        targets.push([['listeners', i, 'defaultCluster'], listener.defaultCluster]);
      for (const [path, cluster] of targets) {
        if (!clusterIndex.has(cluster))
          error(path, `unknown cluster "${cluster}"${suggest(cluster, clusterIndex.keys())}`);
      }
    } else if (!clusterIndex.has(listener.cluster)) {
      error(
        ['listeners', i, 'cluster'],
        `unknown cluster "${listener.cluster}"${suggest(listener.cluster, clusterIndex.keys())}`,
      );
    }
  });
  problems.push(...checkBalancing(config));
  return problems;
}

/** ` (did you mean "x"?)` when a known name is one or two edits away. */
export function suggest(input: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(input, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
