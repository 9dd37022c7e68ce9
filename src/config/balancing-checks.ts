/**
 * Balancing checks that need more than one section: locality needs this node's identity
 * (top-level `node`, or NODE_NAME / ZONE in the environment Portside is started with).
 */
import { resolveSelfLocality } from '../balancing/locality.js';
import type { ReferenceProblem } from './references.js';
import type { ClusterConfig, Config } from './schema.js';

/** Clusters the schema refused are `undefined` (skipped). */
interface Input {
  node: Config['node'];
  clusters: readonly (ClusterConfig | undefined)[];
}

export function checkBalancing(config: Input, env: NodeJS.ProcessEnv = process.env): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const self = resolveSelfLocality(config.node, env);
  if (self.node !== undefined || self.zone !== undefined) return problems;
  config.clusters.forEach((cluster, i) => {
    if (!cluster) return;
    const locality = cluster.balancing.locality;
    if (locality === 'any') return;
    const consequence =
      locality === 'local-only'
        ? 'no endpoint is local, so every connection will fail'
        : 'it acts like "any"';
    problems.push({
      path: ['clusters', i, 'balancing', 'locality'],
      message: `locality ${locality}, but this node has no name or zone (set node.name / node.zone, or NODE_NAME / ZONE): ${consequence}`,
      severity: 'warning',
    });
  });
  return problems;
}
