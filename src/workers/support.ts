/**
 * How many worker threads a config asks for, and whether this Node can run them: every
 * worker binds every TCP listener with SO_REUSEPORT (`reusePort`, Node 22.12 and 23.1),
 * so the kernel spreads connections over the workers.
 */
import { availableParallelism } from 'node:os';
import type { Config } from '../config/schema.js';
import { reusePortSupported } from '../listeners/acceptors.js';

export function workerCount(workers: Config['workers'], cores = availableParallelism()): number {
  return workers === 'auto' ? cores : workers;
}

/** Undefined when `version` (process.versions.node) supports `reusePort`, else why not, in one line. */
export function reusePortMissing(
  version: string = process.versions.node,
  platform: string = process.platform,
): string | undefined {
  if (reusePortSupported(version, platform)) return undefined;
  if (platform !== 'linux') {
    return `workers > 1 needs Linux, where the kernel spreads connections over sockets sharing a port (reusePort); this is ${platform}: use workers: 1`;
  }
  return `workers > 1 needs Node.js 22.12 or later (listen option reusePort); this is Node.js ${version}: use workers: 1 or a newer Node`;
}
